"""Swagger UI at /docs in headless Chromium against the local stack, as a browser opens a link:
no token, and nothing from the internet (every request to another host is aborted and must not
be needed). The screenshot goes to test-artifacts/docs/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from tests.e2e.test_dashboard import CHROMIUM, CHROMIUM_ARGS, DESKTOP, collect_errors
from tests.support.stack import StackProcess

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "docs"
# The page's files arrive at once, so the stack starts cold containers for them: seconds each on a
# busy machine. A bound on waiting, not a measure.
LOADS_WITHIN_MS = 120_000


@pytest.fixture
def offline_page(stack: StackProcess) -> Iterator[tuple[Page, list[str]]]:
    """A tab that reaches the stack only; the URLs it tried elsewhere are in the list."""
    local = urlsplit(stack.url).netloc
    elsewhere: list[str] = []

    def only_the_stack(route: Route) -> None:
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=DESKTOP, color_scheme="light")
        context.route("**/*", only_the_stack)
        tab = context.new_page()
        errors = collect_errors(tab)
        yield tab, elsewhere
        context.close()
        browser.close()
    assert errors == [], f"script errors in the page: {errors}"


def test_swagger_ui_renders_the_operations_offline_without_a_token(
    stack: StackProcess, offline_page: tuple[Page, list[str]]
) -> None:
    page, elsewhere = offline_page
    answer = page.goto(f"{stack.url}/docs", timeout=LOADS_WITHIN_MS)
    assert answer is not None and answer.status == 200

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("relayq REST API", timeout=LOADS_WITHIN_MS)
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 10
    expect(page.locator(".opblock-summary-path", has_text="/jobs").first).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "swagger-ui.png"))
    # An operation opens (Swagger UI's own script at work, not only its markup).
    page.locator(".opblock-get .opblock-summary", has_text="/health").first.click()
    expect(page.locator(".opblock.is-open").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "swagger-ui-operation.png"))
    assert elsewhere == []
