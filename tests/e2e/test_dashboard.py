"""The dashboard in headless Chromium against the local stack: sign in, create a job in the form and
watch it complete, filter, sort, cancel, clear, run the worker and a cron run, manage tokens, and
screenshots of every page (desktop and phone, light and dark) under test-artifacts/dashboard/."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright

from tests.support.dashboard_site import StageProxy, Target
from tests.support.stack import Api, DemoPorts, StackProcess, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
VIEWS = ("overview", "jobs", "create", "workers", "tokens")
# What shows that a page's data has arrived (worth a picture).
READY = {
    "overview": "#health-list dd",
    "jobs": "#jobs-table tbody tr",
    "workers": "#runs-table tbody tr",
    "tokens": "#tokens-table tbody tr",
}
# The stack starts a cold function container for each request that finds all of its containers
# busy (the page sends several at once), which takes seconds locally.
expect.set_options(timeout=30_000)
# Names of this run's queues and tokens: the stack is shared with the other e2e modules.
RUN = uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Dashboard:
    url: str  # the page
    api: Api  # the API behind it, with the full token, for setting up and checking data
    api_url: str
    full_token: str
    worker_token: str
    target: Target  # what api_sync jobs and cron runs call

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.api.request(method, path, **kwargs)


@pytest.fixture(scope="module")
def dash(stack: StackProcess, api_token: str, demo_ports: DemoPorts) -> Iterator[Dashboard]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    # A full token of the suite's own with a high limit: the page polls, and the stack's token
    # (60 calls a minute, the contract's default) is shared with the other e2e modules.
    full, worker = api_token, stack.env["QUEUE_WORKER_TOKEN"]
    # The stack's functions start cold (seconds each); the page's checks wait 5 s at most.
    api, stranger = Api(stack.url, full), Api(stack.url, "rq_not-a-token")
    for call in (lambda: api.get("/health"), lambda: api.get("/runs"), lambda: stranger.get("/stats")):
        assert wait_for(lambda call=call: call().status_code < 500, timeout=120), "the local stack does not answer"
    target = Target(demo_ports.dashboard).start()
    served = requests.get(f"{stack.url}/dashboard", timeout=30)
    proxy = None
    if served.status_code == 200 and served.headers.get("Content-Type", "").startswith("text/html"):
        url, api_url = f"{stack.url}/dashboard", stack.url
    else:
        # The API does not serve /dashboard yet: serve the files under a stage path, API behind.
        proxy = StageProxy(stack.url).start()
        url, api_url = proxy.url, proxy.url.removesuffix("/dashboard")
    try:
        yield Dashboard(url, Api(api_url, full), api_url, full, worker, target)
    finally:
        if proxy is not None:
            proxy.stop()
        target.stop()


@pytest.fixture(scope="module")
def browser(dash: Dashboard) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, color_scheme="light")
    tab = context.new_page()
    errors = collect_errors(tab)
    yield tab
    context.close()
    assert errors == [], f"script errors in the page: {errors}"


def collect_errors(tab: Page) -> list[str]:
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def sign_in(page: Page, dash: Dashboard, token: str | None = None) -> None:
    page.goto(dash.url)
    page.get_by_label("API token", exact=True).fill(token or dash.full_token)
    page.get_by_role("button", name="Sign in").click()
    if token is None:  # the full token: the overview, or the reason there is none
        expect(page.locator("#view-overview:not([hidden]), #login-message:not(:empty)").first).to_be_visible(
            timeout=90_000
        )
        assert page.locator("#login-message").text_content() == "", page.locator("#login-message").text_content()


def open_view(page: Page, name: str) -> None:
    page.locator(f"#nav button[data-view={name}]").click()
    expect(page.locator(f"#view-{name}")).to_be_visible()


def make_job(dash: Dashboard, **body: Any) -> str:
    answer = dash.call("POST", "/jobs", json={"type": "api_sync", "payload": {"url": dash.target.url}, **body})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["job_id"])


def job_row(page: Page, job_id: str) -> Locator:
    return page.locator(f"#jobs-table tr[data-job='{job_id}']")


def test_bad_and_worker_tokens_are_turned_away_and_see_nothing(page: Page, dash: Dashboard) -> None:
    sign_in(page, dash, "rq_not-a-token")
    expect(page.locator("#login-message")).to_contain_text("rejected")
    expect(page.locator("#nav")).to_be_hidden()

    page.get_by_label("API token", exact=True).fill(dash.worker_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-message")).to_contain_text("full scope")
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.locator("#view-overview")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('relayq.token')") is None


def test_the_token_lasts_the_tab_session_and_sign_out_forgets_it(page: Page, dash: Dashboard) -> None:
    sign_in(page, dash)
    expect(page.locator("#view-overview")).to_be_visible()
    expect(page.locator("#health-list")).to_contain_text("Redis")
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    expect(page.locator("#view-overview")).to_be_visible()  # no second prompt in the same tab
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('relayq.token')") is None


def test_a_job_created_in_the_form_goes_from_queued_to_completed(page: Page, dash: Dashboard) -> None:
    sign_in(page, dash)
    open_view(page, "create")
    page.get_by_label("Job type").select_option("api_sync")
    page.get_by_label("URL *").fill(dash.target.url + "/hook")
    page.get_by_label("Method *").select_option("POST")
    page.get_by_label("Body (JSON, or plain text)").fill('{"hello": "world"}')
    page.locator("#create-queue").fill(f"dash-e2e-{RUN}")
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#create-message")).to_contain_text("job_")
    created = page.locator("#created-table tbody tr").first
    expect(created.locator(".status")).to_have_text("queued")

    open_view(page, "workers")
    page.get_by_label("Other queues (comma-separated)").fill(f"dash-e2e-{RUN}")
    page.get_by_role("button", name="Run worker").click()
    expect(page.locator("#trigger-result")).to_contain_text("processed")

    open_view(page, "create")
    expect(created.locator(".status")).to_have_text("completed", timeout=20_000)
    assert any(hit.startswith("POST /hook") for hit in dash.target.hits)

    created.get_by_role("button").click()
    dialog = page.locator("#job-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#job-payload")).to_contain_text('"hello": "world"')
    expect(page.locator("#job-detail")).to_contain_text("1 of")
    expect(page.locator("#job-result")).not_to_have_text("—")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_form_checks_fields_before_sending_and_shows_the_apis_errors(page: Page, dash: Dashboard) -> None:
    sign_in(page, dash)
    open_view(page, "create")
    requests_seen: list[str] = []
    page.on("request", lambda r: requests_seen.append(r.method + " " + r.url) if r.method == "POST" else None)

    page.get_by_label("Job type").select_option("email")
    page.get_by_label("To *").fill("not-an-address")
    page.get_by_label("Subject *").fill("Hello")
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#payload-to-error")).to_contain_text("valid e-mail")
    expect(page.locator("#payload-message-error")).to_have_text("")
    page.get_by_label("To *").fill("someone@example.com")
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#payload-message-error")).to_contain_text("text body")
    page.get_by_label("Job type").select_option("api_sync")
    page.get_by_label("URL *").fill("ftp://example.com")
    page.get_by_label("Priority (0 = first)").fill("5000")
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#payload-url-error")).to_contain_text("http")
    expect(page.locator("#create-priority-error")).to_contain_text("0 to 1000")
    assert requests_seen == [], "invalid forms must not reach the API"

    # Valid for the form, refused by the API's payload model: its message is shown as it comes.
    page.get_by_label("URL *").fill(dash.target.url)
    page.get_by_label("Priority (0 = first)").fill("")
    page.get_by_label("Headers (JSON object)").fill('{"X-Count": 5}')
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#create-message")).to_contain_text("headers")
    expect(page.locator("#create-message")).to_contain_text("rest_invalid_param")


def test_jobs_filter_sort_cancel_and_clear(page: Page, dash: Dashboard) -> None:
    later = {"delay": 3600}
    alpha = [make_job(dash, queue=f"dash-alpha-{RUN}", **later) for _ in range(3)]
    beta = [make_job(dash, queue=f"dash-beta-{RUN}", **later) for _ in range(2)]
    sign_in(page, dash)
    open_view(page, "jobs")

    page.locator("#filter-queue").fill(f"dash-alpha-{RUN}")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#page-info")).to_contain_text("3 jobs")
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(3)
    for i, job_id in enumerate(alpha[::-1]):  # newest first (retried: the table may be re-rendering)
        expect(rows.nth(i)).to_have_attribute("data-job", job_id)

    page.get_by_role("button", name="Created").click()  # the column header sorts
    expect(page.locator("#jobs-table th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_have_attribute("data-job", alpha[0])

    page.get_by_label("Per page").select_option("10")
    page.get_by_label("Order").select_option("newest")
    page.get_by_role("button", name="Apply").click()
    expect(rows.first).to_have_attribute("data-job", alpha[-1])

    job_row(page, alpha[1]).get_by_role("button", name="Cancel").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.locator("#confirm-yes").click()
    expect(job_row(page, alpha[1]).locator(".status")).to_have_text("cancelled")
    assert dash.call("GET", f"/jobs/{alpha[1]}").json()["status"] == "cancelled"

    page.locator("#filter-status").select_option("queued")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)

    page.get_by_label("Queue name").fill(f"dash-beta-{RUN}")
    page.get_by_role("button", name="Clear queue…").click()
    expect(page.locator("#confirm-text")).to_contain_text(f"dash-beta-{RUN}")
    page.get_by_role("button", name="Keep").click()  # a second thought: nothing happens
    assert all(dash.call("GET", f"/jobs/{j}").json()["status"] == "queued" for j in beta)
    page.get_by_role("button", name="Clear queue…").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#toast")).to_contain_text(f"dash-beta-{RUN}")
    assert all(dash.call("GET", f"/jobs/{j}").json()["status"] == "cancelled" for j in beta)


def test_tokens_are_listed_created_once_and_revoked(page: Page, dash: Dashboard) -> None:
    sign_in(page, dash)
    open_view(page, "tokens")
    expect(page.locator("#tokens-table tbody tr")).not_to_have_count(0)
    page.locator("#token-name").fill(f"dash-e2e-ci-{RUN}")
    page.locator("#token-scope").select_option("worker")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#token-secret-value")
    expect(secret).not_to_have_value("")
    new_token = secret.input_value()
    answer = requests.post(
        dash.api_url + "/workers/trigger",
        headers={"Authorization": f"Bearer {new_token}"},
        json={"queues": [f"dash-none-{RUN}"], "max_jobs": 1},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    row = page.locator("#tokens-table tbody tr", has_text=f"dash-e2e-ci-{RUN}")
    expect(row).to_contain_text("worker")
    row.get_by_role("button", name="Revoke").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#toast")).to_contain_text("revoked")
    answer = requests.post(
        dash.api_url + "/workers/trigger",
        headers={"Authorization": f"Bearer {new_token}"},
        json={"queues": [f"dash-none-{RUN}"], "max_jobs": 1},
        timeout=30,
    )
    assert answer.status_code in (401, 403)


def test_a_cron_run_shows_its_per_site_results(page: Page, dash: Dashboard) -> None:
    urls = [f"{dash.target.url}/site-{name}-{RUN}" for name in ("a", "b")]
    added = dash.call("POST", "/sites", json={"sites": urls})
    assert added.status_code == 201, added.text
    try:
        sign_in(page, dash)
        open_view(page, "workers")
        page.get_by_label("Wait for every site").check()
        message = page.locator("#cron-message")
        for _ in range(3):
            page.get_by_role("button", name="Start cron run").click()
            expect(message).to_contain_text(re.compile(r"run_|Rate limited"), timeout=60_000)
            # Another e2e module's run on this shared stack may have started the cron cooldown:
            # the page says how long it lasts; wait it out and start again.
            waited = re.search(r"Try again in (\d+) seconds", message.inner_text())
            if waited is None:
                break
            page.wait_for_timeout((int(waited.group(1)) + 1) * 1000)
        expect(message).to_contain_text("run_", timeout=60_000)
        for url in urls:
            row = page.locator("#run-sites tbody tr", has_text=url)
            expect(row).to_contain_text("200")
        assert all(any(hit.startswith(f"POST /site-{n}-{RUN}/wp-cron.php") for hit in dash.target.hits) for n in "ab")
        expect(page.locator("#runs-table tbody tr").first).to_contain_text("completed")
    finally:
        for url in urls:
            dash.call("DELETE", "/sites", params={"url": url})


def test_screenshots_of_every_page(browser: Browser, dash: Dashboard) -> None:
    """Desktop and phone, light and dark: the pictures are for people to look at; the checks here
    are that every page renders without script errors and nothing is wider than the screen."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    make_job(dash, queue=f"dash-shots-{RUN}", delay=600)
    for scheme in ("light", "dark"):
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            tab = context.new_page()
            errors = collect_errors(tab)
            tab.goto(dash.url)
            tab.screenshot(path=ARTIFACTS / f"login-{device}-{scheme}.png", full_page=True)
            tab.get_by_label("API token", exact=True).fill(dash.full_token)
            tab.get_by_role("button", name="Sign in").click()
            for view in VIEWS:
                open_view(tab, view)
                if view in READY:
                    expect(tab.locator(READY[view]).first).to_be_visible(timeout=60_000)
                tab.screenshot(path=ARTIFACTS / f"{view}-{device}-{scheme}.png", full_page=True)
                overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{view} is {overflow}px wider than a {device} screen"
            context.close()
            assert errors == [], errors
    assert len(list(ARTIFACTS.glob("*.png"))) == 2 * 2 * (len(VIEWS) + 1)


def test_keyboard_alone_reaches_every_section(page: Page, dash: Dashboard) -> None:
    page.goto(dash.url)
    expect(page.get_by_label("API token", exact=True)).to_be_focused()  # ready to paste into
    page.keyboard.type(dash.full_token)
    page.keyboard.press("Enter")
    expect(page.locator("#view-overview")).to_be_visible()
    page.locator("#nav button[data-view=overview]").focus()
    for view in VIEWS[1:]:
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator(f"#view-{view}")).to_be_visible()
