"""What workers are doing, kept in Redis with expiry: who runs now on which queues, when a worker
last ran, the most recent jobs and per-queue throughput. ``WorkerStatus.read()`` gives the contract's
``GET /workers/status`` data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from relayq.domain.clock import to_text
from relayq.domain.outcomes import Outcome
from relayq.redis.broker import RedisBroker

RECENT_JOBS = 50
KEEP_DURATIONS = 1000
# Throughput windows reported by the status (minutes).
WINDOWS = (1, 5, 60)
# The contract's ``recent_jobs`` count covers this many minutes.
RECENT_MINUTES = 60


def outcome_entries(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Finished attempts (completed, retry, failed) in the form ``record_jobs.lua`` stores."""
    return [
        {"id": o.job_id, "type": o.job.type, "queue": o.job.queue, "status": o.status, "ms": round(o.duration_ms, 3)}
        for o in outcomes
        if o.job is not None and o.status in ("completed", "retry", "failed")
    ]


class WorkerStatus:
    def __init__(self, broker: RedisBroker, ttl_seconds: int) -> None:
        self.broker = broker
        self.keys = broker.keys
        self.ttl = ttl_seconds

    def _keys(self) -> list[str]:
        return [self.keys.named("workers", "running"), self.keys.named("workers", "status")]

    def begin(self, invocation: str, queues: Sequence[str], deadline_ms: int) -> None:
        args = [invocation, deadline_ms, self.broker.clock(), self.ttl, json.dumps(list(queues)), self.keys.tag]
        self.broker.scripts.run("worker_begin", self._keys(), args)

    def end(self, invocation: str, queues: Sequence[str], summary: dict[str, Any]) -> None:
        args = [invocation, self.broker.clock(), self.ttl, json.dumps(summary), json.dumps(list(queues)), self.keys.tag]
        self.broker.scripts.run("worker_end", self._keys(), args)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        entries = outcome_entries(outcomes)
        if not entries:
            return
        keys = [self.keys.named("metrics", "counters"), self.keys.named("workers", "recent")]
        args = [self.keys.tag, self.broker.clock(), self.ttl, RECENT_JOBS, KEEP_DURATIONS, json.dumps(entries)]
        self.broker.scripts.run("record_jobs", keys, args)

    def read(self) -> dict[str, Any]:
        """The contract's fields (``last_run``, ``processing``, ``recent_jobs``) and more detail."""
        now = self.broker.clock()
        minute = now // 60_000
        conn = self.broker.conn
        pipe = conn.pipeline(transaction=False)
        pipe.hgetall(self.keys.named("workers", "status"))
        pipe.zrangebyscore(self.keys.named("workers", "running"), now, "+inf")
        pipe.lrange(self.keys.named("workers", "recent"), 0, RECENT_JOBS - 1)
        for m in range(max(WINDOWS)):
            pipe.hgetall(self.keys.named("throughput", str(minute - m)))
        status, running, recent, *minutes = pipe.execute()
        throughput: dict[str, dict[str, int]] = {}
        for age, counts in enumerate(minutes):
            for queue_name, count in counts.items():
                per_queue = throughput.setdefault(queue_name, {f"last_{w}m": 0 for w in WINDOWS})
                for window in WINDOWS:
                    if age < window:
                        per_queue[f"last_{window}m"] += int(count)
        jobs = [json.loads(item) for item in recent]
        for job in jobs:
            job["finished_at"] = to_text(int(job.pop("at")))
        last_run = int(status["last_run"]) if "last_run" in status else None
        return {
            "last_run": to_text(last_run) if last_run else None,
            "processing": bool(running),
            "recent_jobs": sum(per_queue[f"last_{RECENT_MINUTES}m"] for per_queue in throughput.values()),
            "workers_running": len(running),
            "last_queues": json.loads(status["last_queues"]) if "last_queues" in status else [],
            "last_finished": to_text(int(status["last_finished"])) if "last_finished" in status else None,
            "last_summary": json.loads(status["last_summary"]) if "last_summary" in status else None,
            "throughput": throughput,
            "recent": jobs,
        }
