"""Repairs any disagreement between the job records (DynamoDB, the truth) and Redis.

Such gaps come from a failure between the two writes of a step (a crash, Redis restarted without
its append-only file, DynamoDB throttling past the retries). Records that should be waiting but
that Redis forgot are queued again with their attempt count; Redis entries with no live record are
dropped. Only records older than ``grace`` are touched, so steps still in progress are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relayq.domain.clock import from_text
from relayq.domain.errors import TransitionRefused
from relayq.domain.models import FINISHED, Job, JobStatus, created_ms
from relayq.services.jobs import JobService, queue_entry


@dataclass
class ReconcileReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.dropped)


class Reconciler:
    def __init__(self, jobs: JobService, *, grace_seconds: int = 120) -> None:
        self.jobs = jobs
        self.grace_ms = grace_seconds * 1000

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        self._restore_forgotten(report)
        self._drop_orphans(report)
        return report

    def _settled(self, job: Job) -> bool:
        return from_text(job.updated_at) + self.grace_ms <= self.jobs.clock()

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
        store = self.jobs.store
        try:
            if job.status == JobStatus.PROCESSING:
                if job.attempts >= job.max_attempts:
                    store.fail(job.id, job.attempts, "Lost while running on its last attempt (reconciled)")
                    report.failed.append(job.id)
                    return
                job = store.requeue(job.id, job.attempts, "Lost while running (reconciled)", 0)
        except TransitionRefused:
            return  # it moved on meanwhile: nothing to repair
        self.jobs.broker.enqueue([queue_entry(job, 0)])
        report.requeued.append(job.id)

    def _drop_orphans(self, report: ReconcileReport) -> None:
        """Redis entries whose record is gone or finished: they must never run."""
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
