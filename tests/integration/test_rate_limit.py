"""Per-token per-minute limit in a real Redis: reached, per token, reset with the next minute."""

from __future__ import annotations

import redis

from devstack.counting import counting_redis
from devstack.redis_server import RedisServer
from relayq.redis.rate_limit import RateLimiter
from tests.support.clock import FakeClock


def test_limit_reached_then_reset_in_the_next_window(redis_conn: redis.Redis) -> None:
    clock = FakeClock(start_ms=1_700_000_000_000 - 1_700_000_000_000 % 60_000 + 50_000)  # 50 s into a minute
    limiter = RateLimiter(redis_conn, "rq", clock=clock)
    decisions = [limiter.hit("tok_a", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after == 10
    assert limiter.hit("tok_b", 3).allowed  # budgets are per token
    clock.advance(10)
    assert limiter.hit("tok_a", 3).allowed
    assert all(redis_conn.pttl(key) > 0 for key in redis_conn.keys("{rq}:ratelimit:*"))


def test_one_round_trip_per_call(redis_server: RedisServer) -> None:
    conn = counting_redis(redis_server.url)
    limiter = RateLimiter(conn, "rq")
    limiter.hit("tok_a", 60)
    limiter.hit("tok_a", 60)
    assert conn.round_trips == 2
