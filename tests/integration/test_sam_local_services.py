"""What `make sam-local` gives the functions, without a container runtime: its services (redis-server,
moto's server) with `make run`'s parameters, the run's tokens and the seeded records the samples
name. The handlers run in this process with the environment template.yaml gives them under those
parameters, as their containers get it; tests/integration/test_sam_local.py runs a container."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import events, samples
from devstack.handlers import load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.samlocal.stack import LocalStack, local_stack
from relayq.container import Container
from relayq.container import reset as reset_container


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Container, dict[str, str]]]:
    """One run's services for the module, seeded once as `make sam-local` seeds them."""
    with local_stack(tmp_path_factory.mktemp("sam-local"), "127.0.0.1") as stack, stack.host_container() as app:
        tokens = samples.mint_tokens(app.tokens)
        samples.seed(app)
        reset_container()
        yield stack, app, tokens
    reset_container()


def _answer(case_path: str, tokens: dict[str, str]) -> tuple[events.Case, int | str | None, Any]:
    """A sample (its run copy, tokens substituted) through its handler, and what it answered."""
    case = next(case for case in events.cases() if case.path == case_path)
    event = json.loads(samples.with_tokens((events.EVENTS / case.path).read_text(), tokens))
    handler: Any = load_handler(case.function).handler
    try:
        result, error = handler(event, FakeLambdaContext(function_name=case.function)), None
    except Exception as refusal:
        result, error = None, str(refusal)
    return case, samples.observed(case, event, result, error), result


@pytest.mark.parametrize("case_path", ["api/create_job.json", "api/create_job_form.json"])
def test_jobs_are_created_with_the_local_deployments_sender(
    seeded: tuple[LocalStack, Container, dict[str, str]], case_path: str
) -> None:
    """They answered 400 "from: required (QUEUE_EMAIL_FROM is not set)": sam local lacked the
    EmailFromAddress parameter `make run` passes."""
    _, _, tokens = seeded
    case, got, result = _answer(case_path, tokens)
    assert got == case.expect == 201, result


def test_the_run_token_is_allowed_and_the_placeholder_is_not(
    seeded: tuple[LocalStack, Container, dict[str, str]],
) -> None:
    _, _, tokens = seeded
    for path in ("authorizer/bearer.json", "authorizer/worker_scope_trigger.json", "authorizer/query_token_run.json"):
        case, got, result = _answer(path, tokens)
        assert got == case.expect == "Allow", (path, result)
    case, got, _ = _answer("authorizer/bearer.json", {})  # the committed placeholder
    assert got != "Allow"


@pytest.mark.parametrize("case_path", ["cron/deferred_run.json", "cron/run_get.json", "api/get_job.json"])
def test_the_seeded_run_and_job_are_found(seeded: tuple[LocalStack, Container, dict[str, str]], case_path: str) -> None:
    """deferred_run failed with RunNotFound: nothing had made the run RUN_ID."""
    _, _, tokens = seeded
    case, got, result = _answer(case_path, tokens)
    assert got == case.expect, result
