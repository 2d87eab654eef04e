"""The all-sites cron over HTTP: sites registered (one disabled), a deferred run answered at once
and carried out in the background against local site servers, plain output for GitHub Actions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.sites import SiteFarm
from tests.support.stack import Api, DemoPorts, wait_for


@pytest.fixture
def farm(demo_ports: DemoPorts) -> Iterator[SiteFarm]:
    sites = SiteFarm(port=demo_ports.sites).start()
    yield sites
    sites.stop()


def test_a_deferred_run_reaches_every_site(api: Api, farm: SiteFarm) -> None:
    names = ["alpha", "beta", "gamma"]
    added = api.post("/sites", json={"sites": [farm.url(name) for name in names]})
    assert added.status_code == 201, added.text
    # A disabled site stays listed and is not called (the gateway routes PATCH as the template says).
    assert api.post("/sites", json={"sites": [farm.url("delta")]}).status_code == 201
    off = api.patch("/sites", json={"url": farm.url("delta"), "enabled": False})
    assert off.status_code == 200 and off.json() == {
        "success": True,
        "site": {"url": farm.url("delta"), "enabled": False},
    }
    listed = {s["url"]: s["enabled"] for s in api.get("/sites").json()["sites"]}
    assert listed[farm.url("delta")] is False and listed[farm.url("alpha")] is True

    # For GitHub Actions: one plain annotation line instead of JSON, answered before the work.
    plain = api.get("/run", params={"defer": "1", "ga": "1"})
    if plain.status_code == 429:  # another test's run holds the cooldown: wait it out, as curl --retry does
        time.sleep(int(plain.headers["Retry-After"]))
        plain = api.get("/run", params={"defer": "1", "ga": "1"})
    assert plain.status_code == 202, plain.text
    # A notice, or a warning/error naming the last run when an earlier run of this stack failed.
    assert plain.text.startswith("::notice::") or "; the last run (" in plain.text, plain.text
    assert "queued" in plain.text
    # Another trigger, in JSON this time, joins the run while it waits, or is refused once it started
    # (the lock while it runs, the cooldown after).
    again = api.get("/run", params={"defer": "1"})
    if again.status_code == 202:
        assert again.json()["status"] == "queued" and again.json()["coalesced"] is True, again.text
    elif again.status_code == 409:
        assert again.json()["code"] == "cron_locked", again.text
    else:
        assert again.status_code == 429 and again.headers["Retry-After"], again.text
        assert again.json()["code"] == "rate_limited"

    assert wait_for(lambda: farm.called() >= set(names), timeout=90), farm.called()

    def finished_run() -> dict[str, Any] | None:
        runs = api.get("/runs").json()["runs"]
        return runs[0] if runs and runs[0]["status"] not in ("queued", "running") else None

    run = wait_for(finished_run)
    assert run and run["status"] == "succeeded", run
    assert (run["sites"], run["succeeded"], run["failed"]) == (len(names), len(names), 0), run
    assert "delta" not in farm.called()
    for name in [*names, "delta"]:
        assert api.delete("/sites", params={"url": farm.url(name)}).status_code == 200
