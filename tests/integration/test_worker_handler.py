"""The worker handler end to end: a scheduled event in, jobs processed, summary out."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from relayq.models import NewJob
from relayq.service import get_queue
from tests.support.job_types import Echo
from tests.support.lambda_context import FakeLambdaContext

ROOT = Path(__file__).resolve().parents[2]


def load_handler(function: str) -> ModuleType:
    """Import a function's module the way Lambda does (its folder is the code root)."""
    path = ROOT / "functions" / function / f"{function}_app.py"
    spec = importlib.util.spec_from_file_location(f"{function}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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
