"""Runs leased jobs: start the record, run the handler within its timeout, then complete, retry
later or fail, in DynamoDB first (the truth) and Redis second. A crash between the two is healed
by lease expiry and the fenced, conditional writes."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from relayq.domain.backoff import retry_delay
from relayq.domain.clock import now_ms
from relayq.domain.errors import InvalidInput, InvalidJobType, QueueError, TransitionRefused
from relayq.domain.hooks import Hooks
from relayq.domain.models import Job
from relayq.domain.outcomes import BatchResult, Outcome
from relayq.domain.registry import JobContext, JobRegistry, PermanentJobError, RetryableJobError
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import Lease, RedisBroker
from relayq.redis.locks import Lock
from relayq.settings import Settings

logger = logging.getLogger(__name__)

MAX_RESULT_BYTES = 256 * 1024


class JobTimeout(Exception):
    pass


def _run_with_timeout(fn: Callable[[], Any], seconds: float) -> Any:
    """Run ``fn`` in a daemon thread and stop waiting after ``seconds``. Python cannot kill the
    thread; its late result is discarded because the attempt is already recorded as timed out."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as error:  # handed over to the caller's thread as is
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise JobTimeout(f"Job timed out after {seconds:g} seconds")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def _permanent(error: BaseException) -> bool:
    return isinstance(error, PermanentJobError | ValidationError | TypeError | InvalidInput | InvalidJobType)


