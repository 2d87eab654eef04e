"""The job service: what callers do with jobs (create, read, cancel, retry, clear, process,
stats, health). It keeps the Redis half (the broker) and the DynamoDB half (the job store) of
every job consistent."""

from __future__ import annotations

import logging
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relayq import __version__
from relayq.domain.clock import Clock, now_ms, to_text
from relayq.domain.errors import (
    InvalidInput,
    JobNotCancellable,
    JobNotDelayed,
    JobNotFound,
    JobNotRetryable,
    MissingQueueName,
    PayloadTooLarge,
    QueueError,
    StoreUnavailable,
    TransitionRefused,
)
from relayq.domain.hooks import Hooks
from relayq.domain.models import Job, JobStatus, NewJob, check_queue_name, is_job_id, new_job_id, payload_size
from relayq.domain.outcomes import BatchResult
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobPage, JobStore
from relayq.redis.broker import QueueEntry, QueueLengths, RedisBroker
from relayq.redis.failures import REDIS_FAILURES, failure_summary, redis_failure
from relayq.redis.probe import NodeDown, node_report, probe
from relayq.services.processor import Processor
from relayq.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Health:
    """What the probes found: Redis and DynamoDB reachable or not, and why not."""

    redis_connected: bool = False
    database_status: bool = False
    redis_info: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.redis_connected and self.database_status


def queue_entry(job: Job, due_ms: int) -> QueueEntry:
    return QueueEntry(job.id, job.queue, job.priority, job.timeout, due_ms=due_ms, last_token=job.last_token)


