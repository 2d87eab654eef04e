"""The dashboard in headless Chromium against the local stack: sign in, create a job in the form and
watch it complete, filter, sort, cancel, clear, run the worker and a cron run, manage tokens, and
screenshots of every page (desktop and phone, light and dark) under test-artifacts/dashboard/."""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright

from tests.support.dashboard_site import DashboardSite, StageProxy, Target

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
# Names of this run's queues and tokens, so a reused stack's older data never matches.
RUN = uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Stack:
    site: DashboardSite
    full_token: str
    worker_token: str
    target: Target

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.full_token}"}
        return requests.request(method, self.site.api_url + path, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    # Looked up by name: the stack and the token store come from other branches (localstack, api).
    if importlib.util.find_spec("tests.support.localstack") is None:
        pytest.skip("tests.support.localstack (branch `localstack`) is not merged: no local stack to run against")
    if importlib.util.find_spec("relayq.tokens") is None:
        pytest.skip("relayq.tokens (branch `api`) is not merged: the local stack cannot make tokens")
    stack_module = importlib.import_module("tests.support.localstack.stack")
    config = stack_module.StackConfig(
        data_dir=tmp_path_factory.mktemp("stack"), api_port=0, lambda_port=0, moto_port=0, redis_port=0
    )
    local = stack_module.LocalStack(config, out=io.StringIO()).start()
    target = Target().start()
    try:
        assert local.tokens is not None
        probe = requests.get(f"{local.api_url}/health", headers={"Authorization": f"Bearer {local.tokens.full}"})
        if probe.status_code != 200:
            pytest.skip(f"the stack's API answers GET /health with {probe.status_code}: api_app.py not merged")
        page = requests.get(f"{local.api_url}/dashboard", timeout=30)
        if page.status_code == 200 and page.headers.get("Content-Type", "").startswith("text/html"):
            yield Stack(DashboardSite(f"{local.api_url}/dashboard", local.api_url), *_tokens(local), target)
        else:
            # The route is not wired into the API yet: serve the files ourselves, API behind them.
            proxy = StageProxy(local.api_url).start()
            try:
                api = proxy.url.removesuffix("/dashboard")
                yield Stack(DashboardSite(proxy.url, api), *_tokens(local), target)
            finally:
                proxy.stop()
    finally:
        target.stop()
        local.stop()


def _tokens(local: Any) -> tuple[str, str]:
    return local.tokens.full, local.tokens.worker


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
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


def sign_in(page: Page, stack: Stack, token: str | None = None) -> None:
    page.goto(stack.site.url)
    page.get_by_label("API token", exact=True).fill(token or stack.full_token)
    page.get_by_role("button", name="Sign in").click()


def open_view(page: Page, name: str) -> None:
    page.locator(f"#nav button[data-view={name}]").click()
    expect(page.locator(f"#view-{name}")).to_be_visible()


def make_job(stack: Stack, **body: Any) -> str:
    answer = stack.call("POST", "/jobs", json={"type": "api_sync", "payload": {"url": stack.target.url}, **body})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["job_id"])


def job_row(page: Page, job_id: str) -> Locator:
    return page.locator(f"#jobs-table tr[data-job='{job_id}']")