class Processor:
    def __init__(
        self,
        broker: RedisBroker,
        store: JobStore,
        registry: JobRegistry,
        settings: Settings,
        hooks: Hooks,
        *,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.broker = broker
        self.store = store
        self.registry = registry
        self.settings = settings
        self.hooks = hooks
        self.clock = clock

    # --- housekeeping ---------------------------------------------------------------------------

    def recover_expired(self) -> int:
        """Requeue or fail jobs whose worker died, and bring their records in line."""
        recovered = self.broker.recover_expired()
        for item in recovered:
            try:
                if item.outcome == "retry":
                    self.store.requeue(item.id, item.attempt, "Lease expired: the worker died or overran", 0)
                else:
                    message = f"Lease expired on the last attempt ({item.attempt}): the worker died or overran"
                    job = self.store.fail(item.id, item.attempt, message)
                    self.hooks.emit("job_failed", job=job, error=message, will_retry=False)
            except TransitionRefused:
                pass  # the record already moved on (completed just before the lease ran out)
            except QueueError:
                logger.exception("could not record recovery of %s", item.id)
        return len(recovered)

    # --- one batch ------------------------------------------------------------------------------

    def run_batch(
        self,
        queues: Sequence[str],
        max_jobs: int,
        *,
        deadline_ms: int | None = None,
        limits: Mapping[str, int] | None = None,
        concurrency: int = 1,
    ) -> BatchResult:
        """Promote due jobs, recover dead leases, then claim and run jobs until the queues are
        empty, ``max_jobs`` ran, or no job's timeout fits before ``deadline_ms``."""
        result = BatchResult()
        result.promoted = self.broker.promote_due()
        result.recovered = self.recover_expired()
        pool = ThreadPoolExecutor(max_workers=concurrency) if concurrency > 1 else None
        try:
            while result.processed < max_jobs:
                max_timeout = 0
                if deadline_ms is not None:
                    max_timeout = int((deadline_ms - self.clock()) / 1000)
                    if max_timeout < 1:
                        break
                wanted = min(concurrency, max_jobs - result.processed)
                leases = self.broker.claim(queues, wanted, limits, max_timeout)
                if not leases:
                    break
                mapper = pool.map if pool else map
                for outcome in mapper(self.run_one, leases):
                    result.add(outcome)
        finally:
            if pool:
                pool.shutdown(wait=False)
        return result

    def run_one(self, lease: Lease) -> Outcome:
        started = self.clock()
        try:
            job = self.store.start(lease.id, lease.attempt)
        except TransitionRefused:
            # Cancelled, already finished, or a newer attempt owns it: drop this lease quietly.
            self.broker.finish(lease)
            return Outcome(lease.id, "skipped")
        lock = self._exclusive_lock(job)
        if lock is not None and not lock.acquire():
            return self._defer(job, lease)
        try:
            return self._run_started(job, lease, started)
        finally:
            if lock is not None:
                lock.release()

    def _exclusive_lock(self, job: Job) -> Lock | None:
        """The global lock of an exclusive type, held at most for the job's lease."""
        try:
            exclusive = self.registry.get(job.type).exclusive
        except InvalidJobType:
            return None  # fails as an unknown type below
        if not exclusive:
            return None
        return Lock(self.broker, f"exclusive:{job.type}", job.timeout * 1000 + self.broker.lease_grace_ms)

    def _defer(self, job: Job, lease: Lease) -> Outcome:
        """Another job of the exclusive type runs: wait in the delayed set, keeping the attempt."""
        due = self.clock() + self.settings.exclusive_retry_seconds * 1000
        try:
            self.store.defer_unstarted(job.id, lease.attempt, due)
        except TransitionRefused:
            self.broker.finish(lease)
            return Outcome(job.id, "skipped")
        self.broker.defer(lease, due)
        return Outcome(job.id, "deferred", job=job)

    def _run_started(self, job: Job, lease: Lease, started: int) -> Outcome:
        self.hooks.emit("before_job", job=job)
        try:
            handler = self.registry.get(job.type)
            payload = handler.validate(job.payload)
            context = JobContext(job=job, attempt=lease.attempt, deadline_ms=started + job.timeout * 1000)
            value = _run_with_timeout(lambda: handler.handle(payload, context), job.timeout)
            value = self.hooks.filter("job_result", value, job=job)
            encoded = json.dumps(value)
            if len(encoded) > MAX_RESULT_BYTES:
                raise PermanentJobError(f"Job result is {len(encoded)} bytes; the limit is {MAX_RESULT_BYTES}")
        except Exception as error:  # every job error is recorded, never raised out of the worker
            return self._failed(job, lease, error, started)
        try:
            done = self.store.complete(job.id, lease.attempt, value)
        except TransitionRefused:
            self.broker.finish(lease)
            return Outcome(job.id, "skipped")
        self.broker.finish(lease)
        self.hooks.emit("after_job", job=done, result=value)
        return Outcome(job.id, "completed", duration_ms=self.clock() - started, job=done)

    def _failed(self, job: Job, lease: Lease, error: Exception, started: int) -> Outcome:
        message = str(error) or type(error).__name__
        if isinstance(error, TypeError | ValueError) and "JSON serializable" in message:
            error, message = PermanentJobError(message), f"Job result is not JSON-serialisable: {message}"
        permanent = _permanent(error)
        will_retry = not permanent and lease.attempt < job.max_attempts
        try:
            if will_retry:
                due = self.clock() + int(self._delay(job, lease.attempt, error) * 1000)
                recorded = self.store.requeue(job.id, lease.attempt, message, due)
                self.broker.retry(lease, due)
            else:
                recorded = self.store.fail(job.id, lease.attempt, message)
                self.broker.finish(lease)
        except TransitionRefused:
            self.broker.finish(lease)
            return Outcome(job.id, "skipped")
        self.hooks.emit("job_failed", job=recorded, error=message, will_retry=will_retry)
        status = "retry" if will_retry else "failed"
        return Outcome(job.id, status, message, self.clock() - started, recorded)

    def _delay(self, job: Job, attempt: int, error: Exception) -> float:
        if isinstance(error, RetryableJobError) and error.retry_after is not None:
            return max(0.0, error.retry_after)
        handler_delays = None
        with contextlib.suppress(InvalidJobType):
            handler_delays = self.registry.get(job.type).retry_delays
        delay = retry_delay(
            attempt,
            handler_delays or self.settings.retry_delays,
            max_delay=self.settings.retry_max_delay,
            jitter=self.settings.retry_jitter,
        )
        return float(self.hooks.filter("retry_delay", delay, job=job, attempt=attempt, error=error))
