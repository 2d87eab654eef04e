"""Worker invocations built from events/worker/*.json through the real handler, with a real
redis-server and moto's server: queue sets, status, metrics, custom job types."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack.handlers import load_handler
from devstack.lambda_context import FakeLambdaContext
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.domain.models import NewJob
from relayq.services.cost import cost_estimate
from relayq.services.metrics import prometheus_text

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix

EVENTS = Path(__file__).resolve().parents[2] / "events" / "worker"


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


@pytest.fixture
def worker(lambda_env: dict[str, str]) -> Any:
    return load_handler("worker")


def test_each_schedule_processes_its_own_queue_set(worker: Any) -> None:
    service = container().jobs
    jobs = {q: service.create(NewJob(type="echo", queue=q)) for q in ("email", "media", "api", "default", "reports")}

    def status(name: str) -> str:
        return service.get(jobs[name].id).status

    assert worker.handler(event("schedule-email.json"), FakeLambdaContext())["processed"] == 1
    assert [status(q) for q in jobs] == ["completed", "queued", "queued", "queued", "queued"]
    assert worker.handler(event("schedule-media.json"), FakeLambdaContext())["processed"] == 2
    # EventBridge's own envelope (a schedule without Input) means the default queue set.
    assert worker.handler(event("scheduled-event.json"), FakeLambdaContext())["processed"] == 1
    assert [status(q) for q in jobs] == ["completed"] * 4 + ["queued"]


def test_a_manual_trigger_takes_several_queues_and_max_jobs(worker: Any) -> None:
    service = container().jobs
    for q in ("default", "email") * 8:
        service.create(NewJob(type="echo", queue=q))
    summary = worker.handler(event("manual.json"), FakeLambdaContext())  # max_jobs 10
    assert summary["processed"] == 10 and summary["successful"] == 10
    assert sum(service.lengths().pending.values()) == 6


def test_a_bad_event_gets_the_error_body(worker: Any) -> None:
    answer = worker.handler({"queues": ["no spaces allowed"], "max_jobs": 0}, FakeLambdaContext())
    assert answer["code"] == "rest_invalid_param" and answer["data"] == {"status": 400}
    assert "queues.0" in answer["message"] and "max_jobs" in answer["message"]


def test_status_after_runs(worker: Any) -> None:
    before = container().worker_status.read()
    assert before["last_run"] is None and before["processing"] is False and before["recent_jobs"] == 0
    service = container().jobs
    for _ in range(3):
        service.create(NewJob(type="echo", queue="email"))
    service.create(NewJob(type="broken", queue="email"))
    worker.handler(event("schedule-email.json"), FakeLambdaContext())
    status = container().worker_status.read()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", status["last_run"])
    assert status["processing"] is False and status["workers_running"] == 0
    assert status["recent_jobs"] == 4
    assert status["throughput"]["email"]["last_1m"] == 4
    assert status["last_queues"] == ["email"]
    assert status["last_summary"]["processed"] == 4 and status["last_summary"]["failed"] == 1
    assert [j["status"] for j in status["recent"]].count("failed") == 1
    assert {j["type"] for j in status["recent"]} == {"echo", "broken"}


def test_metrics_as_emf_and_prometheus_text(worker: Any, capsys: pytest.CaptureFixture[str]) -> None:
    service = container().jobs
    for _ in range(2):
        service.create(NewJob(type="echo", queue="email"))
    service.create(NewJob(type="broken", queue="email"))
    service.create(NewJob(type="echo", queue="image"))  # left waiting: depth 1
    worker.handler(event("schedule-email.json"), FakeLambdaContext())
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_type = {d["type"]: d for d in documents if "JobsProcessed" in d}
    assert by_type["echo"]["queue"] == "email" and by_type["echo"]["JobsProcessed"] == [2.0]
    assert by_type["broken"]["JobsFailed"] == [1.0] and len(by_type["echo"]["JobDuration"]) == 2
    assert [d["QueueDepth"] for d in documents if d.get("queue") == "email" and "QueueDepth" in d] == [[0.0]]

    text = prometheus_text(container().broker)
    assert 'relayq_jobs_processed_total{queue="email",type="echo"} 2' in text
    assert 'relayq_jobs_completed_total{queue="email",type="echo"} 2' in text
    assert 'relayq_jobs_failed_total{queue="email",type="broken"} 1' in text
    assert 'relayq_job_duration_seconds_count{type="echo"} 2' in text
    assert re.search(r'relayq_job_duration_seconds\{type="echo",quantile="0.95"\} [0-9.e-]+', text)
    assert 'relayq_queue_depth{queue="image"} 1' in text
    assert re.search(r'relayq_queue_oldest_job_age_seconds\{queue="image"\} [0-9.]+', text)
    assert "# TYPE relayq_job_duration_seconds summary" in text


def test_lean_publishes_queue_depth_only_while_jobs_wait(
    worker: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_EMF_IDLE_QUEUE_DEPTH", "false")  # the lean profile's setting
    reset_container()
    service = container().jobs
    for _ in range(16):  # the media schedule takes 15 a run: one is left waiting
        service.create(NewJob(type="echo", queue="media"))
    service.create(NewJob(type="echo", queue="email"))
    worker.handler(event("schedule-media.json"), FakeLambdaContext())
    worker.handler(event("schedule-email.json"), FakeLambdaContext())  # drained: nothing waits for email
    worker.handler(event("schedule-email.json"), FakeLambdaContext())  # an idle run
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(d["queue"], d["QueueDepth"]) for d in documents if "QueueDepth" in d] == [("media", [1.0])]


def test_a_custom_type_from_a_module_named_in_settings(lambda_env: dict[str, str], monkeypatch: Any) -> None:
    monkeypatch.setenv("QUEUE_JOB_MODULES", "tests.support.custom_jobs")
    reset_container()
    try:
        service = container().jobs
        job = service.create(NewJob(type="greeting", payload={"name": "Ada"}))
        load_handler("worker").handler(event("schedule.json"), FakeLambdaContext())
        assert service.get(job.id).result == {"greeting": "Hello, Ada!"}
        assert {"email", "image_processing", "api_sync", "greeting"} <= set(container().registry.names())
    finally:
        container().registry.unregister("greeting")


def test_the_cost_estimate_counts_the_finished_jobs_on_top_of_the_floor(
    worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_COST_PROFILE", "lean")
    monkeypatch.setenv("QUEUE_COST_FLOOR_USD", "14.35")
    reset_container()
    service = container().jobs
    for _ in range(3):
        service.create(NewJob(type="echo", queue="email"))
    service.create(NewJob(type="broken", queue="email"))
    worker.handler(event("schedule-email.json"), FakeLambdaContext())
    estimate = cost_estimate(container().broker, container().settings).as_dict()
    assert estimate["profile"] == "lean" and estimate["jobs"] == 4
    assert estimate["floor_usd"] == 14.35 and estimate["total_usd"] >= 14.35
    assert estimate["lines"]["X-Ray traces"] == 0  # lean records no traces
    assert estimate["lines"]["API Gateway (REST)"] == round(4 * 3.50 / 1e6, 4)
