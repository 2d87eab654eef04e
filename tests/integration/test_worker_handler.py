"""The worker handler end to end: a scheduled event in, jobs processed, summary out."""

from __future__ import annotations

import json
from typing import Any

from devstack.handlers import ROOT, load_handler
from devstack.job_types import Echo
from devstack.lambda_context import FakeLambdaContext
from relayq.models import NewJob
from relayq.service import get_queue


def test_scheduled_event_processes_the_queue_set(lambda_env: dict[str, str]) -> None:
    from relayq.registry import registry

    registry.register(Echo)
    try:
        queue = get_queue()
        jobs = [queue.create(NewJob(type="echo", queue=q, payload={"n": i})) for i, q in enumerate(["a", "a", "b"])]
        worker: Any = load_handler("worker")
        event = json.loads((ROOT / "events" / "worker" / "schedule.json").read_text())
        event["queues"] = ["a"]
        summary = worker.handler(event, FakeLambdaContext())
        assert summary["processed"] == 2 and summary["successful"] == 2
        assert [queue.get(j.id).status for j in jobs] == ["completed", "completed", "queued"]
    finally:
        registry.unregister("echo")
