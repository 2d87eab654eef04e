"""The reconciliation routine finds and repairs records and Redis entries that disagree."""

from __future__ import annotations

import pytest
import redis

from relayq.domain.clock import from_text
from relayq.domain.models import NewJob
from relayq.redis.broker import QueueEntry, RedisBroker
from relayq.services.jobs import JobService
from relayq.services.reconcile import Reconciler
from tests.support.clock import FakeClock

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


def test_waiting_records_that_redis_forgot_are_queued_again(
    service: JobService, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    waiting = service.create(NewJob(type="echo"))
    redis_conn.flushall()  # e.g. Redis restarted without its append-only file
    reconciler = Reconciler(service, grace_seconds=60)
    assert reconciler.run().repaired == 0  # too recent: a create may still be in flight
    clock.advance(61)
    assert reconciler.run().requeued == [waiting.id]
    service.process(["default"], 5)
    assert service.get(waiting.id).status == "completed"


def test_running_records_that_redis_forgot_keep_their_attempts(
    service: JobService, broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    job = service.create(NewJob(type="echo"))
    (lease,) = broker.claim(["default"], 1)
    service.store.start(job.id, lease.token)
    redis_conn.flushall()
    clock.advance(600)
    report = Reconciler(service).run()
    assert report.requeued == [job.id]
    assert service.get(job.id).status == "queued"
    service.process(["default"], 5)
    done = service.get(job.id)
    assert done.status == "completed" and done.attempts == 2


def test_lost_on_the_last_attempt_fails(
    service: JobService, broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    job = service.create(NewJob(type="echo", max_attempts=1))
    (lease,) = broker.claim(["default"], 1)
    service.store.start(job.id, lease.token)
    redis_conn.flushall()
    clock.advance(600)
    assert Reconciler(service).run().failed == [job.id]
    assert service.get(job.id).status == "failed"


def test_redis_entries_without_a_live_record_are_dropped(
    service: JobService, broker: RedisBroker, clock: FakeClock
) -> None:
    orphan = f"job_{clock.now:012x}{'0' * 16}"
    broker.enqueue([QueueEntry(orphan, "default", 50, 30)])
    done = service.create(NewJob(type="echo"))
    service.store.cancel(done.id)  # record cancelled, Redis entry left behind
    kept = service.create(NewJob(type="echo"))
    clock.advance(600)
    report = Reconciler(service).run()
    assert sorted(report.dropped) == sorted([orphan, done.id])
    assert broker.lengths().pending == {"default": 1}
    result = service.process(["default"], 5)
    assert result.successful == 1 and service.get(kept.id).status == "completed"


def test_a_running_record_gets_its_timeout_before_it_counts_as_lost(
    service: JobService, broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    job = service.create(NewJob(type="echo", timeout=300))
    (lease,) = broker.claim(["default"], 1)
    service.store.start(job.id, lease.token)
    clock.now = from_text(service.get(job.id).updated_at)  # the start's own time, however slow the engine
    redis_conn.flushall()  # its worker may still be running it
    reconciler = Reconciler(service, grace_seconds=60)
    clock.advance(300)
    assert reconciler.run().repaired == 0
    clock.advance(61)
    assert reconciler.run().requeued == [job.id]


def test_a_delayed_record_is_restored_as_delayed(
    service: JobService, broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    job = service.create(NewJob(type="echo", delay=3600))
    redis_conn.flushall()
    clock.advance(121)
    assert Reconciler(service).run().requeued == [job.id]
    assert broker.lengths().delayed == 1 and service.process(["default"], 5).processed == 0
    clock.advance(3600)
    assert service.process(["default"], 5).successful == 1


def test_reconciliation_is_due_after_redis_lost_its_data_and_once_per_interval(
    broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock
) -> None:
    other = RedisBroker(broker.conn, "rq", clock=clock)  # another worker of the deployment
    assert broker.reconcile_due(600_000) == "restart"  # the first tick ever: nothing was seen before
    assert other.reconcile_due(600_000) is None
    clock.advance(599)
    assert broker.reconcile_due(600_000) is None
    assert 0 < redis_conn.pttl("{rq}:reconcile:due") <= 600_000  # Redis expires the mark...
    redis_conn.delete("{rq}:reconcile:due")  # ... when the interval has passed
    assert other.reconcile_due(600_000) == "schedule" and broker.reconcile_due(600_000) is None
    redis_conn.flushall()  # a restart without its append-only file
    assert other.reconcile_due(600_000) == "restart" and broker.reconcile_due(600_000) is None
    redis_conn.flushall()
    assert broker.reconcile_due(0) == "restart" and broker.reconcile_due(0) is None  # no schedule
    assert redis_conn.exists("{rq}:reconcile:due") == 0
