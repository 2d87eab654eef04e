"""The Redis half of the queue against a real redis-server: order, delays, leases, limits."""

from __future__ import annotations

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.counting import counting_redis
from relayq.redis.broker import Lease, QueueEntry, RedisBroker
from tests.support.clock import FakeClock
from tests.support.redis_matrix import RedisBackend

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


def entry(i: int, *, queue: str = "default", priority: int = 50, due_ms: int = 0, timeout: int = 30) -> QueueEntry:
    return QueueEntry(f"job_{i:028x}", queue, priority, timeout, due_ms=due_ms)


def test_priority_then_fifo(broker: RedisBroker) -> None:
    broker.enqueue([entry(1, priority=50), entry(2, priority=10), entry(3, priority=50), entry(4, priority=0)])
    claimed = [lease.id for lease in broker.claim(["default"], 10)]
    assert claimed == [entry(4).id, entry(2).id, entry(1).id, entry(3).id]


def test_claim_merges_queues_by_priority_and_age(broker: RedisBroker) -> None:
    broker.enqueue([entry(1, queue="email", priority=20), entry(2, queue="default", priority=10)])
    broker.enqueue([entry(3, queue="email", priority=10)])
    assert [lease.id for lease in broker.claim(["default", "email"], 2)] == [entry(2).id, entry(3).id]
    assert [lease.id for lease in broker.claim(["default", "email"], 2)] == [entry(1).id]


def test_enqueue_same_id_twice_adds_once(broker: RedisBroker) -> None:
    assert broker.enqueue([entry(1)]) == 1
    assert broker.enqueue([entry(1)]) == 0
    assert broker.lengths().pending == {"default": 1}


def test_delayed_jobs_wait_until_due(broker: RedisBroker, clock: FakeClock) -> None:
    broker.enqueue([entry(1, due_ms=clock.now + 60_000), entry(2)])
    assert broker.promote_due() == 0
    assert [lease.id for lease in broker.claim(["default"], 5)] == [entry(2).id]
    clock.advance(61)
    assert broker.promote_due() == 1
    assert [lease.id for lease in broker.claim(["default"], 5)] == [entry(1).id]


def test_every_lease_gets_a_higher_token_that_fences_writes(broker: RedisBroker, clock: FakeClock) -> None:
    broker.enqueue([entry(1, timeout=10)])
    (first,) = broker.claim(["default"], 1)
    assert first.token == 1
    clock.advance(11)
    (recovered,) = broker.recover_expired()
    assert recovered == Lease(first.id, 2)
    assert broker.retry(recovered, 0)  # its record says it may run again
    (second,) = broker.claim(["default"], 1)
    assert second.token == 3
    # The dead worker's late answer is refused; the live one's is taken.
    assert broker.finish(first) is False
    assert broker.finish(recovered) is False
    assert broker.finish(second) is True
    assert broker.lengths().processing == 0


def test_recovery_holds_an_expired_lease_until_it_gives_it_back(broker: RedisBroker, clock: FakeClock) -> None:
    broker.enqueue([QueueEntry("job_" + "a" * 28, "default", 50, 5)])
    broker.claim(["default"], 1)
    clock.advance(6)
    (recovered,) = broker.recover_expired()
    assert broker.claim(["default"], 1) == [] and broker.lengths().processing == 1
    assert broker.recover_expired() == []  # leased to the recovery for the job's timeout
    clock.advance(6)  # the recovery died before it gave the job back: its lease expires in turn
    (again,) = broker.recover_expired()
    assert again.token == recovered.token + 1
    assert broker.retry(recovered, 0) is False
    assert broker.finish(again) is True and broker.lengths().processing == 0


def test_retry_later_goes_through_delayed(broker: RedisBroker, clock: FakeClock) -> None:
    broker.enqueue([entry(1)])
    (lease,) = broker.claim(["default"], 1)
    assert broker.retry(lease, clock.now + 60_000)
    assert broker.claim(["default"], 1) == []
    clock.advance(60)
    broker.promote_due()
    (again,) = broker.claim(["default"], 1)
    assert again.token == 2


def test_per_queue_limit_of_jobs_in_flight(broker: RedisBroker) -> None:
    broker.enqueue([entry(i, queue="api") for i in range(5)])
    first = broker.claim(["api"], 5, {"api": 2})
    assert len(first) == 2
    assert broker.claim(["api"], 5, {"api": 2}) == []
    broker.finish(first[0])
    assert len(broker.claim(["api"], 5, {"api": 2})) == 1


def test_claim_leaves_jobs_whose_timeout_does_not_fit(broker: RedisBroker) -> None:
    broker.enqueue([entry(1, timeout=600), entry(2, timeout=20)])
    assert [lease.id for lease in broker.claim(["default"], 5, max_timeout=60)] == [entry(2).id]
    assert broker.lengths().pending == {"default": 1}


def test_cancel_and_clear(broker: RedisBroker, clock: FakeClock) -> None:
    broker.enqueue([entry(1), entry(2), entry(3, due_ms=clock.now + 5000), entry(4, queue="other")])
    assert broker.cancel(entry(1).id) is True
    assert broker.cancel(entry(1).id) is False
    assert sorted(broker.clear("default")) == sorted([entry(2).id, entry(3).id])
    lengths = broker.lengths()
    assert lengths.pending == {"default": 0, "other": 1}
    assert lengths.delayed == 0


def test_cancel_leaves_jobs_in_flight(broker: RedisBroker) -> None:
    broker.enqueue([entry(1)])
    (lease,) = broker.claim(["default"], 1)
    assert broker.cancel(lease.id) is False
    assert broker.finish(lease) is True


def test_unsafe_queue_names_are_refused(broker: RedisBroker, redis_conn: redis.Redis) -> None:
    for name in ["a}:b", "x:y", "", "a b", "{rq}"]:
        try:
            broker.enqueue([entry(1, queue=name)])
        except ValueError:
            continue
        raise AssertionError(f"queue name {name!r} was accepted")
    assert redis_conn.dbsize() == 0


def test_keys_share_one_hash_tag(broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock) -> None:
    broker.enqueue([entry(1), entry(2, queue="email", due_ms=clock.now + 1000)])
    broker.claim(["default"], 1)
    assert all(str(key).startswith("{rq}:") for key in redis_conn.keys("*"))


@pytest.mark.redis_engines("plain")  # counts a plain client's round trips
def test_one_round_trip_per_step(redis_backend: RedisBackend, clock: FakeClock) -> None:
    counting = counting_redis(redis_backend.login_url)
    q = RedisBroker(counting, "rq", clock=clock)
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
def test_claim_order_is_priority_then_insertion(
    redis_conn: redis.Redis, layer_conn: redis.Redis, priorities: list[int]
) -> None:
    redis_conn.flushall()
    q = RedisBroker(layer_conn, "rq", clock=FakeClock())
    entries = [entry(i, priority=p) for i, p in enumerate(priorities)]
    for e in entries:
        q.enqueue([e])
    claimed = [lease.id for lease in q.claim(["default"], len(entries))]
    expected = [e.id for e in sorted(entries, key=lambda e: (e.priority, int(e.id[4:], 16)))]
    assert claimed == expected


def test_finish_of_unknown_lease_is_refused(broker: RedisBroker) -> None:
    assert broker.finish(Lease("job_" + "0" * 28, 1)) is False
