"""`make sam-local` invokes every function with every event of its events/ folder, with the
run's tokens in the copies it invokes, and checks each answer against the sample's expectation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack import events, samples
from devstack.samlocal.commands import SetupError
from devstack.samlocal.invoke import Invocation, function_events, function_folders, sample_events, summary
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
    "POST /jobs/{job_id}/run-now",  # needs a delayed job first
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


def _case(path: str) -> events.Case:
    return next(case for case in events.cases() if case.path == path)


def test_the_run_copy_of_an_event_carries_the_minted_tokens_and_the_committed_one_the_placeholders() -> None:
    tokens = {events.FULL_TOKEN: "rq_minted-full", events.WORKER_TOKEN: "rq_minted-worker"}
    committed = (events.EVENTS / "authorizer" / "query_token_run.json").read_text()
    bearer = (events.EVENTS / "authorizer" / "bearer.json").read_text()

    run_copy = json.loads(samples.with_tokens(committed, tokens))

    assert run_copy["queryStringParameters"]["token"] == "rq_minted-worker"
    assert json.loads(samples.with_tokens(bearer, tokens))["headers"]["Authorization"] == "Bearer rq_minted-full"
    for text in (committed, bearer):
        assert events.WORKER_TOKEN in text or events.FULL_TOKEN in text
        assert not any(p in samples.with_tokens(text, tokens) for p in tokens)


def _policy(effect: str, arn: str) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}
    return {"principalId": "tok_example", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}


def _call(path: str, result: Any, error: str | None = None) -> Invocation:
    case = _case(path)
    event = json.loads((events.EVENTS / case.path).read_text())
    got = samples.observed(case, event, result, error)
    return Invocation(function_folders()[case.function], case, 1.0, result, error, got)


def test_each_answer_is_checked_against_the_samples_expectation(capsys: pytest.CaptureFixture[str]) -> None:
    arn = json.loads((events.EVENTS / "authorizer" / "bearer.json").read_text())["methodArn"]
    unauthorized = {"errorMessage": "Unauthorized", "errorType": "Unauthorized"}
    as_expected = [
        _call("authorizer/bearer.json", _policy("Allow", arn)),
        _call("authorizer/run_no_token.json", unauthorized, "Unauthorized"),
        _call("api/create_job.json", {"statusCode": 201, "body": "{}"}),
        _call("worker/schedule.json", {"processed": 0}),
    ]
    assert all(call.matches for call in as_expected)
    assert summary(as_expected, 12.0) == 0
    assert "4/4 invocations answered as expected" in capsys.readouterr().out

    refused = _call("authorizer/bearer.json", unauthorized, "Unauthorized")  # the placeholder token
    bad_request = _call("api/create_job.json", {"statusCode": 400, "body": '{"code": "rest_invalid_param"}'})
    crashed = _call("cron/deferred_run.json", {"errorMessage": "RunNotFound"}, "RunNotFound")
    denied = _call("authorizer/worker_scope_trigger.json", _policy("Deny", arn))
    assert summary([*as_expected, refused, bad_request, crashed, denied], 12.0) == 1
    out = capsys.readouterr().out
    assert "4/8 invocations answered as expected" in out
    assert "MISMATCH authorizer/bearer.json: expected Allow, got Unauthorized" in out
    assert 'MISMATCH api/create_job.json: expected HTTP 201, got HTTP 400: {"code": "rest_invalid_param"}' in out
    assert "MISMATCH cron/deferred_run.json: expected a result, got function error: RunNotFound" in out
    assert "MISMATCH authorizer/worker_scope_trigger.json: expected Allow, got Deny" in out


def test_the_samples_are_invoked_in_the_order_of_a_session() -> None:
    order = [case.path for _, case, _ in sample_events()]
    # A synchronous run answers 409 while a deferred one is queued; after it, the cooldown answers 429.
    assert (
        order.index("cron/run_defer.json") < order.index("cron/process_queue.json") < order.index("cron/run_sync.json")
    )
    assert order.index("api/get_job.json") < order.index("api/cancel_job.json")
    assert order.index("cron/sites_add.json") < order.index("cron/sites_delete.json")
