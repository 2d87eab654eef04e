"""Bad jobs through the worker handler, as a schedule runs it: a job that raises, one that hangs
past its timeout and one that returns something unserialisable are failed or retried as
configured, and the same invocation goes on to complete the good jobs queued behind them (the
the tests in tests/integration/test_job_service.py prove each case on the core alone)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from relayq.container import container
from relayq.domain.models import NewJob

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


@pytest.fixture
def worker(lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("QUEUE_WORKER_CONCURRENCY", "2")
    return load_handler("worker")


def test_the_worker_fails_or_retries_bad_jobs_and_keeps_going(worker: Any) -> None:
    service = container().jobs
    bad = {
        "raises": service.create(NewJob(type="broken", queue="bad", priority=1)),
        "hangs": service.create(
            NewJob(type="sleep", queue="bad", priority=1, payload={"seconds": 3}, timeout=1, max_attempts=2)
        ),
        "unserialisable": service.create(NewJob(type="unserialisable", queue="bad", priority=1, max_attempts=1)),
    }
    good = [service.create(NewJob(type="echo", queue="bad", priority=90, payload={"n": n})) for n in range(3)]
    event = json.loads((ROOT / "events" / "worker" / "schedule.json").read_text()) | {"queues": ["bad"]}

    summary = worker.handler(event, FakeLambdaContext())

    # `failed` counts failed attempts, the retried one included.
    assert (summary["processed"], summary["successful"], summary["failed"], summary["retried"]) == (6, 3, 3, 1)
    assert [service.get(j.id).status for j in good] == ["completed"] * 3
    raised, hung, unserialisable = (service.get(bad[k].id) for k in ("raises", "hangs", "unserialisable"))
    assert raised.status == "failed" and "cannot ever work" in (raised.error_message or "")
    assert hung.status == "queued" and hung.attempts == 1  # retried later: max_attempts=2
    assert "timed out after 1 seconds" in (hung.error_message or "")
    assert unserialisable.status == "failed" and "not JSON-serialisable" in (unserialisable.error_message or "")
