"""One cron run at a time: a lock with expiry, a cooldown between runs, and a queued mark that
makes duplicate deferred triggers join the run already waiting. Each step is one Lua script."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from relayq.domain.clock import now_ms, to_text
from relayq.domain.errors import CronRateLimited, CronRunInProgress
from relayq.redis.connection import RedisConnection
from relayq.redis.keys import Keys
from relayq.redis.scripts import Scripts

# A queued run not picked up within this time stops holding off new triggers (no worker ran).
QUEUED_MARK_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class Admission:
    outcome: Literal["admitted", "coalesced"]
    run_id: str


class CronGuard:
    def __init__(self, conn: RedisConnection, prefix: str, *, lock_seconds: int, cooldown_seconds: int) -> None:
        keys = Keys(prefix)
        self.lock, self.queued, self.cooldown = (keys.named("cron", k) for k in ("lock", "queued", "cooldown"))
        self.lock_ms = lock_seconds * 1000
        self.cooldown_s = cooldown_seconds
        self.scripts = Scripts(conn)

    def admit(self, mode: Literal["sync", "defer"], run_id: str) -> Admission:
        """Let a run in (sync: take the lock; defer: mark it queued) or raise why not."""
        keys = [self.lock, self.queued, self.cooldown]
        answer = self.scripts.run("cron_admit", keys, [mode, run_id, self.lock_ms, QUEUED_MARK_MS])
        outcome = answer[0]
        if outcome == "locked":
            raise CronRunInProgress()
        if outcome == "rate_limited":
            left_ms, now = int(answer[1]), now_ms()
            retry_after = max(1, -(-left_ms // 1000))
            last_run_ms = now - max(0, self.cooldown_s * 1000 - left_ms)
            raise CronRateLimited(retry_after, self.cooldown_s, last_run_ms // 1000, to_text(now))
        return Admission(outcome, answer[1])

    def hold(self, run_id: str) -> int:
        """Take or extend the lock for this run; 0 when held, else ms until the other run's lock ends."""
        return int(self.scripts.run("cron_hold", [self.lock, self.queued], [run_id, self.lock_ms]))

    def release(self, run_id: str, *, cooldown: bool) -> None:
        cooldown_ms = self.cooldown_s * 1000 if cooldown else 0
        self.scripts.run("cron_release", [self.lock, self.queued, self.cooldown], [run_id, cooldown_ms])
