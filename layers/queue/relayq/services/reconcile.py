"""Repairs any disagreement between the job records (DynamoDB, the truth) and Redis.

Such gaps come from a failure between the two writes of a step (a crash, Redis restarted without
its append-only file, DynamoDB throttling past the retries). Records that should be waiting but
that Redis forgot are queued again with their attempt count (a running one is abandoned: queued
again or failed as its attempts allow); Redis entries with no live record are dropped. Records
changed within ``grace`` are left alone, so steps still in progress are not touched; a running
record also gets its job's timeout and the lease grace, the time its worker may still need.

Workers run it from their ticks (at most once per ``QUEUE_RECONCILE_INTERVAL_SECONDS`` across all
of them, and after Redis lost its data: ``RedisBroker.reconcile_due``); operators through
``POST /reconcile``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relayq.domain.clock import from_text
from relayq.domain.errors import TransitionRefused
from relayq.domain.models import FINISHED, Job, JobStatus, created_ms
from relayq.services.jobs import JobService, queue_entry

LOST_RUNNING = "Lost from Redis while running (reconciled)"


@dataclass
class ReconcileReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.dropped)

    def counts(self) -> dict[str, int]:
        return {"requeued": len(self.requeued), "failed": len(self.failed), "dropped": len(self.dropped)}


class Reconciler:
    def __init__(self, jobs: JobService, *, grace_seconds: int | None = None) -> None:
        self.jobs = jobs
        grace = jobs.settings.reconcile_grace_seconds if grace_seconds is None else grace_seconds
        self.grace_ms = grace * 1000

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        self._restore_forgotten(report)
        self._drop_orphans(report)
        return report

    def _settled(self, job: Job) -> bool:
        quiet = self.grace_ms
        if job.status == JobStatus.PROCESSING:
            quiet += job.timeout * 1000 + self.jobs.broker.lease_grace_ms
        return from_text(job.updated_at) + quiet <= self.jobs.clock()

    def _restore_forgotten(self, report: ReconcileReport) -> None:
        """Waiting or running records whose job Redis does not hold any more."""
        store, broker = self.jobs.store, self.jobs.broker
        for status in (JobStatus.QUEUED, JobStatus.PROCESSING):
            ids = list(store.matching_ids({"status": str(status)}))
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                missing = [i for i, known in broker.presence(chunk).items() if not known]
                for job in store.get_many(missing).values():
                    if job.status == status and self._settled(job):
                        self._restore(job, report)

    def _restore(self, job: Job, report: ReconcileReport) -> None:
        due = 0
        try:
            if job.status == JobStatus.PROCESSING:
                settled, job = self.jobs.processor.abandon(job, LOST_RUNNING)
                if settled == "failed":
                    report.failed.append(job.id)
                    return
            elif job.delay_until:
                due = from_text(job.delay_until)
        except TransitionRefused:
            return  # it moved on meanwhile: nothing to repair
        self.jobs.broker.enqueue([queue_entry(job, due)])
        report.requeued.append(job.id)

    def _drop_orphans(self, report: ReconcileReport) -> None:
        """Redis entries whose record is gone or finished: they must never run. (A leased one is
        left to its lease: recovery drops it when the lease expires.)"""
        broker, store = self.jobs.broker, self.jobs.store
        now = self.jobs.clock()
        ids = [i for i in broker.known_ids() if created_ms(i) + self.grace_ms <= now]
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            records = store.get_many(chunk)
            for job_id in chunk:
                job = records.get(job_id)
                if (job is None or job.status in FINISHED) and broker.cancel(job_id):
                    report.dropped.append(job_id)
