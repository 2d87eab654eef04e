"""The job service over real Redis and moto's DynamoDB: records and queue stay in step."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack.counting import DynamoCounter, counting_redis
from relayq.domain.errors import (
    InvalidInput,
    InvalidJobType,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
    MissingQueueName,
    PayloadTooLarge,
    RedisUnavailable,
)
from relayq.domain.hooks import Hooks
from relayq.domain.models import MAX_ATTEMPT_ERRORS, NewJob
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import RedisBroker
from relayq.services.jobs import JobService
from tests.support.clock import FakeClock
from tests.support.redis_matrix import RedisBackend

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


def new(type_: str = "echo", **fields: Any) -> NewJob:
    return NewJob(type=type_, **fields)


def test_create_applies_the_plugin_defaults(service: JobService) -> None:
    job = service.create(new(payload={"x": 1}))
    assert (job.queue, job.priority, job.max_attempts, job.timeout) == ("default", 50, 3, 300)
    assert job.status == "queued" and job.attempts == 0
    stored = service.get(job.id)
    assert stored == job
    assert stored.created_at == stored.updated_at
    assert len(stored.created_at) == 19  # "YYYY-MM-DD HH:MM:SS"


def test_job_runs_to_completion(service: JobService) -> None:
    job = service.create(new(payload={"hello": "world"}))
    result = service.process(["default"], 10)
    assert (result.processed, result.successful, result.failed) == (1, 1, 0)
    done = service.get(job.id)
    assert done.status == "completed"
    assert done.result == {"echo": {"hello": "world"}, "attempt": 1}
    assert done.attempts == 1 and done.processed_at is not None
    assert service.lengths().pending == {"default": 0}


def test_unknown_type_and_bad_payload_are_refused_with_nothing_written(
    service: JobService, redis_conn: redis.Redis
) -> None:
    with pytest.raises(InvalidJobType, match="Invalid job type 'nope'"):
        service.create(new("nope"))
    with pytest.raises(InvalidInput, match="seconds"):
        service.create(new("sleep", payload={"seconds": "soon"}))
    with pytest.raises(PayloadTooLarge, match="limit"):
        service.create(new(payload={"blob": "x" * 300_000}))
    assert service.list().total == 0
    assert redis_conn.dbsize() == 0


def test_retries_follow_the_backoff_schedule_then_fail(service: JobService, clock: FakeClock) -> None:
    job = service.create(new("flaky", max_attempts=3))
    first = service.process(["default"], 10)
    assert (first.processed, first.retried) == (1, 1)
    record = service.get(job.id)
    assert record.status == "queued" and record.attempts == 1
    assert record.error_message == "flaky failure on attempt 1"
    assert record.delay_until is not None
    clock.advance(59)
    assert service.process(["default"], 10).processed == 0  # 60 s not yet over
    clock.advance(1)
    assert service.process(["default"], 10).retried == 1  # attempt 2, next wait 300 s
    clock.advance(299)
    assert service.process(["default"], 10).processed == 0
    clock.advance(1)
    last = service.process(["default"], 10)
    assert (last.processed, last.failed, last.retried) == (1, 1, 0)
    failed = service.get(job.id)
    assert failed.status == "failed" and failed.attempts == 3 and failed.failed_at is not None
    assert failed.error_message == "flaky failure on attempt 3"


def test_a_retry_that_succeeds(service: JobService, clock: FakeClock) -> None:
    job = service.create(new("flaky", payload={"succeed_on": 2}))
    service.process(["default"], 1)
    clock.advance(60)
    service.process(["default"], 1)
    done = service.get(job.id)
    assert done.status == "completed" and done.result == {"ok": 2} and done.error_message is None


def test_the_record_keeps_the_error_and_traceback_of_every_failed_attempt(
    service: JobService, clock: FakeClock
) -> None:
    job = service.create(new("flaky", payload={"succeed_on": 3}))
    service.process(["default"], 1)
    clock.advance(60)
    service.process(["default"], 1)
    clock.advance(300)
    service.process(["default"], 1)
    done = service.get(job.id)
    assert done.status == "completed" and done.error_message is None
    assert [(e.attempt, e.error) for e in done.attempt_errors] == [
        (1, "flaky failure on attempt 1"),
        (2, "flaky failure on attempt 2"),
    ]
    for error in done.attempt_errors:
        assert error.traceback is not None
        assert "job_types.py" in error.traceback and error.traceback.endswith(f"RuntimeError: {error.error}")
        assert "^^^" not in error.traceback
    assert done.attempt_errors[1].at > done.attempt_errors[0].at


def test_the_attempt_history_is_capped(service: JobService, clock: FakeClock) -> None:
    job = service.create(new("flaky", max_attempts=MAX_ATTEMPT_ERRORS + 2))
    for _ in range(MAX_ATTEMPT_ERRORS + 2):
        service.process(["default"], 1)
        clock.advance(3600)
    failed = service.get(job.id)
    assert failed.status == "failed"
    assert [e.attempt for e in failed.attempt_errors] == list(range(3, MAX_ATTEMPT_ERRORS + 3))


def test_permanent_errors_fail_at_once(service: JobService) -> None:
    job = service.create(new("broken", max_attempts=5))
    result = service.process(["default"], 5)
    assert (result.failed, result.retried) == (1, 0)
    assert service.get(job.id).status == "failed"
    assert service.get(job.id).attempts == 1


def test_retry_after_overrides_the_schedule(service: JobService, clock: FakeClock) -> None:
    job = service.create(new("retry_after", payload={"after": 5}))
    service.process(["default"], 1)
    clock.advance(5)
    service.process(["default"], 1)
    assert service.get(job.id).attempts == 2


def test_timeout_is_enforced_and_the_worker_goes_on(service: JobService) -> None:
    slow = service.create(new("sleep", payload={"seconds": 3}, timeout=1, max_attempts=1))
    quick = service.create(new("echo"))
    result = service.process(["default"], 10)
    assert (result.processed, result.successful, result.failed) == (2, 1, 1)
    assert service.get(slow.id).status == "failed"
    assert "timed out after 1 seconds" in (service.get(slow.id).error_message or "")
    assert service.get(quick.id).status == "completed"


def test_unserialisable_result_fails_clearly(service: JobService) -> None:
    job = service.create(new("unserialisable", max_attempts=3))
    service.process(["default"], 1)
    record = service.get(job.id)
    assert record.status == "failed" and "not JSON-serialisable" in (record.error_message or "")


def test_delayed_job_runs_when_due(service: JobService, clock: FakeClock) -> None:
    job = service.create(new(delay=120))
    assert job.delay_until is not None
    assert service.process(["default"], 5).processed == 0
    clock.advance(120)
    assert service.process(["default"], 5).successful == 1
    assert service.get(job.id).status == "completed"


def test_dead_worker_lease_is_recovered(service: JobService, broker: RedisBroker, clock: FakeClock) -> None:
    job = service.create(new(timeout=30))
    (lease,) = broker.claim(["default"], 1)
    service.store.start(lease.id, lease.token)  # the worker started it, then died
    assert service.get(job.id).status == "processing"
    clock.advance(31)
    result = service.process(["default"], 5)
    assert result.recovered == 1 and result.successful == 1
    done = service.get(job.id)
    assert done.status == "completed" and done.attempts == 2


def test_lease_lost_on_last_attempt_fails_the_job(service: JobService, broker: RedisBroker, clock: FakeClock) -> None:
    job = service.create(new(timeout=10, max_attempts=1))
    (lease,) = broker.claim(["default"], 1)
    service.store.start(lease.id, lease.token)
    clock.advance(11)
    assert service.process(["default"], 5).recovered == 1
    failed = service.get(job.id)
    assert failed.status == "failed" and "Lease expired" in (failed.error_message or "")


def test_cancel_only_queued_or_failed(service: JobService) -> None:
    waiting = service.create(new())
    assert service.cancel(waiting.id).status == "cancelled"
    assert service.process(["default"], 5).processed == 0
    with pytest.raises(JobNotCancellable):
        service.cancel(waiting.id)
    done = service.create(new())
    service.process(["default"], 5)
    with pytest.raises(JobNotCancellable):
        service.cancel(done.id)
    with pytest.raises(JobNotCancellable):
        service.cancel("job_nope")
    broken = service.create(new("broken"))
    service.process(["default"], 5)
    assert service.cancel(broken.id).status == "cancelled"


def test_retry_a_failed_job(service: JobService) -> None:
    job = service.create(new("flaky", payload={"succeed_on": 1}, max_attempts=1))
    job = service.create(new("broken", max_attempts=1))
    service.process(["default"], 5)
    reopened = service.retry(job.id)
    assert reopened.status == "queued" and reopened.attempts == 0 and reopened.error_message is None
    with pytest.raises(JobNotRetryable):
        service.retry(job.id)
    service.process(["default"], 5)
    assert service.get(job.id).status == "failed"


def test_clear_cancels_the_records_of_removed_jobs(service: JobService) -> None:
    jobs = [service.create(new(queue="email")) for _ in range(3)]
    later = service.create(new(queue="email", delay=60))
    other = service.create(new(queue="default"))
    assert service.clear("email") == 4
    assert {service.get(j.id).status for j in [*jobs, later]} == {"cancelled"}
    assert service.get(other.id).status == "queued"
    with pytest.raises(MissingQueueName):
        service.clear("")
    with pytest.raises(InvalidInput):
        service.clear("bad:name")


def test_list_pages_newest_first_with_filters(service: JobService, clock: FakeClock) -> None:
    created = []
    for i in range(12):
        clock.advance(1)
        created.append(service.create(new(queue="email" if i % 2 else "default")))
    first = service.list(1, 5)
    assert (first.total, first.total_pages) == (12, 3)
    assert [j.id for j in first.jobs] == [j.id for j in reversed(created)][:5]
    third = service.list(3, 5)
    assert [j.id for j in third.jobs] == [j.id for j in reversed(created)][10:]
    email = service.list(1, 100, queue="email")
    assert email.total == 6 and all(j.queue == "email" for j in email.jobs)
    service.process(["default"], 100)
    completed = service.list(1, 100, status="completed")
    assert completed.total == 6 and all(j.queue == "default" for j in completed.jobs)
    both = service.list(1, 100, status="queued", queue="email", type="echo")
    assert both.total == 6
    assert service.list(1, 100, type="noop").total == 0
    assert service.list(9, 5).jobs == []


def test_stats_and_counts(service: JobService, clock: FakeClock) -> None:
    service.create(new())
    service.create(new(queue="email"))
    service.create(new(delay=30))
    service.create(new("broken"))
    service.process(["default"], 1)  # the broken one is later in FIFO: runs echo first
    stats = service.stats()
    assert stats["email"] == {"pending": 1, "size": 1}
    assert stats["delayed"] == {"pending": 1, "size": 1}
    assert stats["database"]["total"] == 4
    assert stats["database"]["completed"] == 1 and stats["database"]["queued"] == 3


def test_redis_down_at_enqueue_leaves_no_record(
    store: JobStore, settings: Any, registry: Any, clock: FakeClock
) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.1, retry=Retry(NoBackoff(), 0))
    broken = JobService(
        RedisBroker(dead, "rq", clock=clock), store, settings, registry=registry, hooks=Hooks(), clock=clock
    )
    with pytest.raises(RedisUnavailable):
        broken.create(new())
    assert store.list().total == 0
    health = broken.health()
    assert not health.healthy and not health.redis_connected and health.database_status


def test_get_unknown(service: JobService) -> None:
    with pytest.raises(JobNotFound):
        service.get("job_00000000000000000000000000aa")
    with pytest.raises(JobNotFound):
        service.get("../etc/passwd")


def test_two_workers_never_complete_one_job_twice(service: JobService) -> None:
    jobs = [service.create(new("sleep", payload={"seconds": 0.01})) for _ in range(40)]
    completions: list[str] = []
    service.hooks.on("after_job", lambda job, result: completions.append(job.id))
    threads = [threading.Thread(target=service.process, args=(["default"], 40)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(completions) == sorted(j.id for j in jobs)
    assert {service.get(j.id).status for j in jobs} == {"completed"}


def test_conditional_transitions_refuse_stale_attempts(
    service: JobService, broker: RedisBroker, clock: FakeClock
) -> None:
    job = service.create(new(timeout=5))
    (old,) = broker.claim(["default"], 1)
    service.store.start(job.id, old.token)
    clock.advance(6)
    assert service.processor.recover_expired() == 1
    (new_lease,) = broker.claim(["default"], 1)
    assert service.store.start(job.id, new_lease.token).attempts == 2
    from relayq.domain.errors import TransitionRefused

    with pytest.raises(TransitionRefused):
        service.store.complete(job.id, old.token, "late")
    with pytest.raises(TransitionRefused):
        service.store.start(job.id, old.token)
    assert service.store.complete(job.id, new_lease.token, "ok").result == "ok"


def test_bulk_create(service: JobService, dynamodb: Any) -> None:
    counter = DynamoCounter(dynamodb)
    jobs = service.create_many([new(payload={"i": i}) for i in range(60)])
    assert counter.calls["BatchWriteItem"] == 3 and counter.total == 3
    assert service.lengths().pending == {"default": 60}
    assert service.list(1, 100).total == 60
    assert {service.get(j.id).payload["i"] for j in jobs} == set(range(60))


@pytest.mark.redis_engines("plain")  # counts a plain client's round trips
def test_round_trips_per_job(
    redis_backend: RedisBackend, store: JobStore, settings: Any, registry: Any, dynamodb: Any
) -> None:
    counting = counting_redis(redis_backend.login_url)
    q = JobService(RedisBroker(counting, "rq"), store, settings, registry=registry, hooks=Hooks())
    q.create(new())
    q.process(["default"], 10)  # warm: scripts loaded
    counter = DynamoCounter(dynamodb)
    counting.round_trips = 0
    q.create(new())
    create_trips = counting.round_trips
    q.process(["default"], 10)
    # A job costs enqueue, claim, finish; a batch adds promote, recover and its last, empty claim.
    assert create_trips == 1
    assert counting.round_trips - create_trips == 2 + 3
    assert counter.calls == {"PutItem": 1, "UpdateItem": 2}
