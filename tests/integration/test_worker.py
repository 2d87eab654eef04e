"""One worker invocation: queue sets, max_jobs, the time budget, lease recovery, per-queue limits
under parallel workers and the exclusive lock."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, ClassVar

import pytest

from devstack.lambda_context import FakeLambdaContext
from relayq.domain.errors import StoreUnavailable
from relayq.domain.hooks import Hooks
from relayq.domain.models import NewJob
from relayq.domain.registry import JobContext, JobRegistry, JobType
from relayq.domain.worker_input import WorkerInput
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import RedisBroker
from relayq.redis.locks import Lock
from relayq.redis.worker_status import WorkerStatus
from relayq.services.jobs import JobService
from relayq.services.worker import Worker
from relayq.settings import Settings
from tests.support.clock import FakeClock

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


class Probe(JobType):
    """Counts how many jobs of each queue run at the same moment."""

    name = "probe"
    lock = threading.Lock()
    running: ClassVar[Counter[str]] = Counter()
    peak: ClassVar[Counter[str]] = Counter()

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        queue = context.job.queue
        with self.lock:
            self.running[queue] += 1
            self.peak[queue] = max(self.peak[queue], self.running[queue])
        time.sleep(float(payload.get("seconds", 0.05)))
        with self.lock:
            self.running[queue] -= 1
        return {"queue": queue}


class Exclusive(Probe):
    name = "exclusive"
    exclusive = True


@pytest.fixture(autouse=True)
def _probes(registry: JobRegistry) -> None:
    registry.register(Probe)
    registry.register(Exclusive)
    for counter in (Probe.running, Probe.peak):
        counter.clear()


def make_queue(service: JobService, **overrides: Any) -> JobService:
    """The same queue with other settings (settings are frozen, as in a deployed container)."""
    settings = service.settings.model_copy(update=overrides)
    return JobService(
        service.broker, service.store, settings, registry=service.registry, hooks=Hooks(), clock=service.clock
    )


def worker(service: JobService) -> Worker:
    return Worker(service, WorkerStatus(service.broker, service.settings.worker_status_ttl_seconds))


def run(service: JobService, queues: list[str], max_jobs: int = 100, context: FakeLambdaContext | None = None) -> Any:
    context = context or FakeLambdaContext()
    request = WorkerInput(queues=queues, max_jobs=max_jobs)
    return worker(service).run(request, context.get_remaining_time_in_millis, context.aws_request_id)


def test_a_worker_processes_only_its_queue_set(service: JobService) -> None:
    jobs = {q: [service.create(NewJob(type="echo", queue=q)) for _ in range(2)] for q in ("email", "image", "api")}
    summary = run(service, ["image", "api"])
    assert summary.processed == 4 and summary.successful == 4
    assert {service.get(j.id).status for q in ("image", "api") for j in jobs[q]} == {"completed"}
    assert {service.get(j.id).status for j in jobs["email"]} == {"queued"}


def test_max_jobs_stops_the_invocation(service: JobService) -> None:
    for _ in range(5):
        service.create(NewJob(type="echo"))
    assert run(service, ["default"], max_jobs=3).processed == 3
    assert service.lengths().pending["default"] == 2


def test_a_job_that_cannot_finish_before_the_function_times_out_is_not_started(service: JobService) -> None:
    slow = service.create(NewJob(type="sleep", payload={"seconds": 0}, timeout=60))
    quick = service.create(NewJob(type="sleep", payload={"seconds": 0}, timeout=10))
    # 20 s left, 5 s kept back: a 10 s job fits, a 60 s job does not.
    summary = run(service, ["default"], context=FakeLambdaContext(timeout_s=20))
    assert summary.processed == 1
    assert service.get(quick.id).status == "completed"
    assert service.get(slow.id).status == "queued" and service.get(slow.id).attempts == 0
    # A later invocation with the whole 900 s runs it.
    assert run(service, ["default"]).processed == 1
    assert service.get(slow.id).status == "completed"


def test_nothing_is_started_when_the_reserve_eats_the_remaining_time(service: JobService) -> None:
    job = service.create(NewJob(type="echo", timeout=1))
    summary = run(service, ["default"], context=FakeLambdaContext(timeout_s=5))
    assert summary.processed == 0 and service.get(job.id).status == "queued"


def test_jobs_of_a_worker_that_crashed_mid_batch_are_recovered_and_run(
    service: JobService, broker: RedisBroker, store: JobStore, clock: FakeClock
) -> None:
    jobs = [service.create(NewJob(type="echo", timeout=30, payload={"n": i})) for i in range(3)]
    # A worker claims two jobs, starts the first one, and dies (no finish, no retry).
    leases = broker.claim(["default"], 2)
    store.start(leases[0].id, leases[0].token)
    clock.advance(31)  # the leases (timeout + grace 0) run out
    summary = run(service, ["default"])
    assert summary.recovered == 2 and summary.processed == 3
    finished = {j.id: service.get(j.id) for j in jobs}
    assert {j.status for j in finished.values()} == {"completed"}
    # The started job ran twice; the one claimed and never started, and the third, ran once.
    assert sorted(j.attempts for j in finished.values()) == [1, 1, 2]
    assert broker.lengths().processing == 0


def test_per_queue_limit_holds_across_parallel_workers(service: JobService, redis_conn: Any) -> None:
    limited = make_queue(service, concurrency_limits={"api": 2}, worker_concurrency=4)
    jobs = [limited.create(NewJob(type="probe", queue="api", payload={"seconds": 0.05})) for _ in range(12)]
    jobs += [limited.create(NewJob(type="probe", queue="image", payload={"seconds": 0.2})) for _ in range(8)]
    summaries: list[Any] = []

    def one_worker(n: int) -> None:
        context = FakeLambdaContext(aws_request_id=f"worker-{n}")
        request = WorkerInput(queues=["api", "image"], max_jobs=100)
        summaries.append(worker(limited).run(request, context.get_remaining_time_in_millis, f"worker-{n}"))

    threads = [threading.Thread(target=one_worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(s.processed for s in summaries) == 20
    assert {limited.get(j.id).status for j in jobs} == {"completed"}
    assert Probe.peak["api"] == 2  # the limit was reached and never passed
    assert Probe.peak["image"] > 2  # no limit on image: 4 workers x 4 threads ran them together
    assert {k: int(v) for k, v in redis_conn.hgetall("{rq}:inflight").items()} == {"api": 0, "image": 0}


def test_exclusive_jobs_never_run_at_once_and_keep_their_attempts(service: JobService, clock: FakeClock) -> None:
    parallel = make_queue(service, worker_concurrency=4)
    jobs = [parallel.create(NewJob(type="exclusive", payload={"seconds": 0.3})) for _ in range(3)]
    first = run(parallel, ["default"])  # claims all three at once, on four threads
    assert first.processed >= 1
    # Those that found the lock taken wait in the delayed set, their attempts untouched.
    waiting = [parallel.get(j.id) for j in jobs if parallel.get(j.id).status == "queued"]
    assert len(waiting) == 3 - first.processed
    assert all(j.attempts == 0 and j.delay_until is not None for j in waiting)
    for _ in range(3):
        clock.advance(parallel.settings.exclusive_retry_seconds)
        run(parallel, ["default"])
    finished = [parallel.get(j.id) for j in jobs]
    assert [j.status for j in finished] == ["completed"] * 3
    assert [j.attempts for j in finished] == [1, 1, 1]
    assert Exclusive.peak["default"] == 1


def test_an_exclusive_job_waits_while_another_worker_holds_the_lock(
    service: JobService, broker: RedisBroker, clock: FakeClock
) -> None:
    job = service.create(NewJob(type="exclusive", payload={"seconds": 0}))
    holder = Lock(broker, "exclusive:exclusive", ttl_ms=60_000)
    assert holder.acquire()
    assert run(service, ["default"]).processed == 0
    assert service.get(job.id).status == "queued"
    assert holder.release()
    clock.advance(service.settings.exclusive_retry_seconds)
    assert run(service, ["default"]).successful == 1


def test_a_lock_is_only_released_by_its_owner(broker: RedisBroker, redis_conn: Any) -> None:
    first = Lock(broker, "report", ttl_ms=60_000)
    assert first.acquire()
    assert not Lock(broker, "report", ttl_ms=60_000).acquire()
    redis_conn.delete(first.key)  # the first holder's lock expired...
    second = Lock(broker, "report", ttl_ms=60_000)
    assert second.acquire()  # ...and another worker took it
    assert not first.release()  # the late first holder cannot free the second's lock
    assert redis_conn.get(second.key) == second.token
    assert second.release() and redis_conn.get(second.key) is None


def test_limits_and_kick_targets_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_CONCURRENCY_LIMITS", "api=2, image=4")
    monkeypatch.setenv("QUEUE_KICK_FUNCTIONS", "email=fn-email,*=fn-default")
    settings = Settings()
    assert settings.concurrency_limits == {"api": 2, "image": 4}
    assert settings.kick_functions == {"email": "fn-email", "*": "fn-default"}
    monkeypatch.setenv("QUEUE_CONCURRENCY_LIMITS", "api=two")
    with pytest.raises(ValueError, match="concurrency_limits"):
        Settings()


def test_a_job_enqueued_as_the_worker_finishes_is_run_by_it(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that lands after the worker's last empty claim, while it is still listed as running
    (so no kick), is picked up by the look the worker takes after unlisting itself."""
    service.create(NewJob(type="echo"))
    process = service.process
    late: list[Any] = []

    def process_then_enqueue(*args: Any, **kwargs: Any) -> Any:
        result = process(*args, **kwargs)
        if not late:
            late.append(service.create(NewJob(type="echo")))
        return result

    monkeypatch.setattr(service, "process", process_then_enqueue)
    summary = run(service, ["default"])
    assert summary.processed == 2 and summary.rounds == 2
    assert service.get(late[0].id).status == "completed"


