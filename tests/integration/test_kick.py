"""The idle-queue kick: a job enqueued into a queue no worker runs on invokes that queue's worker
function (boto3 ``lambda.invoke``, ``InvocationType=Event``) once per burst; here Lambda's Invoke
API is a local server that records the calls (``AWS_ENDPOINT_URL_LAMBDA``, as the local stack)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.handlers import load_handler
from devstack.http_recorder import LambdaRecorder
from devstack.lambda_context import FakeLambdaContext
from relayq.container import container
from relayq.domain.models import NewJob
from relayq.redis.worker_status import WorkerStatus

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix

EVENTS = Path(__file__).resolve().parents[2] / "events" / "worker"


@pytest.fixture
def recorder(lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaRecorder]:
    server = LambdaRecorder().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
    monkeypatch.setenv("QUEUE_KICK_FUNCTIONS", "email=worker-email,image=worker-media,*=worker-default")
    yield server
    server.stop()


def test_a_burst_into_an_idle_queue_starts_one_worker(recorder: LambdaRecorder) -> None:
    service = container().jobs
    for n in range(25):
        service.create(NewJob(type="echo", queue="email", payload={"n": n}))
    assert len(recorder.calls) == 1
    call = recorder.calls[0]
    assert (call.function, call.invocation_type) == ("worker-email", "Event")
    assert call.payload == {"queues": ["email"], "max_jobs": 100, "source": "kick"}


def test_queues_without_their_own_worker_use_the_fallback(recorder: LambdaRecorder) -> None:
    service = container().jobs
    service.create(NewJob(type="echo", queue="reports"))
    service.create_many([NewJob(type="echo", queue="image"), NewJob(type="echo", queue="image")])
    assert [(c.function, c.payload["queues"]) for c in recorder.calls] == [
        ("worker-default", ["reports"]),
        ("worker-media", ["image"]),
    ]


def test_no_kick_while_a_worker_runs_on_the_queue_and_again_after(recorder: LambdaRecorder) -> None:
    service = container().jobs
    status = WorkerStatus(service.broker, 60)
    status.begin("running-worker", ["email"], service.clock() + 60_000)
    service.create(NewJob(type="echo", queue="email"))
    assert recorder.calls == []
    status.end("running-worker", ["email"], {})
    # The kicked worker starts: it clears the debounce of its queues, so the next idle moment
    # kicks again at once instead of after the debounce window.
    service.create(NewJob(type="echo", queue="email"))
    assert len(recorder.calls) == 1
    worker = load_handler("worker")
    kick_event = json.loads((EVENTS / "kick.json").read_text())
    assert worker.handler(kick_event, FakeLambdaContext())["processed"] == 2
    service.create(NewJob(type="echo", queue="email"))
    assert len(recorder.calls) == 2


def test_a_failed_invoke_never_fails_the_enqueue(recorder: LambdaRecorder) -> None:
    recorder.status = 500
    service = container().jobs
    job = service.create(NewJob(type="echo", queue="email"))
    assert service.get(job.id).status == "queued"
    recorder.status = 202
    service.create(NewJob(type="echo", queue="email"))  # the failed kick did not hold the debounce
    assert [c.function for c in recorder.calls][-1] == "worker-email"


def test_delayed_jobs_are_kicked_by_the_worker_run_that_promotes_them(recorder: LambdaRecorder) -> None:
    service = container().jobs
    delayed = service.create(NewJob(type="echo", queue="email", delay=1))
    assert recorder.calls == []  # not due yet: nothing to run
    time.sleep(1.1)
    worker = load_handler("worker")
    summary = worker.handler(json.loads((EVENTS / "schedule.json").read_text()), FakeLambdaContext())
    assert summary["promoted"] == 1 and summary["kicked"] == ["email"]
    assert [(c.function, c.payload["queues"]) for c in recorder.calls] == [("worker-email", ["email"])]
    assert service.get(delayed.id).status == "queued"


def test_a_retried_job_starts_a_worker_at_once(recorder: LambdaRecorder) -> None:
    service = container().jobs
    job = service.create(NewJob(type="broken", queue="email", max_attempts=1))
    worker = load_handler("worker")
    kick_event = json.loads((EVENTS / "kick.json").read_text())
    worker.handler(kick_event, FakeLambdaContext())  # clears the kick's debounce, as a real start does
    assert service.get(job.id).status == "failed"
    calls = len(recorder.calls)
    service.retry(job.id)
    assert [(c.function, c.payload["queues"]) for c in recorder.calls[calls:]] == [("worker-email", ["email"])]
