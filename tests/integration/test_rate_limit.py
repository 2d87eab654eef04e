"""Per-token per-minute limit in a real Redis: reached, per token, reset with the next minute."""

from __future__ import annotations

import pytest
import redis

from devstack.counting import counting_redis
from relayq.redis.rate_limit import RateLimiter
from tests.support.clock import FakeClock
from tests.support.redis_matrix import RedisBackend

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


def test_limit_reached_then_reset_in_the_next_window(redis_conn: redis.Redis, layer_conn: redis.Redis) -> None:
    clock = FakeClock(start_ms=1_700_000_000_000 - 1_700_000_000_000 % 60_000 + 50_000)  # 50 s into a minute
    limiter = RateLimiter(layer_conn, "rq", clock=clock)
    decisions = [limiter.hit("tok_a", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after == 10
    assert limiter.hit("tok_b", 3).allowed  # budgets are per token
    clock.advance(10)
    assert limiter.hit("tok_a", 3).allowed
    assert all(redis_conn.pttl(key) > 0 for key in redis_conn.keys("{rq}:ratelimit:*"))


@pytest.mark.redis_engines("plain")  # counts a plain client's round trips
def test_one_round_trip_per_call(redis_backend: RedisBackend) -> None:
    conn = counting_redis(redis_backend.login_url)
    limiter = RateLimiter(conn, "rq")
    limiter.hit("tok_a", 60)  # the first call of the script also loads it
    conn.round_trips = 0
    limiter.hit("tok_a", 60)
    limiter.hit("tok_a", 60)
    assert conn.round_trips == 2
