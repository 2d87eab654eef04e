"""The Redis side of the queue: waiting, delayed and leased jobs. Every multi-key step is one Lua
script (atomic, one round trip); see the ``lua/`` folder for the transitions themselves."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

from relayq.domain.clock import now_ms
from relayq.redis.codes import ScriptCode
from relayq.redis.connection import RedisConnection
from relayq.redis.keys import Keys
from relayq.redis.limits import per_script_call
from relayq.redis.scripts import Scripts

logger = logging.getLogger(__name__)

# Width of one priority band of a pending set's score (priority * 2^40 + sequence,
# lua/includes/pending.lua).
PRIORITY_BAND = 2**40

# Jobs per enqueue call (4 keys, prefix and time, six arguments a job) and queues per oldest call
# (a key each, beside one argument): what fits in one request (relayq.redis.limits).
ENQUEUE_BATCH = per_script_call(4 + 2, 6)
OLDEST_BATCH = per_script_call(1, 1)


@dataclass(frozen=True)
class QueueEntry:
    """What Redis needs to schedule a job; the rest of the job lives in DynamoDB. ``last_token``:
    the highest fencing token the job's record has seen (0 for a new job), so that the leases of a
    job Redis lost and gets back are fenced above every earlier one."""

    id: str
    queue: str
    priority: int
    timeout: int
    _: KW_ONLY
    due_ms: int = 0
    last_token: int = 0


@dataclass(frozen=True)
class Lease:
    """A job leased to its holder until the lease deadline; ``token`` (the claim counter, higher on
    every claim) fences every write of the holder, in Redis and in the job record."""

    id: str
    token: int


# What Redis did to put a retried job back (lua/reopen.lua).
Reopened = Literal["added", "released", "waiting"]
# Why a worker tick reconciles (lua/reconcile_due.lua): Redis lost its data, or the interval passed.
ReconcileTrigger = Literal["restart", "schedule"]


@dataclass(frozen=True)
class QueueLengths:
    pending: dict[str, int]
    delayed: int
    processing: int


class RedisBroker:
    """The Redis side of every job of one deployment (waiting, delayed, leased), over its keys.
    ``clock`` returns epoch milliseconds. ``scripts`` runs the layer's scripts on its connection
    (the locks, the kick and the worker status run theirs through it too)."""

    def __init__(
        self, conn: RedisConnection, prefix: str, *, lease_grace_ms: int = 30_000, clock: Callable[[], int] = now_ms
    ) -> None:
        self.conn = conn
        self.keys = Keys(prefix)
        self.lease_grace_ms = lease_grace_ms
        self.clock = clock
        self.scripts = Scripts(conn)

    def _run_leased(self, name: str, lease: Lease, keys: Sequence[str], args: Sequence[Any]) -> bool:
        """Run a script only the lease holder may run; True if it was, else the refusal is logged."""
        code = ScriptCode(self.scripts.run(name, keys, args))
        if code is not ScriptCode.OK:
            logger.info("Redis refused %s of %s token %d: %s", name, lease.id, lease.token, code.name)
        return code is ScriptCode.OK

    def enqueue(self, entries: Iterable[QueueEntry]) -> int:
        """Schedule jobs, one round trip per ``ENQUEUE_BATCH`` of them; returns how many were new.
        Each batch goes in whole or not at all, and a job already in is skipped, so after a failed
        batch the same call again finishes the work (the batches before it add nothing)."""
        jobs: list[list[Any]] = []
        for e in entries:
            self.keys.pending(e.queue)  # refuses an unsafe queue name before it reaches Lua
            jobs.append([e.id, e.queue, e.priority, e.timeout, e.due_ms, e.last_token])
        k = self.keys
        now = self.clock()
        added = 0
        for start in range(0, len(jobs), ENQUEUE_BATCH):
            args: list[Any] = [k.tag, now]
            for job in jobs[start : start + ENQUEUE_BATCH]:
                args += job
            added += int(self.scripts.run("enqueue", [k.meta, k.queues, k.seq, k.delayed], args))
        return added

    def claim(
        self, queues: Sequence[str], n: int, limits: Mapping[str, int] | None = None, max_timeout: int = 0
    ) -> list[Lease]:
        """Lease up to ``n`` jobs from ``queues``, best priority first, within per-queue limits,
        leaving alone jobs whose timeout exceeds ``max_timeout`` seconds (0: any timeout). The
        queues go as one JSON argument: one request, and one priority order, for any number of them."""
        limits = limits or {}
        for queue in queues:
            self.keys.pending(queue)
        wanted = json.dumps([[queue, limits.get(queue, 0)] for queue in queues])
        k = self.keys
        args = [k.tag, self.clock(), n, self.lease_grace_ms, max_timeout, wanted]
        return _leases(self.scripts.run("claim", [k.meta, k.processing, k.inflight], args))

    def finish(self, lease: Lease) -> bool:
        """Drop a completed or finally failed job; False when the lease was lost meanwhile (or the
        job is unknown)."""
        k = self.keys
        return self._run_leased("finish", lease, [k.meta, k.processing, k.inflight], [lease.id, lease.token])

    def retry(self, lease: Lease, due_ms: int, *, min_token: int = 0) -> bool:
        """Give the job back to be claimed at ``due_ms``, its token raised to at least ``min_token``
        (the last token its record saw); False when the lease was lost."""
        k = self.keys
        args = [k.tag, lease.id, lease.token, due_ms, self.clock(), min_token]
        return self._run_leased("retry", lease, [k.meta, k.processing, k.inflight, k.delayed, k.seq], args)

    def defer(self, lease: Lease, due_ms: int) -> bool:
        """Give a claimed job back until ``due_ms`` (it never started); False when the lease was lost."""
        k = self.keys
        keys = [k.meta, k.processing, k.inflight, k.delayed]
        return self._run_leased("defer", lease, keys, [lease.id, lease.token, due_ms])

    def reopen(self, entry: QueueEntry) -> Reopened:
        """Make a job wait again whatever Redis still holds of it: added, a stale lease taken back,
        or one still waiting put at the back of its line (its token raised to ``entry.last_token``
        at least)."""
        self.keys.pending(entry.queue)
        k = self.keys
        keys = [k.meta, k.queues, k.seq, k.delayed, k.processing, k.inflight]
        args = [k.tag, self.clock(), entry.id, entry.queue, entry.priority, entry.timeout, entry.due_ms]
        answer: Reopened = self.scripts.run("reopen", keys, [*args, entry.last_token])
        return answer

    def promote_due(self, limit: int = 1000) -> int:
        """Move delayed jobs that are due into their queues."""
        k = self.keys
        return int(self.scripts.run("promote", [k.delayed, k.meta, k.seq], [k.tag, self.clock(), limit]))

    def promote(self, job_id: str) -> bool:
        """Make one delayed job due now; False when it was not delayed."""
        k = self.keys
        return bool(self.scripts.run("promote_one", [k.delayed, k.meta, k.seq], [k.tag, job_id]))

    def recover_expired(self, limit: int = 1000) -> list[Lease]:
        """Take over the jobs whose lease ran out: each is the caller's now, under a new token, for
        the caller to bring its record in line and then give it back (``retry``) or drop it
        (``finish``)."""
        k = self.keys
        args = [self.clock(), limit, self.lease_grace_ms]
        return _leases(self.scripts.run("recover", [k.processing, k.meta], args))

    def reconcile_due(self, interval_ms: int) -> ReconcileTrigger | None:
        """Whether a reconciliation is due, decided for all workers at once: Redis lost its data
        (``restart``), or ``interval_ms`` passed since the last one (``schedule``; 0: never)."""
        keys = [self.keys.named("reconcile", "epoch"), self.keys.named("reconcile", "due")]
        trigger: str = self.scripts.run("reconcile_due", keys, [self.clock(), interval_ms])
        return "restart" if trigger == "restart" else "schedule" if trigger == "schedule" else None

    def cancel(self, job_id: str) -> bool:
        """Take a waiting job out of its queue; False if it is not waiting."""
        return bool(self.scripts.run("cancel", [self.keys.meta, self.keys.delayed], [self.keys.tag, job_id]))

    def clear(self, queue: str) -> list[str]:
        """Remove every waiting job of ``queue``; returns their ids."""
        self.keys.pending(queue)
        return list(self.scripts.run("clear", [self.keys.meta, self.keys.delayed], [self.keys.tag, queue]))

    def queue_names(self) -> list[str]:
        return sorted(map(str, self.conn.smembers(self.keys.queues)))

    def lengths(self, queues: Sequence[str] | None = None) -> QueueLengths:
        """Pending count per queue, delayed and processing counts, in one round trip."""
        names = list(queues) if queues is not None else self.queue_names()
        pipe = self.conn.pipeline(transaction=False)
        for name in names:
            pipe.zcard(self.keys.pending(name))
        pipe.zcard(self.keys.delayed)
        pipe.zcard(self.keys.processing)
        counts = pipe.execute()
        return QueueLengths(dict(zip(names, counts[:-2], strict=True)), counts[-2], counts[-1])

    def presence(self, job_ids: Sequence[str]) -> dict[str, bool]:
        """Which of ``job_ids`` Redis still knows (waiting or leased), in one round trip."""
        pipe = self.conn.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hexists(self.keys.meta, job_id)
        return dict(zip(job_ids, map(bool, pipe.execute()), strict=True))

    def known_ids(self, batch: int = 1000) -> Iterable[str]:
        """Every job id Redis holds, a batch at a time (HSCAN: never blocks the server)."""
        for job_id, _ in self.conn.hscan_iter(self.keys.meta, count=batch):
            yield str(job_id)

    def oldest(self, queues: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """Per queue: how many jobs wait, and the id of the oldest (ids are time-ordered); one round
        trip per ``OLDEST_BATCH`` queues (it only reads)."""
        found: dict[str, tuple[int, str | None]] = {}
        for start in range(0, len(queues), OLDEST_BATCH):
            batch = queues[start : start + OLDEST_BATCH]
            flat = self.scripts.run("oldest", [self.keys.pending(q) for q in batch], [PRIORITY_BAND])
            found |= {q: (int(flat[2 * i]), flat[2 * i + 1] or None) for i, q in enumerate(batch)}
        return found

    def delayed_ids(self, offset: int, count: int) -> tuple[list[str], int]:
        """One page of the delayed set, soonest due first, and how many jobs it holds."""
        pipe = self.conn.pipeline(transaction=False)
        pipe.zrange(self.keys.delayed, offset, offset + count - 1)
        pipe.zcard(self.keys.delayed)
        ids, total = pipe.execute()
        return [str(i) for i in ids], int(total)

    def next_due_ms(self) -> int | None:
        """When the earliest delayed job becomes due, if any."""
        first = self.conn.zrange(self.keys.delayed, 0, 0, withscores=True)
        return int(first[0][1]) if first else None


def _leases(flat: Sequence[Any]) -> list[Lease]:
    """Leases from a script's flat list of id, token pairs."""
    return [Lease(flat[i], int(flat[i + 1])) for i in range(0, len(flat), 2)]
