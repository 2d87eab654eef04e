"""`make sam-local` invokes every function with every event of its events/ folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devstack.samlocal.commands import SetupError
from devstack.samlocal.invoke import function_events, function_folders
from devstack.template import ROOT


def test_every_event_file_is_invoked_with_its_function() -> None:
    invoked = {event: function for function, event in function_events()}
    assert set(invoked) == set((ROOT / "events").glob("*/*.json"))
    folders = function_folders()
    for event, function in invoked.items():
        assert folders[event.parent.name] == function


def test_an_events_folder_without_a_function_is_refused(tmp_path: Path) -> None:
    (tmp_path / "events" / "worker").mkdir(parents=True)
    (tmp_path / "events" / "workers").mkdir()
    with pytest.raises(SetupError, match="workers"):
        function_events(tmp_path)


# Routes of the API with no sample event, and why: the events are what `make sam-local` invokes,
# so each one costs a container start there.
ROUTES_WITHOUT_EVENT = {
    "GET /docs", "GET /openapi.json",  # documentation pages, not the queue
    "POST /jobs/{job_id}/retry", "POST /jobs/purge",  # need a failed / an old job first
    "GET /tokens", "POST /tokens", "DELETE /tokens/{token_id}",  # token management, covered by tools.tokens
    "POST /uploads",  # needs an images bucket (ImagesBucketName has none by default): tests/integration/test_uploads.py
}  # fmt: skip


def test_every_route_of_the_api_has_a_sample_event() -> None:
    document = json.loads((ROOT / "functions" / "api" / "openapi.json").read_text())
    routes = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}
    events = [json.loads(path.read_text()) for path in (ROOT / "events" / "api").glob("*.json")]
    covered = {
        route
        for route in routes
        for event in events
        if route.split()[0] == event["httpMethod"]
        and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", route.split()[1]), event["path"])
    }
    assert routes - covered == ROUTES_WITHOUT_EVENT
