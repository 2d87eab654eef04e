"""The Redis half of the queue against a real redis-server: order, delays, leases, limits."""

from __future__ import annotations

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.counting import counting_redis
from devstack.redis_server import RedisServer
from relayq.redis_queue import Lease, QueueEntry, RedisQueue
from tests.support.clock import FakeClock


def entry(i: int, *, queue: str = "default", priority: int = 50, due_ms: int = 0, timeout: int = 30) -> QueueEntry:
    return QueueEntry(f"job_{i:028x}", queue, priority, timeout, 3, due_ms)


def test_priority_then_fifo(rqueue: RedisQueue) -> None:
    rqueue.enqueue([entry(1, priority=50), entry(2, priority=10), entry(3, priority=50), entry(4, priority=0)])
    claimed = [lease.id for lease in rqueue.claim(["default"], 10)]
    assert claimed == [entry(4).id, entry(2).id, entry(1).id, entry(3).id]


def test_claim_merges_queues_by_priority_and_age(rqueue: RedisQueue) -> None:
    rqueue.enqueue([entry(1, queue="email", priority=20), entry(2, queue="default", priority=10)])
    rqueue.enqueue([entry(3, queue="email", priority=10)])
    assert [lease.id for lease in rqueue.claim(["default", "email"], 2)] == [entry(2).id, entry(3).id]
    assert [lease.id for lease in rqueue.claim(["default", "email"], 2)] == [entry(1).id]


def test_enqueue_same_id_twice_adds_once(rqueue: RedisQueue) -> None:
    assert rqueue.enqueue([entry(1)]) == 1
    assert rqueue.enqueue([entry(1)]) == 0
    assert rqueue.lengths().pending == {"default": 1}


def test_delayed_jobs_wait_until_due(rqueue: RedisQueue, clock: FakeClock) -> None:
    rqueue.enqueue([entry(1, due_ms=clock.now + 60_000), entry(2)])
    assert rqueue.promote_due() == 0
    assert [lease.id for lease in rqueue.claim(["default"], 5)] == [entry(2).id]
    clock.advance(61)
    assert rqueue.promote_due() == 1
    assert [lease.id for lease in rqueue.claim(["default"], 5)] == [entry(1).id]


def test_claim_counts_attempts_and_fences_writes(rqueue: RedisQueue, clock: FakeClock) -> None:
    rqueue.enqueue([entry(1, timeout=10)])
    (first,) = rqueue.claim(["default"], 1)
    assert first.attempt == 1
    clock.advance(11)
    recovered = rqueue.recover_expired()
    assert [(r.id, r.outcome) for r in recovered] == [(first.id, "retry")]
    (second,) = rqueue.claim(["default"], 1)
    assert second.attempt == 2
    # The dead worker's late answer is refused; the live one's is taken.
    assert rqueue.finish(first) is False
    assert rqueue.finish(second) is True
    assert rqueue.lengths().processing == 0


def test_lease_expiry_on_last_attempt_drops_the_job(rqueue: RedisQueue, clock: FakeClock) -> None:
    rqueue.enqueue([QueueEntry("job_" + "a" * 28, "default", 50, 5, 1)])
    rqueue.claim(["default"], 1)
    clock.advance(6)
    assert [r.outcome for r in rqueue.recover_expired()] == ["failed"]
    assert rqueue.claim(["default"], 1) == []


def test_retry_later_goes_through_delayed(rqueue: RedisQueue, clock: FakeClock) -> None:
    rqueue.enqueue([entry(1)])
    (lease,) = rqueue.claim(["default"], 1)
    assert rqueue.retry(lease, clock.now + 60_000)
    assert rqueue.claim(["default"], 1) == []
    clock.advance(60)
    rqueue.promote_due()
    (again,) = rqueue.claim(["default"], 1)
    assert again.attempt == 2