def test_a_round_that_runs_nothing_ends_the_invocation(service: JobService) -> None:
    limited = make_queue(service, concurrency_limits={"api": 1})
    limited.broker.conn.hset("{rq}:inflight", "api", 1)  # another worker holds the only slot
    limited.create(NewJob(type="echo", queue="api"))
    summary = run(limited, ["api"])
    assert (summary.processed, summary.rounds) == (0, 2)


def test_worker_ticks_reconcile_when_due_and_report_it(
    service: JobService,
    redis_conn: Any,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service.create(NewJob(type="echo"))
    assert run(service, ["default"]).reconciled == {"trigger": "restart", "requeued": 0, "failed": 0, "dropped": 0}
    assert run(service, ["default"]).reconciled is None  # once per interval, for every worker
    forgotten = service.create(NewJob(type="echo"))
    redis_conn.flushall()  # Redis restarted without its data: the job record waits for nothing
    clock.advance(service.settings.reconcile_grace_seconds + 1)
    summary = run(service, ["default"])
    assert summary.reconciled == {"trigger": "restart", "requeued": 1, "failed": 0, "dropped": 0}
    assert summary.successful == 1 and service.get(forgotten.id).status == "completed"
    status = WorkerStatus(service.broker, 60).read()
    assert status["last_summary"]["reconciled"]["requeued"] == 1
    redis_conn.delete("{rq}:reconcile:due")  # the interval passed; DynamoDB is down this time

    def down(*_: Any) -> Any:
        raise StoreUnavailable()

    monkeypatch.setattr(service.store, "matching_ids", down)
    assert run(service, ["default"]).reconciled == {"trigger": "schedule", "error": "StoreUnavailable"}
    assert "reconciliation (schedule) failed" in caplog.text
