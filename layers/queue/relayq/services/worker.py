"""One worker invocation over a queue set: promote due delayed jobs, recover dead leases, then
claim and run jobs until the queues are empty, ``max_jobs`` ran, or the time left cannot fit the
next job's timeout. Around it: running markers (for the idle-queue kick and the status), status
and metrics in Redis, EMF metrics, kicks for queues of other sets whose delayed jobs came due, and
the reconciliation of records and Redis when one is due (the ticks are its schedule: no resource
of its own).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError

from relayq.domain.errors import InvalidInput, QueueError, RedisUnavailable
from relayq.domain.outcomes import BatchResult, JobCounts
from relayq.domain.registry import describe_validation_error
from relayq.domain.worker_input import WorkerInput
from relayq.redis.worker_status import WorkerStatus
from relayq.services.jobs import JobService
from relayq.services.kick import Kicker
from relayq.services.metrics import emit_emf, queue_depths
from relayq.services.reconcile import Reconciler

logger = logging.getLogger(__name__)


@dataclass
class WorkerSummary(JobCounts):
    rounds: int = 0
    kicked: list[str] = field(default_factory=list)
    # When this invocation reconciled: why (restart | schedule) and what it repaired (or its error).
    reconciled: dict[str, Any] | None = None

    def add(self, batch: BatchResult) -> None:
        self.rounds += 1
        self.add_counts(batch)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Worker:
    def __init__(
        self,
        jobs: JobService,
        status: WorkerStatus,
        kicker: Kicker | None = None,
        reconciler: Reconciler | None = None,
    ) -> None:
        self.jobs = jobs
        self.settings = jobs.settings
        self.status = status
        self.kicker = kicker
        self.reconciler = reconciler or Reconciler(jobs)

    def run(self, request: WorkerInput, remaining_ms: Callable[[], int], invocation: str) -> WorkerSummary:
        """Process ``request.queues`` within the invocation's time (``remaining_ms`` is Lambda's
        ``get_remaining_time_in_millis``), keeping back ``worker_reserve_seconds`` to finish."""
        clock = self.jobs.clock
        deadline = clock() + remaining_ms() - self.settings.worker_reserve_seconds * 1000
        queues = list(dict.fromkeys(request.queues))
        summary = WorkerSummary(reconciled=self._reconcile_if_due())
        while True:
            batch = self.run_round(
                queues,
                request.max_jobs - summary.processed,
                invocation,
                summary,
                deadline_ms=deadline,
                listed_until_ms=deadline,
            )
            if summary.processed >= request.max_jobs or deadline - clock() < 1000:
                break
            # A job enqueued while this worker was still listed as running got no kick: look
            # again now that it is not listed. A round that ran nothing (jobs held back by limits
            # or too long for the time left) ends the invocation instead of spinning.
            if (summary.rounds > 1 and batch.processed == 0) or not any(
                self.jobs.broker.lengths(queues).pending.values()
            ):
                break
        return summary

    def trigger(
        self, queues: list[str], max_jobs: int, remaining_ms: Callable[[], int], invocation: str
    ) -> BatchResult:
        """The API's synchronous trigger: one round with no deadline (like the plugin's, any job may
        run), listed as running for as long as the calling function may live, and counted in the
        status like a scheduled worker's round."""
        until = self.jobs.clock() + remaining_ms()
        return self.run_round(queues, max_jobs, invocation, WorkerSummary(), deadline_ms=None, listed_until_ms=until)

    def run_round(
        self,
        queues: list[str],
        max_jobs: int,
        invocation: str,
        summary: WorkerSummary,
        *,
        deadline_ms: int | None,
        listed_until_ms: int,
    ) -> BatchResult:
        """One batch over ``queues``, listed as running until ``listed_until_ms`` (a worker that
        dies stops suppressing kicks then) and counted in the status and metrics after;
        ``summary`` adds the batch."""
        self.status.begin(invocation, queues, listed_until_ms)
        try:
            batch = self.jobs.process(
                queues,
                max_jobs,
                deadline_ms=deadline_ms,
                limits=self.settings.concurrency_limits,
                concurrency=self.settings.worker_concurrency,
            )
        except Exception:
            self.status.end(invocation, queues, summary.to_dict())
            raise
        summary.add(batch)
        self.status.end(invocation, queues, summary.to_dict())
        self._report(batch, queues, summary)
        return batch

    def _reconcile_if_due(self) -> dict[str, Any] | None:
        """Reconcile when Redis lost its data or the interval passed (decided once for all
        workers); a failure is logged and never fails the jobs of this tick."""
        trigger = self.jobs.broker.reconcile_due(self.settings.reconcile_interval_seconds * 1000)
        if trigger is None:
            return None
        try:
            counts: dict[str, Any] = self.reconciler.run().counts()
        except (QueueError, RedisError) as error:
            logger.exception("reconciliation (%s) failed", trigger)
            return {"trigger": trigger, "error": type(error).__name__}
        logger.info("reconciled (%s): %s", trigger, counts)
        return {"trigger": trigger, **counts}

    def _report(self, batch: BatchResult, queues: list[str], summary: WorkerSummary) -> None:
        """Status and metrics of one round; failures here never fail the jobs already done."""
        try:
            self.status.record(batch.outcomes)
            all_queues = self.jobs.broker.queue_names()
            depths = queue_depths(self.jobs.broker, all_queues)
            idle_too = self.settings.emf_idle_queue_depth
            emit_emf(batch.outcomes, [d for d in depths if d.queue in queues and (idle_too or d.pending)])
            if batch.promoted and self.kicker is not None:
                # Delayed jobs that came due in queues of other sets: start their workers now.
                waiting = [d.queue for d in depths if d.pending and d.queue not in queues]
                summary.kicked += self.kicker.kick_queues(waiting)
        except Exception:
            logger.exception("worker status/metrics update failed")

    def invoke(
        self, event: Mapping[str, Any] | None, remaining_ms: Callable[[], int], invocation: str
    ) -> dict[str, Any]:
        """A worker invocation from a schedule's Input, a kick or a manual invoke: ``{queues,
        max_jobs}`` (anything else in the event, e.g. EventBridge's envelope, is ignored). A bad
        event raises ``InvalidInput``; Redis down, ``RedisUnavailable``."""
        try:
            request = WorkerInput.model_validate(event or {})
        except ValidationError as error:
            raise InvalidInput(f"Invalid worker input: {describe_validation_error(error)}") from None
        try:
            return self.run(request, remaining_ms, invocation).to_dict()
        except (RedisError, RedisUnavailable) as error:
            # Nothing is lost: waiting jobs stay queued and a lease taken before the outage expires and
            # is recovered by a later run.
            logger.exception("worker invocation stopped: Redis is unavailable")
            raise RedisUnavailable() from error