def test_bad_and_worker_tokens_are_turned_away_and_see_nothing(page: Page, stack: Stack) -> None:
    sign_in(page, stack, "rq_not-a-token")
    expect(page.locator("#login-message")).to_contain_text("rejected")
    expect(page.locator("#nav")).to_be_hidden()

    page.get_by_label("API token", exact=True).fill(stack.worker_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-message")).to_contain_text("full scope")
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.locator("#view-overview")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('relayq.token')") is None


def test_the_token_lasts_the_tab_session_and_sign_out_forgets_it(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    expect(page.locator("#view-overview")).to_be_visible()
    expect(page.locator("#health-list")).to_contain_text("Redis")
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    expect(page.locator("#view-overview")).to_be_visible()  # no second prompt in the same tab
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('relayq.token')") is None


def test_a_job_created_in_the_form_goes_from_queued_to_completed(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    open_view(page, "create")
    page.get_by_label("Job type").select_option("api_sync")
    page.get_by_label("URL *").fill(stack.target.url + "/hook")
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
    assert any(hit.startswith("POST /hook") for hit in stack.target.hits)

    created.get_by_role("button").click()
    dialog = page.locator("#job-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#job-payload")).to_contain_text('"hello": "world"')
    expect(page.locator("#job-detail")).to_contain_text("1 of")
    expect(page.locator("#job-result")).not_to_have_text("—")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_form_checks_fields_before_sending_and_shows_the_apis_errors(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
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
    page.get_by_label("URL *").fill(stack.target.url)
    page.get_by_label("Priority (0 = first)").fill("")
    page.get_by_label("Headers (JSON object)").fill('{"X-Count": 5}')
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#create-message")).to_contain_text("headers")
    expect(page.locator("#create-message")).to_contain_text("rest_invalid_param")


def test_jobs_filter_sort_cancel_and_clear(page: Page, stack: Stack) -> None:
    later = {"delay": 3600}
    alpha = [make_job(stack, queue=f"dash-alpha-{RUN}", **later) for _ in range(3)]
    beta = [make_job(stack, queue=f"dash-beta-{RUN}", **later) for _ in range(2)]
    sign_in(page, stack)
    open_view(page, "jobs")

    page.locator("#filter-queue").fill(f"dash-alpha-{RUN}")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#page-info")).to_contain_text("3 jobs")
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-job") for i in range(3)] == alpha[::-1]  # newest first

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
    assert stack.call("GET", f"/jobs/{alpha[1]}").json()["status"] == "cancelled"

    page.locator("#filter-status").select_option("queued")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)

    page.get_by_label("Queue name").fill(f"dash-beta-{RUN}")
    page.get_by_role("button", name="Clear queue…").click()
    expect(page.locator("#confirm-text")).to_contain_text(f"dash-beta-{RUN}")
    page.get_by_role("button", name="Keep").click()  # a second thought: nothing happens
    assert all(stack.call("GET", f"/jobs/{j}").json()["status"] == "queued" for j in beta)
    page.get_by_role("button", name="Clear queue…").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#toast")).to_contain_text(f"dash-beta-{RUN}")
    assert all(stack.call("GET", f"/jobs/{j}").json()["status"] == "cancelled" for j in beta)


def test_tokens_are_listed_created_once_and_revoked(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    open_view(page, "tokens")
    expect(page.locator("#tokens-table tbody tr")).not_to_have_count(0)
    page.locator("#token-name").fill(f"dash-e2e-ci-{RUN}")
    page.locator("#token-scope").select_option("worker")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#token-secret-value")
    expect(secret).not_to_have_value("")
    new_token = secret.input_value()
    answer = requests.post(
        stack.site.api_url + "/workers/trigger",
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
        stack.site.api_url + "/workers/trigger",
        headers={"Authorization": f"Bearer {new_token}"},
        json={"queues": [f"dash-none-{RUN}"], "max_jobs": 1},
        timeout=30,
    )
    assert answer.status_code in (401, 403)


def test_a_cron_run_shows_its_per_site_results(page: Page, stack: Stack) -> None:
    added = stack.call("POST", "/sites", json={"sites": [stack.target.url + "/site-a", stack.target.url + "/site-b"]})
    assert added.status_code == 201, added.text
    sign_in(page, stack)
    open_view(page, "workers")
    page.get_by_role("button", name="Start cron run").click()
    expect(page.locator("#cron-message")).to_contain_text("run_")
    sites = page.locator("#run-sites tbody tr")
    expect(sites).to_have_count(2, timeout=60_000)
    expect(page.locator("#run-sites")).to_contain_text("200")
    expect(page.locator("#runs-table")).to_contain_text("completed", timeout=10_000)


def test_screenshots_of_every_page(browser: Browser, stack: Stack) -> None:
    """Desktop and phone, light and dark: the pictures are for people to look at; the checks here
    are that every page renders without script errors and nothing is wider than the screen."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    make_job(stack, queue=f"dash-shots-{RUN}", delay=600)
    for scheme in ("light", "dark"):
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            tab = context.new_page()
            errors = collect_errors(tab)
            tab.goto(stack.site.url)
            tab.screenshot(path=ARTIFACTS / f"login-{device}-{scheme}.png", full_page=True)
            tab.get_by_label("API token", exact=True).fill(stack.full_token)
            tab.get_by_role("button", name="Sign in").click()
            for view in VIEWS:
                open_view(tab, view)
                tab.wait_for_load_state("networkidle")
                tab.screenshot(path=ARTIFACTS / f"{view}-{device}-{scheme}.png", full_page=True)
                overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{view} is {overflow}px wider than a {device} screen"
            context.close()
            assert errors == [], errors
    assert len(list(ARTIFACTS.glob("*.png"))) == 2 * 2 * (len(VIEWS) + 1)


def test_keyboard_alone_reaches_every_section(page: Page, stack: Stack) -> None:
    page.goto(stack.site.url)
    expect(page.get_by_label("API token", exact=True)).to_be_focused()  # ready to paste into
    page.keyboard.type(stack.full_token)
    page.keyboard.press("Enter")
    expect(page.locator("#view-overview")).to_be_visible()
    page.locator("#nav button[data-view=overview]").focus()
    for view in VIEWS[1:]:
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator(f"#view-{view}")).to_be_visible()
