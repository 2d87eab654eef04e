"""Per-token calls per minute, counted in Redis (fixed one-minute windows).

One round trip per call: INCR and PEXPIRE of the window's key in one script (lua/rate_hit.lua), so
the counter never lives without an expiry and every API container shares the same count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from relayq.domain.clock import now_ms
from relayq.redis.connection import RedisConnection
from relayq.redis.keys import Keys
from relayq.redis.scripts import Scripts

WINDOW_MS = 60_000


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


class RateLimiter:
    def __init__(self, conn: RedisConnection, prefix: str, *, clock: Callable[[], int] = now_ms) -> None:
        self.scripts = Scripts(conn)
        self.keys = Keys(prefix)
        self.clock = clock

    def hit(self, subject: str, limit: int) -> RateDecision:
        """Count one call of ``subject`` (a token id) and say whether it is within ``limit``."""
        now = self.clock()
        window = now // WINDOW_MS
        key = self.keys.named("ratelimit", f"{subject}:{window}")
        count = int(self.scripts.run("rate_hit", [key], [WINDOW_MS * 2]))
        retry_after = max(1, -(-((window + 1) * WINDOW_MS - now) // 1000))
        return RateDecision(count <= limit, limit, max(0, limit - count), retry_after)
