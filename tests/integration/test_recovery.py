"""Jobs never stay queued or processing for nothing: an expired lease brings the record in line
whatever state it is in, a retried job is queued again whatever Redis still holds, and only an
attempt that really started counts (over real Redis and moto's DynamoDB)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import redis
from botocore.config import Config

from relayq.domain.errors import RedisUnavailable, StoreUnavailable, TransitionRefused
from relayq.domain.hooks import Hooks
from relayq.domain.models import Job, NewJob
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import QueueEntry, RedisBroker
from relayq.services.jobs import JobService, queue_entry
from relayq.settings import Settings
from tests.support.clock import FakeClock
from tests.support.faults import FaultyScripts, Throttle, starts

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


@pytest.fixture
def client(dynamodb: Any) -> Any:
    """A DynamoDB client without retries: one throttled request is a request past them."""
    return boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def scripts(broker: RedisBroker) -> FaultyScripts:
    broker.scripts = FaultyScripts(broker.conn)
    return broker.scripts


@pytest.fixture
def jobs(broker: RedisBroker, client: Any, settings: Settings, registry: JobRegistry, clock: FakeClock) -> JobService:
    store = JobStore(client, settings.jobs_table, clock=clock)
    return JobService(broker, store, settings, registry=registry, hooks=Hooks(), clock=clock)


def runs_of(jobs: JobService) -> list[str]:
    """The ids of the jobs whose handler was started, in order."""
    started: list[str] = []
    jobs.hooks.on("before_job", lambda job: started.append(job.id))
    return started


def settled(jobs: JobService, clock: FakeClock, job: Job) -> Job:
    """The record once the queue has nothing left to do for it: leases run out, all processed."""
    for _ in range(5):
        clock.advance(job.timeout + 1)
        jobs.process([job.queue], 10)
    return jobs.get(job.id)


def in_redis(jobs: JobService, job_id: str) -> bool:
    return jobs.broker.presence([job_id])[job_id]


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_a_start_throttled_past_the_retries_spends_no_attempt(
    jobs: JobService, client: Any, scripts: FaultyScripts, clock: FakeClock, max_attempts: int
) -> None:
    job = jobs.create(NewJob(type="echo", max_attempts=max_attempts, timeout=10))
    started = runs_of(jobs)
    with Throttle(client, starts, hook="before-call") as throttle, pytest.raises(StoreUnavailable):
        jobs.process(["default"], 5)
    assert throttle.throttled == ["UpdateItem"] and jobs.get(job.id).status == "queued"
    done = settled(jobs, clock, job)
    assert (done.status, done.attempts, started) == ("completed", 1, [job.id])
    assert not in_redis(jobs, job.id)


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_a_claim_whose_reply_was_lost_spends_no_attempt(
    jobs: JobService, scripts: FaultyScripts, clock: FakeClock, max_attempts: int
) -> None:
    job = jobs.create(NewJob(type="echo", max_attempts=max_attempts, timeout=10))
    scripts.lose("claim")
    with pytest.raises(RedisUnavailable):
        jobs.process(["default"], 5)
    assert jobs.broker.lengths().processing == 1  # leased, and no worker knows it
    done = settled(jobs, clock, job)
    assert (done.status, done.attempts) == ("completed", 1)
    assert not in_redis(jobs, job.id)


def test_retry_of_a_failed_job_whose_finish_failed_runs_it_again(
    jobs: JobService, scripts: FaultyScripts, clock: FakeClock
) -> None:
    job = jobs.create(NewJob(type="broken", max_attempts=1, timeout=10))
    scripts.fail("finish")
    with pytest.raises(RedisUnavailable):
        jobs.process(["default"], 5)
    assert jobs.get(job.id).status == "failed" and jobs.broker.lengths().processing == 1  # a stale lease
    started = runs_of(jobs)
    reopened = jobs.retry(job.id)
    assert (reopened.status, reopened.attempts) == ("queued", 0)
    assert jobs.process(["default"], 5).processed == 1, "queued again at once, not after the stale lease"
    failed = settled(jobs, clock, job)
    assert (failed.status, failed.attempts, failed.error_message) == ("failed", 1, "cannot ever work")
    assert started == [job.id] and not in_redis(jobs, job.id)


def test_a_late_start_of_an_expired_claim_is_refused_and_one_worker_completes(
    jobs: JobService, clock: FakeClock
) -> None:
    job = jobs.create(NewJob(type="echo", timeout=10))
    (late,) = jobs.broker.claim(["default"], 1)  # its start is slow to arrive
    clock.advance(11)
    assert jobs.processor.recover_expired() == 1  # record queued: given back, no attempt spent
    (live,) = jobs.broker.claim(["default"], 1)
    assert live.token > late.token
    jobs.store.start(job.id, live.token)
    with pytest.raises(TransitionRefused):
        jobs.store.start(job.id, late.token)
    assert jobs.processor.run_one(late).status == "skipped"
    done = jobs.store.complete(job.id, live.token, "ok")
    assert (done.status, done.attempts) == ("completed", 1)


def test_a_late_start_that_lands_first_is_taken_over_and_cannot_complete(jobs: JobService, clock: FakeClock) -> None:
    job = jobs.create(NewJob(type="echo", timeout=10))
    (late,) = jobs.broker.claim(["default"], 1)
    clock.advance(11)
    jobs.processor.recover_expired()
    jobs.store.start(job.id, late.token)  # lands after its lease expired: it runs, unleased
    (live,) = jobs.broker.claim(["default"], 1)
    assert jobs.store.start(job.id, live.token).attempts == 2  # both really ran
    with pytest.raises(TransitionRefused):
        jobs.store.complete(job.id, late.token, "late")
    assert jobs.store.complete(job.id, live.token, "ok").result == "ok"


def test_no_start_past_max_attempts_and_the_abandoned_last_attempt_fails(jobs: JobService) -> None:
    job = jobs.create(NewJob(type="echo", timeout=10, max_attempts=1))
    (first,) = jobs.broker.claim(["default"], 1)
    jobs.store.start(job.id, first.token)
    jobs.broker.retry(first, 0)  # Redis gave it back but the record still says processing
    (second,) = jobs.broker.claim(["default"], 1)
    assert jobs.processor.run_one(second).status == "skipped"
    failed = jobs.get(job.id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error_message == "Lease expired: the worker died or overran on the last attempt (1 of 1)"
    assert not in_redis(jobs, job.id)


def test_a_queued_record_with_no_attempts_left_fails_clearly(jobs: JobService) -> None:
    job, _ = jobs.build(NewJob(type="echo", timeout=10, max_attempts=2))
    # As written before attempts counted only starts: two claims, none started, the counter at 2.
    jobs.store.put_new(job.model_copy(update={"attempts": 2}))
    jobs.broker.enqueue([queue_entry(job, 0)])
    (lease,) = jobs.broker.claim(["default"], 1)
    assert jobs.processor.run_one(lease).status == "skipped"
    failed = jobs.get(job.id)
    assert failed.status == "failed"
    assert failed.error_message == "No attempts left (2 of 2 used); its last claim never started it"
    assert not in_redis(jobs, job.id)


def test_redis_tokens_behind_the_record_are_raised_past_it(
    jobs: JobService, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    job = jobs.create(NewJob(type="flaky", payload={"succeed_on": 2}, timeout=10))
    jobs.process(["default"], 1)  # attempt 1 fails and waits for its retry
    assert jobs.get(job.id).fence == 1
    redis_conn.flushall()  # Redis lost everything, then an old entry comes back with token 0
    jobs.broker.enqueue([QueueEntry(job.id, "default", 50, 10)])
    (behind,) = jobs.broker.claim(["default"], 1)
    assert behind.token == 1
    assert jobs.processor.run_one(behind).status == "skipped"  # start refused: the record saw 1
    clock.advance(60)  # its retry's backoff
    assert jobs.process(["default"], 5).successful == 1
    done = jobs.get(job.id)
    assert (done.attempts, done.fence) == (2, 2)


def test_a_newer_attempt_keeps_its_lease_when_an_older_claim_is_refused(jobs: JobService) -> None:
    job = jobs.create(NewJob(type="echo", timeout=10))
    (lease,) = jobs.broker.claim(["default"], 1)
    jobs.store.start(job.id, lease.token + 5)  # a start Redis does not know of (it lost claims)
    assert jobs.processor.settle(lease) == "held"
    assert jobs.get(job.id).status == "processing" and jobs.broker.lengths().processing == 1


def test_recovery_without_dynamodb_keeps_the_lease_for_the_next_one(
    jobs: JobService, client: Any, scripts: FaultyScripts, clock: FakeClock
) -> None:
    job = jobs.create(NewJob(type="echo", timeout=10))
    jobs.broker.claim(["default"], 1)  # its worker died
    clock.advance(11)
    with Throttle(client, lambda operation, _: operation == "BatchGetItem", hook="before-call"):
        assert jobs.processor.recover_expired() == 1
    assert jobs.get(job.id).status == "queued" and jobs.broker.lengths().processing == 1
    done = settled(jobs, clock, job)
    assert (done.status, done.attempts) == ("completed", 1)


@pytest.mark.parametrize("where", ["pending", "leased", "gone"])
def test_retry_puts_the_job_back_whatever_redis_holds(jobs: JobService, scripts: FaultyScripts, where: str) -> None:
    job = jobs.create(NewJob(type="broken", max_attempts=1, timeout=10))
    (lease,) = jobs.broker.claim(["default"], 1)
    jobs.store.start(job.id, lease.token)
    jobs.store.fail(job.id, lease.token, "failed, then Redis could not be told", history=[])
    if where == "pending":
        jobs.broker.retry(lease, 0)
    elif where == "gone":
        jobs.broker.finish(lease)
    started = runs_of(jobs)
    jobs.retry(job.id)
    assert jobs.broker.lengths().pending == {"default": 1} and jobs.broker.lengths().processing == 0
    assert jobs.process(["default"], 5).processed == 1
    assert started == [job.id] and not in_redis(jobs, job.id)
    assert jobs.broker.finish(lease) is False  # the stale lease's holder can change nothing


def test_a_retry_whose_redis_half_failed_keeps_its_backoff(
    jobs: JobService, scripts: FaultyScripts, clock: FakeClock
) -> None:
    job = jobs.create(NewJob(type="flaky", payload={"succeed_on": 2}, timeout=10))
    scripts.fail("retry")
    with pytest.raises(RedisUnavailable):
        jobs.process(["default"], 1)  # attempt 1 failed: recorded as queued for 60 s, Redis not told
    assert jobs.get(job.id).delay_until is not None
    clock.advance(11)
    assert jobs.process(["default"], 5).processed == 0  # the lease is recovered into the delayed set
    assert jobs.broker.lengths().delayed == 1
    clock.advance(60)
    assert jobs.process(["default"], 5).successful == 1 and jobs.get(job.id).attempts == 2