class JobService:
    def __init__(
        self,
        broker: RedisBroker,
        store: JobStore,
        settings: Settings,
        *,
        registry: JobRegistry,
        hooks: Hooks,
        clock: Clock = now_ms,
    ) -> None:
        self.broker = broker
        self.store = store
        self.settings = settings
        self.registry = registry
        self.hooks = hooks
        self.clock = clock
        self.processor = Processor(broker, store, registry, settings, hooks, clock=clock)

    # --- creating jobs --------------------------------------------------------------------------

    def build(self, request: NewJob) -> tuple[Job, int]:
        """A validated job record and the time it is due, from a create request."""
        handler = self.registry.get(request.type)
        payload = handler.validate(request.payload)
        size = payload_size(payload)
        if size > self.settings.max_payload_bytes:
            raise PayloadTooLarge(
                f"The job payload is {size} bytes; the limit is {self.settings.max_payload_bytes} bytes."
            )
        now = self.clock()
        due = now + request.delay * 1000 if request.delay else 0
        text = to_text(now)
        job = Job(
            id=new_job_id(now),
            type=request.type,
            queue=request.queue or handler.queue or self.settings.default_queue,
            status=JobStatus.QUEUED,
            priority=_first(request.priority, handler.priority, self.settings.default_priority),
            payload=payload,
            max_attempts=_first(request.max_attempts, handler.max_attempts, self.settings.default_max_attempts),
            timeout=_first(request.timeout, handler.timeout, self.settings.default_timeout),
            created_at=text,
            updated_at=text,
            delay_until=to_text(due) if due else None,
        )
        return job, due

    def create(self, request: NewJob) -> Job:
        """Record the job, then queue it. If queuing fails, the record is removed again and the
        caller gets the Redis error (an outage or a refusal), so no record waits "queued" for a
        job Redis never had."""
        job, due = self.build(request)
        self.store.put_new(job)
        self._enqueue_or_forget([job], [queue_entry(job, due)])
        self.hooks.emit("job_created", job=job)
        return job

    def create_many(self, requests: Sequence[NewJob]) -> list[Job]:
        """Bulk create: one BatchWriteItem per 25 jobs, one Redis round trip per ``ENQUEUE_BATCH``
        (the request limit). Should a later batch fail, every record goes again (the batches already
        in Redis are left to the workers, whose conditional start finds no record and drops them)."""
        built = [self.build(r) for r in requests]
        jobs = [job for job, _ in built]
        self.store.put_many(jobs)
        self._enqueue_or_forget(jobs, [queue_entry(job, due) for job, due in built])
        self.hooks.emit("jobs_created", jobs=jobs)
        return jobs

    def _enqueue_or_forget(self, jobs: Sequence[Job], entries: Sequence[QueueEntry]) -> None:
        """Queue the new jobs' entries; on any failure delete their records, then raise (a Redis
        failure as its domain error). Should the enqueue have run after all (its reply lost), the
        entries outlive their records: a worker's conditional start finds no record and drops
        them, so nothing runs that the caller was told failed."""
        try:
            self.broker.enqueue(entries)
        except Exception as error:
            for job in jobs:
                try:
                    self.store.delete_if_queued(job.id)
                except Exception:  # the original failure is the answer; this one is for the operator
                    logger.exception("job %s: record left after a failed enqueue", job.id)
            if isinstance(error, REDIS_FAILURES):
                raise redis_failure(error) from error
            raise

    # --- reading --------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        job = self.store.get(job_id) if is_job_id(job_id) else None
        if job is None:
            raise JobNotFound()
        return job

    def list(
        self,
        page: int = 1,
        per_page: int = 10,
        *,
        status: str | None = None,
        queue: str | None = None,
        type: str | None = None,
    ) -> JobPage:
        return self.store.list(page, per_page, status=status, queue=queue, type=type)

    def delayed(self, page: int = 1, per_page: int = 10) -> JobPage:
        """The jobs waiting for a later time (a delay, a retry's backoff), soonest due first:
        Redis' delayed set orders them, their records say the rest."""
        try:
            ids, total = self.broker.delayed_ids((page - 1) * per_page, per_page)
        except REDIS_FAILURES as error:
            raise redis_failure(error) from error
        found = self.store.get_many(ids)
        jobs = [found[i] for i in ids if i in found]
        return JobPage(jobs, total, -(-total // per_page) if total else 0)

    # --- changing jobs --------------------------------------------------------------------------

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or failed job (the contract's rule); its Redis entry goes too."""
        if not is_job_id(job_id):
            raise JobNotCancellable()
        try:
            job = self.store.cancel(job_id)
        except TransitionRefused:
            raise JobNotCancellable() from None
        try:
            self.broker.cancel(job_id)
        except REDIS_FAILURES:
            # The record says cancelled; a worker that still claims it is refused by the
            # conditional start and drops it, so nothing runs.
            logger.warning("cancelled %s in the database; Redis unavailable to drop it", job_id)
        return job

    def retry(self, job_id: str) -> Job:
        """Run a failed job again with a fresh set of attempts. Redis may still hold it (its
        ``finish`` failed after the record said failed): a stale lease is taken back at once, so
        the job waits again whatever Redis held."""
        if not is_job_id(job_id):
            raise JobNotRetryable()
        try:
            job = self.store.reopen(job_id)
        except TransitionRefused:
            raise JobNotRetryable() from None
        try:
            placed = self.broker.reopen(queue_entry(job, 0))
        except REDIS_FAILURES as error:
            self.store.revert_reopen(job_id)
            raise redis_failure(error) from error
        if placed != "added":
            logger.info("retry of %s: Redis still held it (%s)", job_id, placed)
        self.hooks.emit("job_retried", job=job)
        return job

    def run_now(self, job_id: str) -> Job:
        """A delayed job (a delay, a retry's backoff) waits no longer: due at once in its queue,
        and its queue's worker is kicked. The record first: should Redis fail after it, the job
        still runs at its old time, which is what the record said until now."""
        if not is_job_id(job_id):
            raise JobNotDelayed()
        try:
            job = self.store.make_due(job_id)
        except TransitionRefused:
            raise JobNotDelayed() from None
        try:
            promoted = self.broker.promote(job_id)
        except REDIS_FAILURES as error:
            raise redis_failure(error) from error
        if not promoted:
            logger.info("run now of %s: Redis did not hold it as delayed", job_id)
        self.hooks.emit("job_due", job=job)
        return job

    def clear(self, queue: str) -> int:
        """Remove every waiting job of ``queue`` from Redis; their records become cancelled."""
        if not queue:
            raise MissingQueueName()
        try:
            removed = self.broker.clear(queue)
        except ValueError as error:
            raise InvalidInput(str(error)) from error
        except REDIS_FAILURES as error:
            raise redis_failure(error) from error
        self.store.cancel_waiting(removed)
        return len(removed)

    def purge(self, older_than_days: int) -> int:
        return self.store.purge_finished(self.clock() - older_than_days * 86_400_000)

    # --- processing -----------------------------------------------------------------------------

    def process(
        self,
        queues: Sequence[str],
        max_jobs: int,
        *,
        deadline_ms: int | None = None,
        limits: Mapping[str, int] | None = None,
        concurrency: int = 1,
    ) -> BatchResult:
        try:
            return self.processor.run_batch(
                queues, max_jobs, deadline_ms=deadline_ms, limits=limits, concurrency=concurrency
            )
        except REDIS_FAILURES as error:
            raise redis_failure(error) from error

    # --- observing ------------------------------------------------------------------------------

    def lengths(self, queues: Sequence[str] | None = None) -> QueueLengths:
        try:
            return self.broker.lengths(queues)
        except REDIS_FAILURES as error:
            raise redis_failure(error) from error

    def stats(self, queue: str | None = None) -> dict[str, Any]:
        """The contract's stats: per-queue pending/size, the delayed set, database counts. For one
        ``queue``, as the plugin answers: that queue's block (zero for a queue never used) and the
        database counts (of every queue, as the plugin's)."""
        if queue is not None:
            try:
                check_queue_name(queue)
            except ValueError as error:
                raise InvalidInput(f"Invalid parameter(s): queue ({error}).", params={"queue": str(error)}) from None
            pending = self.lengths([queue]).pending[queue]
            return {queue: {"pending": pending, "size": pending}, "database": self.store.count_by_status()}
        lengths = self.lengths()
        data: dict[str, Any] = {name: {"pending": n, "size": n} for name, n in lengths.pending.items()}
        data["delayed"] = {"pending": lengths.delayed, "size": lengths.delayed}
        data["processing"] = {"pending": lengths.processing, "size": lengths.processing}
        data["database"] = self.store.count_by_status()
        return data

    def health(self) -> Health:
        """Probe Redis where the deployment's keys are (within ``redis_health_timeout``) and the
        jobs table; either failing makes the deployment unhealthy."""
        health = Health()
        try:
            info = probe(self.broker.conn, self.broker.keys.queues, self.settings.redis_health_timeout)
            health.redis_connected = True
            health.redis_info = node_report(self.broker.conn, info)
        except NodeDown as down:
            health.errors.append(f"redis: {down}")
        except REDIS_FAILURES as error:  # no node holds the slot (a cluster that lost it)
            health.errors.append(f"redis: {failure_summary(error)}")
        try:
            self.store.client.describe_table(TableName=self.store.table)
            health.database_status = True
        except Exception as error:  # any failure of the probe means "database down"
            health.errors.append(f"database: {type(error).__name__}")
        return health

    @staticmethod
    def runtime_info() -> dict[str, str]:
        # plugin_version: the name the plugin's clients read the version under.
        return {"python_version": platform.python_version(), "version": __version__, "plugin_version": __version__}


def _first(*values: int | None) -> int:
    return next(v for v in values if v is not None)


__all__ = ["Health", "JobService", "QueueError", "StoreUnavailable"]
