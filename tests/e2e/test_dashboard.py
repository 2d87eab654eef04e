"""The dashboard in headless Chromium against the local stack: sign in, create a job in the form and
watch it complete, filter, sort, cancel, clear, search, the delayed tab's "run now", every failed
attempt of a job, the running jobs, run the worker and a cron run (its status in colour), manage
sites and tokens, upload an image for a job, the polling's share of a token's budget, and
screenshots of every page (desktop and phone, light and dark) under test-artifacts/dashboard/."""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Request, Response, ViewportSize, expect, sync_playwright

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
VIEWS = ("overview", "jobs", "create", "workers", "sites", "tokens")
# What shows that a page's data has arrived (worth a picture).
READY = {
    "overview": "#health-list dd",
    "jobs": "#jobs-table tbody tr",
    "workers": "#runs-table tbody tr",
    "sites": "#sites-table tbody tr",
    "tokens": "#tokens-table tbody tr",
}
# The polling's share of a token's per-minute budget the tests hold the page to (the page aims at 10%).
BUDGET_SHARE = 0.15
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


def new_token(dash: Dashboard, rate_limit: int | None = None) -> tuple[str, int]:
    """A full token of a test's own (the deployment's default rate limit unless given) and the
    limit the API counts it against (its X-RateLimit-Limit; asking costs one call)."""
    body: dict[str, Any] = {"name": f"dash-e2e-{uuid.uuid4().hex[:6]}", "scope": "full"}
    if rate_limit is not None:
        body["rate_limit"] = rate_limit
    created = dash.call("POST", "/tokens", json=body)
    assert created.status_code == 201, created.text
    token = str(created.json()["token"])
    answer = requests.get(dash.api_url + "/stats", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return token, int(answer.headers["X-RateLimit-Limit"])


def sign_in_as(page: Page, dash: Dashboard, token: str) -> None:
    sign_in(page, dash, token)
    expect(page.locator("#health-list dd").first).to_be_visible(timeout=90_000)


def run_worker(dash: Dashboard, queue: str, max_jobs: int = 1) -> dict[str, Any]:
    answer = dash.call("POST", "/workers/trigger", json={"queues": [queue], "max_jobs": max_jobs})
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


def failed_job(dash: Dashboard, queue: str) -> str:
    """A job whose three attempts failed (the target answers 500), each right after the other."""
    job_id = make_job(dash, queue=queue, payload={"url": dash.target.url + "/fail"}, max_attempts=3)
    for _ in range(3):
        run_worker(dash, queue)
        dash.call("POST", f"/jobs/{job_id}/run-now")  # no waiting for the retry's backoff
    # Run now also kicks the queue's worker: the last attempt may be that worker's, still running.
    assert wait_for(lambda: dash.call("GET", f"/jobs/{job_id}").json()["status"] == "failed", timeout=60)
    return job_id


class ApiCalls:
    """The API calls a page makes (not its own files), and a minute of its clock run one second at
    a time, each second's calls answered before the next (Playwright's clock: nothing waits in
    real time for the page's timers)."""

    def __init__(self, page: Page, dash: Dashboard) -> None:
        self.page = page
        self.base = dash.api_url
        self.stage = urlsplit(dash.api_url).path
        self.seen: list[str] = []
        self.statuses: list[tuple[str, int, str | None]] = []
        self.open = 0
        page.on("request", self._sent)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        page.on("response", self._answered)

    def _ours(self, request: Request) -> bool:
        path = urlsplit(request.url).path.removeprefix(self.stage)
        return request.url.startswith(self.base + "/") and not path.startswith("/dashboard")

    def _name(self, request: Request) -> str:
        return f"{request.method} {urlsplit(request.url).path.removeprefix(self.stage)}"

    def _sent(self, request: Request) -> None:
        if self._ours(request):
            self.seen.append(self._name(request))
            self.open += 1

    def _ended(self, request: Request) -> None:
        if self._ours(request):
            self.open -= 1

    def _answered(self, response: Response) -> None:
        if self._ours(response.request):
            self.statuses.append((self._name(response.request), response.status, response.headers.get("retry-after")))

    def settle(self) -> None:
        for _ in range(2400):  # at most a minute for the calls out now to end
            if self.open <= 0:
                return
            self.page.wait_for_timeout(25)
        raise AssertionError(f"{self.open} API calls of the page never ended")

    def run(self, seconds: int) -> list[str]:
        """The calls made while the page's clock runs ``seconds`` on."""
        before = len(self.seen)
        for _ in range(seconds):
            self.page.clock.run_for(1000)
            self.settle()
        return self.seen[before:]


def paused_clock(page: Page) -> None:
    """The page's timers run only when the test runs the clock on."""
    page.clock.pause_at(int(page.evaluate("Date.now()")) + 1)


def start_cron_run(page: Page) -> None:
    """Start a run and wait for its answer; another run's cooldown (this stack is shared) is
    waited out as the page tells."""
    page.get_by_label("Wait for every site").check()
    message = page.locator("#cron-message")
    for _ in range(3):
        page.get_by_role("button", name="Start cron run").click()
        expect(message).to_contain_text(re.compile(r"run_|Rate limited"), timeout=60_000)
        waited = re.search(r"Try again in (\d+) seconds", message.inner_text())
        if waited is None:
            break
        page.wait_for_timeout((int(waited.group(1)) + 1) * 1000)
    expect(message).to_contain_text("run_", timeout=60_000)


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
    expect(page.locator("#health-list")).to_contain_text(re.compile(r"Estimated cost\s*\$\d+\.\d\d a month: floor \$"))
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    expect(page.locator("#view-overview")).to_be_visible()  # no second prompt in the same tab
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('relayq.token')") is None


def test_a_job_created_in_the_form_goes_from_queued_to_completed(page: Page, dash: Dashboard) -> None:
    # A token with the deployment's default limit: the page's refreshes leave room for the rest.
    sign_in_as(page, dash, new_token(dash)[0])
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
        start_cron_run(page)
        for url in urls:
            row = page.locator("#run-sites tbody tr", has_text=url)
            expect(row).to_contain_text("200")
        assert all(any(hit.startswith(f"POST /site-{n}-{RUN}/wp-cron.php") for hit in dash.target.hits) for n in "ab")
        first = page.locator("#runs-table tbody tr").first
        expect(first.locator(".status")).to_have_text("succeeded")
        expect(first.locator(".counts")).to_contain_text("2 ok · 0 failed · 2 sites")
    finally:
        for url in urls:
            dash.call("DELETE", "/sites", params={"url": url})


def test_polling_stays_within_a_small_share_of_the_tokens_budget(page: Page, dash: Dashboard) -> None:
    token, limit = new_token(dash)  # the deployment's default limit, as a user's token has
    page.clock.install()
    calls = ApiCalls(page, dash)
    sign_in_as(page, dash, token)
    calls.settle()
    paused_clock(page)

    minute = calls.run(60)
    assert len(minute) <= BUDGET_SHARE * limit, f"{len(minute)} calls a minute of {limit}: {minute}"
    assert minute, "the overview refreshes itself"
    assert set(minute) == {"GET /overview"}, minute  # one call per refresh
    expect(page.locator("#refresh-note")).to_contain_text(f"of this token's {limit} calls a minute")

    open_view(page, "jobs")
    calls.settle()
    minute = calls.run(60)
    assert minute and set(minute) == {"GET /jobs"}, minute
    assert len(minute) <= BUDGET_SHARE * limit, f"{len(minute)} calls a minute of {limit}"

    # A hidden tab slows down further.
    page.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
          Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    hidden = calls.run(60)
    assert len(hidden) < len(minute) and len(hidden) <= 1, hidden


def test_a_rate_limited_page_waits_as_told_then_refreshes_again(page: Page, dash: Dashboard) -> None:
    token, limit = new_token(dash, rate_limit=20)
    page.clock.install()
    calls = ApiCalls(page, dash)
    sign_in_as(page, dash, token)
    calls.settle()
    paused_clock(page)
    # Another user of the token spends the rest of its minute: the page's next refresh is refused.
    other = Api(dash.api_url, token)
    for _ in range(limit):
        if other.get("/stats").status_code == 429:
            break
    for _ in range(120):
        calls.run(1)
        if any(status == 429 for _, status, _ in calls.statuses):
            break
    limited = [(name, retry) for name, status, retry in calls.statuses if status == 429]
    assert limited, calls.statuses
    retry_after = int(limited[0][1] or 0)
    assert retry_after >= 1
    expect(page.locator("#refresh-note")).to_contain_text("Rate limited")
    before = len(calls.seen)
    assert calls.run(retry_after - 1) == [], "a refresh before Retry-After"
    assert calls.run(30), "no refresh after Retry-After"
    assert len(calls.seen) > before


def test_running_jobs_show_live_on_the_overview_and_in_the_running_tab(page: Page, dash: Dashboard) -> None:
    queue = f"dash-slow-{RUN}"
    dash.target.slow_started.clear()
    dash.target.release.clear()
    job_id = make_job(dash, queue=queue, payload={"url": dash.target.url + "/slow"})
    worker = threading.Thread(target=run_worker, args=(dash, queue), daemon=True)
    worker.start()
    try:
        assert dash.target.slow_started.wait(90), "the job never started"
        sign_in(page, dash)
        running = page.locator(f"#running-table tr[data-job='{job_id}']")
        expect(running).to_be_visible()
        expect(running).to_contain_text(queue)
        open_view(page, "jobs")
        page.get_by_role("button", name="Running", exact=True).click()
        expect(job_row(page, job_id).locator(".status")).to_have_text("processing")
    finally:
        dash.target.release.set()
        worker.join(90)
    open_view(page, "overview")
    page.get_by_role("button", name="Refresh now").click()
    expect(running).to_have_count(0)
    assert dash.call("GET", f"/jobs/{job_id}").json()["status"] == "completed"


def test_a_job_shows_the_error_and_traceback_of_every_failed_attempt(page: Page, dash: Dashboard) -> None:
    queue = f"dash-fail-{RUN}"
    job_id = failed_job(dash, queue)
    sign_in(page, dash)
    open_view(page, "jobs")
    page.locator("#filter-queue").fill(queue)
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("button", name="Failed", exact=True).click()
    job_row(page, job_id).locator("td.id button").click()
    attempts = page.locator("#job-attempts li")
    expect(attempts).to_have_count(3)
    expect(page.locator("#job-attempts-title")).to_have_text("Failed attempts (3)")
    for i, attempt in enumerate((3, 2, 1)):  # newest first
        item = attempts.nth(i)
        expect(item).to_have_attribute("data-attempt", str(attempt))
        expect(item.locator(".attempt-error")).to_contain_text("500")
        item.locator("summary").click()
        expect(item.locator("pre")).to_contain_text("RetryableJobError")
    expect(page.locator("#job-retry")).to_be_visible()
    expect(page.locator("#job-run-now")).to_be_hidden()


def test_jobs_show_priority_next_run_and_payload_and_are_found_by_id(page: Page, dash: Dashboard) -> None:
    queue = f"dash-cols-{RUN}"
    job_id = make_job(dash, queue=queue, priority=7, delay=3600)
    sign_in(page, dash)
    open_view(page, "jobs")
    page.locator("#filter-queue").fill(queue)
    page.get_by_role("button", name="Apply").click()
    row = job_row(page, job_id)
    expect(row.locator("td[data-label=Priority]")).to_have_text("7")
    expect(row.locator(".next-run")).to_contain_text("due 20")
    expect(row.locator(".preview")).to_contain_text(f'"url":"{dash.target.url}/"')
    expect(row.get_by_role("button", name=f"Run {job_id} now")).to_be_visible()

    page.get_by_label("Find a job").fill(job_id)
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#job-dialog")).to_be_visible()
    expect(page.locator("#job-dialog-title")).to_have_text(f"Job {job_id}")
    expect(page.locator("#job-detail")).to_contain_text("Delayed until")
    page.keyboard.press("Escape")
    page.get_by_label("Find a job").fill("job_" + "0" * 28)
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#job-search-message")).to_contain_text("No job has the id")
    page.get_by_label("Find a job").fill("42")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#job-search-message")).to_contain_text("28 hex digits")


def test_the_delayed_tab_runs_a_job_now(page: Page, dash: Dashboard) -> None:
    queue = f"dash-later-{RUN}"
    job_id = make_job(dash, queue=queue, delay=3600)
    sign_in(page, dash)
    open_view(page, "jobs")
    page.get_by_label("Per page").select_option("100")
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("button", name="Delayed", exact=True).click()
    expect(page.locator("#jobs-tab-note")).to_be_visible()
    row = job_row(page, job_id)
    row.get_by_role("button", name=f"Run {job_id} now").click()
    expect(page.locator("#toast")).to_contain_text("due now")
    expect(row).to_have_count(0)  # due now: no longer delayed
    assert dash.call("GET", f"/jobs/{job_id}").json()["delay_until"] is None
    run_worker(dash, queue)  # the worker run now kicked may have run it already
    assert wait_for(lambda: dash.call("GET", f"/jobs/{job_id}").json()["status"] == "completed", timeout=60)


# Needs the cron helper's branch (run statuses succeeded / completed_with_errors / failed).
def test_cron_runs_show_their_status_in_colour_with_counts(page: Page, dash: Dashboard) -> None:
    good, bad = f"{dash.target.url}/site-good-{RUN}", f"{dash.target.url}/fail-site-{RUN}"
    assert dash.call("POST", "/sites", json={"sites": [good, bad]}).status_code == 201
    try:
        sign_in(page, dash)
        open_view(page, "workers")
        start_cron_run(page)
        first = page.locator("#runs-table tbody tr").first
        expect(first.locator(".status")).to_have_text("completed with errors")
        expect(first.locator(".counts")).to_contain_text("1 ok · 1 failed · 2 sites")
        amber = first.locator(".badge").evaluate("e => getComputedStyle(e).color")
        assert amber == "rgb(138, 90, 0)", amber  # --warn

        assert dash.call("PATCH", "/sites", json={"url": good, "enabled": False}).status_code == 200
        start_cron_run(page)
        expect(first.locator(".status")).to_have_text("failed")
        expect(first).to_have_class(re.compile(r"\bs-run-failed\b"))
        red = first.locator(".badge").evaluate("e => getComputedStyle(e).color")
        assert red == "rgb(179, 38, 30)", red  # --danger
        open_view(page, "overview")
        expect(page.locator("#overview-runs-table tbody tr").first.locator(".status")).to_have_text("failed")
    finally:
        for url in (good, bad):
            dash.call("DELETE", "/sites", params={"url": url})


# Needs the cron helper's branch (PATCH /sites, `enabled`).
def test_sites_are_added_disabled_enabled_imported_and_removed(page: Page, dash: Dashboard) -> None:
    one = f"{dash.target.url}/site-page-{RUN}"
    network = [f"{dash.target.url}/net-{n}-{RUN}/" for n in range(3)]

    def stored() -> dict[str, bool]:
        return {site["url"]: site.get("enabled", True) for site in dash.call("GET", "/sites").json()["sites"]}

    try:
        sign_in(page, dash)
        open_view(page, "sites")
        page.get_by_label("Site URL", exact=True).fill("example.com")
        page.get_by_role("button", name="Add site").click()
        expect(page.locator("#site-url-error")).to_contain_text("http")
        page.get_by_label("Site URL", exact=True).fill(one)
        page.get_by_role("button", name="Add site").click()
        expect(page.locator("#site-form-message")).to_contain_text("Added 1 site")
        row = page.locator(f"#sites-table tr[data-site='{one}']")
        expect(row.locator(".status")).to_have_text("enabled")

        row.get_by_role("button", name=f"Disable {one}").click()
        expect(row.locator(".status")).to_have_text("disabled")
        assert stored()[one] is False
        row.get_by_role("button", name=f"Enable {one}").click()
        expect(row.locator(".status")).to_have_text("enabled")
        assert stored()[one] is True

        # What `wp site list --field=url` prints, with a line WP-CLI may add.
        page.get_by_label("Site URLs").fill("\n".join([*network, "", "Warning: skipped a site", network[0]]) + "\n")
        expect(page.locator("#sites-import-preview")).to_contain_text("3 URLs to import; 1 line skipped")
        page.get_by_role("button", name="Import sites").click()
        expect(page.locator("#sites-import-message")).to_contain_text("Added 3 sites")
        for url in network:
            expect(page.locator(f"#sites-table tr[data-site='{url}']")).to_be_visible()
        assert set(network) <= set(stored())

        row.get_by_role("button", name=f"Remove {one}").click()
        page.locator("#confirm-yes").click()
        expect(row).to_have_count(0)
        assert one not in stored()
    finally:
        for url in [one, *network]:
            dash.call("DELETE", "/sites", params={"url": url})


# Needs the images helper's branch (POST /uploads, attachment_id payloads).
def test_an_image_is_uploaded_and_a_job_processes_it(page: Page, dash: Dashboard, tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    Image.new("RGB", (64, 48), "orange").save(picture)
    queue = f"dash-img-{RUN}"
    sign_in(page, dash)
    open_view(page, "create")
    page.get_by_label("Job type").select_option("image_processing")
    page.get_by_label("Upload an image").set_input_files(picture)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-message")).to_contain_text("as attachment", timeout=60_000)
    attachment = int(page.get_by_label("Attachment id").input_value())
    page.locator("#create-queue").fill(queue)
    page.locator("#create-form button[type=submit]").click()
    expect(page.locator("#create-message")).to_contain_text("job_")
    job_id = page.locator("#created-table tbody tr").first.get_attribute("data-job")
    assert job_id is not None
    job = dash.call("GET", f"/jobs/{job_id}").json()
    assert job["payload"] == {"operation": "thumbnail", "attachment_id": attachment}
    run_worker(dash, queue)  # the worker the new job kicked may have run it already
    assert wait_for(lambda: dash.call("GET", f"/jobs/{job_id}").json()["status"] == "completed", timeout=60)
    expect(page.locator("#created-table tbody tr").first.locator(".status")).to_have_text("completed", timeout=30_000)


def test_screenshots_of_every_page(browser: Browser, dash: Dashboard) -> None:
    """Desktop and phone, light and dark: the pictures are for people to look at; the checks here
    are that every page renders without script errors and nothing is wider than the screen."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    make_job(dash, queue=f"dash-shots-{RUN}", delay=600)
    failed = failed_job(dash, f"dash-shots-failed-{RUN}")
    # Something to picture on the sites and cron pages: a run in which one site fails, a disabled site.
    sites = [f"{dash.target.url}/site-shot-{RUN}", f"{dash.target.url}/fail-shot-{RUN}"]
    dash.call("POST", "/sites", json={"sites": sites})
    dash.call("POST", "/run")  # refused in another run's cooldown: then the pictures show that run
    dash.call("PATCH", "/sites", json={"url": sites[1], "enabled": False})
    try:
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
                # A job's dialog with its failed attempts, one traceback open.
                open_view(tab, "jobs")
                tab.get_by_label("Find a job").fill(failed)
                tab.get_by_role("button", name="Find", exact=True).click()
                expect(tab.locator("#job-attempts li")).to_have_count(3)
                tab.locator("#job-attempts summary").first.click()
                tab.screenshot(path=ARTIFACTS / f"job-{device}-{scheme}.png")  # the dialog is the viewport's
                context.close()
                assert errors == [], errors
    finally:
        for url in sites:
            dash.call("DELETE", "/sites", params={"url": url})
    assert len(list(ARTIFACTS.glob("*.png"))) == 2 * 2 * (len(VIEWS) + 2)


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
