"""events/: the committed samples are what devstack/events.py builds, and every handler
answers every sample of its function as expected, against redis-server and moto's server, with
the environment template.yaml gives the function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import events, samples
from devstack.functions import Resolver, function_specs
from devstack.handlers import load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.sites import SiteFarm
from devstack.template import TABLES
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.domain.cron import Site
from tests.integration.conftest import TABLE_NAMES
from tests.support.outbound import allowed


def test_the_committed_events_are_current() -> None:
    built = {case.path: events.render(case) for case in events.cases()}
    committed = {str(p.relative_to(events.EVENTS)): p.read_text() for p in events.EVENTS.glob("*/*.json")}
    assert sorted(committed) == sorted(built), "events/ differs from devstack/events.py: run `make events`"
    stale = [path for path, text in built.items() if committed[path] != text]
    assert not stale, f"stale events {stale}: run `make events`"


def _function_environment(function: str) -> dict[str, str]:
    """The variables template.yaml gives the function, pointed at the test's tables and Redis."""
    resolver = Resolver({}, {logical: TABLE_NAMES[field] for logical, field in TABLES.items()})
    spec = next(s for s in function_specs(resolver).values() if s.code_dir.name == function)
    local = ("QUEUE_REDIS_URL", "QUEUE_KICK_FUNCTIONS")  # the test's Redis; no worker functions to kick
    return {key: value for key, value in spec.environment.items() if key not in local}


@pytest.fixture
def farm(monkeypatch: pytest.MonkeyPatch) -> Iterator[SiteFarm]:
    sites = SiteFarm().start()
    monkeypatch.setenv("QUEUE_OUTBOUND_ALLOW", allowed(sites.url("")))  # its own server, no other
    yield sites
    sites.stop()


@pytest.mark.parametrize("case", events.cases(), ids=lambda case: case.path)
def test_every_handler_answers_its_events(
    case: events.Case, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, farm: SiteFarm
) -> None:
    for key, value in _function_environment(case.function).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("QUEUE_EMAIL_FROM", "relayq@example.com")
    # The samples' sites do not exist: fail fast instead of waiting for DNS and retries.
    monkeypatch.setenv("QUEUE_CRON_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("QUEUE_CRON_CONNECT_RETRIES", "0")
    reset_container()
    tokens = samples.mint_tokens(container().tokens)
    samples.seed(container())
    samples.seed_case(container(), case)
    if case.name == "run_sync":  # a synchronous run calls every site before it answers
        container().cron.runner.sites.put([Site(url=farm.url("blog"))])
    handler: Any = load_handler(case.function).handler
    event = json.loads(samples.with_tokens((events.EVENTS / case.path).read_text(), tokens))
    context = FakeLambdaContext(function_name=case.function)

    if case.function == "authorizer":
        try:
            policy, error = handler(event, context), None
        except Exception as refusal:  # API Gateway answers 401 for the error "Unauthorized"
            policy, error = None, str(refusal)
        assert samples.observed(case, event, policy, error) == case.expect, policy
        if case.expect == "Deny":  # what the ACCESS_DENIED gateway response renders
            assert policy["context"]["error_code"] and policy["context"]["error_message"]
        if case.name == "bearer":  # what the API samples carry is what the authorizer gives
            assert policy["context"] == events.FULL_CONTEXT
        return

    result = handler(event, context)
    assert samples.observed(case, event, result, None) == case.expect, result
    if isinstance(case.expect, int):
        if "_ga" in case.name:
            assert result["body"].startswith("::notice::")
        elif case.name == "metrics":  # Prometheus' text format
            assert result["multiValueHeaders"]["Content-Type"][0].startswith("text/plain")
            assert "# TYPE relayq_" in result["body"]
        else:
            body = json.loads(result["body"])
            assert isinstance(body, dict | list)
    else:
        assert isinstance(result, dict) and "errorMessage" not in result, result