def test_per_queue_limit_of_jobs_in_flight(rqueue: RedisQueue) -> None:
    rqueue.enqueue([entry(i, queue="api") for i in range(5)])
    first = rqueue.claim(["api"], 5, {"api": 2})
    assert len(first) == 2
    assert rqueue.claim(["api"], 5, {"api": 2}) == []
    rqueue.finish(first[0])
    assert len(rqueue.claim(["api"], 5, {"api": 2})) == 1


def test_claim_leaves_jobs_whose_timeout_does_not_fit(rqueue: RedisQueue) -> None:
    rqueue.enqueue([entry(1, timeout=600), entry(2, timeout=20)])
    assert [lease.id for lease in rqueue.claim(["default"], 5, max_timeout=60)] == [entry(2).id]
    assert rqueue.lengths().pending == {"default": 1}


def test_cancel_and_clear(rqueue: RedisQueue, clock: FakeClock) -> None:
    rqueue.enqueue([entry(1), entry(2), entry(3, due_ms=clock.now + 5000), entry(4, queue="other")])
    assert rqueue.cancel(entry(1).id) is True
    assert rqueue.cancel(entry(1).id) is False
    assert sorted(rqueue.clear("default")) == sorted([entry(2).id, entry(3).id])
    lengths = rqueue.lengths()
    assert lengths.pending == {"default": 0, "other": 1}
    assert lengths.delayed == 0


def test_cancel_leaves_jobs_in_flight(rqueue: RedisQueue) -> None:
    rqueue.enqueue([entry(1)])
    (lease,) = rqueue.claim(["default"], 1)
    assert rqueue.cancel(lease.id) is False
    assert rqueue.finish(lease) is True


def test_unsafe_queue_names_are_refused(rqueue: RedisQueue, redis_conn: redis.Redis) -> None:
    for name in ["a}:b", "x:y", "", "a b", "{rq}"]:
        try:
            rqueue.enqueue([entry(1, queue=name)])
        except ValueError:
            continue
        raise AssertionError(f"queue name {name!r} was accepted")
    assert redis_conn.dbsize() == 0


def test_keys_share_one_hash_tag(rqueue: RedisQueue, redis_conn: redis.Redis, clock: FakeClock) -> None:
    rqueue.enqueue([entry(1), entry(2, queue="email", due_ms=clock.now + 1000)])
    rqueue.claim(["default"], 1)
    assert all(str(key).startswith("{rq}:") for key in redis_conn.keys("*"))


def test_one_round_trip_per_step(redis_server: RedisServer, redis_conn: redis.Redis, clock: FakeClock) -> None:
    counting = counting_redis(redis_server.url)
    q = RedisQueue(counting, "rq", clock=clock)
    q.enqueue([entry(0)])  # the first call of a script also loads it (EVALSHA miss + EVAL)
    q.finish(q.claim(["default"], 1)[0])
    counting.round_trips = 0
    q.enqueue([entry(i) for i in range(1, 101)])
    leases = q.claim(["default"], 100)
    for lease in leases:
        q.finish(lease)
    q.lengths(["default"])
    assert len(leases) == 100
    assert counting.round_trips == 1 + 1 + 100 + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=40))
def test_claim_order_is_priority_then_insertion(redis_conn: redis.Redis, priorities: list[int]) -> None:
    redis_conn.flushall()
    q = RedisQueue(redis_conn, "prop", clock=FakeClock())
    entries = [entry(i, priority=p) for i, p in enumerate(priorities)]
    for e in entries:
        q.enqueue([e])
    claimed = [lease.id for lease in q.claim(["default"], len(entries))]
    expected = [e.id for e in sorted(entries, key=lambda e: (e.priority, int(e.id[4:], 16)))]
    assert claimed == expected


def test_finish_of_unknown_lease_is_refused(rqueue: RedisQueue) -> None:
    assert rqueue.finish(Lease("job_" + "0" * 28, 1)) is False
