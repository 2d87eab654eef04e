"""The all-sites cron over HTTP: sites registered, a deferred run answered at once and carried out
in the background against local site servers, plain output for GitHub Actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Api, wait_for
from tests.support.sites import SiteFarm


@pytest.fixture
def farm() -> Iterator[SiteFarm]:
    sites = SiteFarm().start()
    yield sites
    sites.stop()


def test_a_deferred_run_reaches_every_site(api: Api, farm: SiteFarm) -> None:
    names = ["alpha", "beta", "gamma"]
    added = api.post("/sites", json={"sites": [farm.url(name) for name in names]})
    assert added.status_code == 201, added.text
    answer = api.get("/run", params={"defer": "1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is True and answer.json()["status"] == "queued"
    # The same trigger for GitHub Actions: one plain annotation line instead of JSON.
    plain = api.get("/run", params={"defer": "1", "ga": "1"})
    assert plain.text.startswith("::") and "{" not in plain.text
    assert wait_for(lambda: farm.called() >= set(names), timeout=90), farm.called()
    run_id = answer.json()["run_id"]

    def finished_run() -> dict[str, Any] | None:
        run: dict[str, Any] = api.get(f"/runs/{run_id}").json()["run"]
        return run if run["status"] != "queued" else None

    run = wait_for(finished_run)
    assert run and run["succeeded"] >= len(names), run
    for name in names:
        api.delete("/sites", params={"url": farm.url(name)})
