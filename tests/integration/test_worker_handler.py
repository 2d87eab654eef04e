"""The worker handler end to end: a scheduled event in, jobs processed, summary out."""

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


def test_scheduled_event_processes_the_queue_set(lambda_env: dict[str, str]) -> None:
    service = container().jobs
    jobs = [service.create(NewJob(type="echo", queue=q, payload={"n": i})) for i, q in enumerate(["a", "a", "b"])]
    worker: Any = load_handler("worker")
    event = json.loads((ROOT / "events" / "worker" / "schedule.json").read_text())
    event["queues"] = ["a"]
    summary = worker.handler(event, FakeLambdaContext())
    assert summary["processed"] == 2 and summary["successful"] == 2
    assert [service.get(j.id).status for j in jobs] == ["completed", "completed", "queued"]
