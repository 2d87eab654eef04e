"""Runs leased jobs: start the record, run the handler within its timeout, then complete, retry
later or fail, in DynamoDB first (the truth) and Redis second. A crash between the two is healed
by lease expiry and the fenced, conditional writes: recovery takes over an expired lease and
brings the record in line with what really happened (``settle``), whatever state it is in."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import ValidationError

from relayq.domain.backoff import retry_delay
from relayq.domain.clock import from_text, now_ms, to_text
from relayq.domain.errors import InvalidInput, InvalidJobType, StoreUnavailable, TransitionRefused
from relayq.domain.hooks import Hooks
from relayq.domain.models import FINISHED, AttemptError, Job, JobStatus
from relayq.domain.outcomes import BatchResult, Outcome
from relayq.domain.registry import JobContext, JobRegistry, PermanentJobError, RetryableJobError
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import Lease, RedisBroker
from relayq.redis.locks import Lock
from relayq.settings import Settings

logger = logging.getLogger(__name__)

MAX_RESULT_BYTES = 256 * 1024
# Why an attempt nobody runs any more ends (its lease expired, or Redis forgot it).
ABANDONED = "Lease expired: the worker died or overran"
# The lines of a job's traceback its record keeps (the end: where the job raised).
TRACEBACK_LINES = 12
# How often settle reads the record again when it moved between the read and the write.
SETTLE_READS = 3

# What settle did with a lease: gave the job back, failed it, dropped it from Redis (its record is
# gone or finished), or left the lease to expire (a newer attempt runs, or DynamoDB is unavailable).
Settled = Literal["requeued", "failed", "dropped", "held"]


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


def traceback_excerpt(error: BaseException) -> str:
    """The last lines of ``error``'s traceback (a job that raised in its thread keeps its frames),
    without the lines of carets under an expression: they take room and say nothing new."""
    lines = "".join(traceback.format_exception(error)).rstrip("\n").splitlines()
    kept = [line for line in lines if line.strip(" ^~")]
    return "\n".join(kept[-TRACEBACK_LINES:])


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
        """Take over the jobs whose lease ran out (the worker died or overran, the start never
        happened, the claim's answer was lost) and bring each record in line; returns how many."""
        leases = self.broker.recover_expired()
        if not leases:
            return 0
        try:
            records = self.store.get_many([lease.id for lease in leases])
        except StoreUnavailable:
            # The leases are this recovery's now; they expire and the next recovery tries again.
            logger.warning("could not read the records of %d expired leases", len(leases))
            return len(leases)
        for lease in leases:
            self.settle(lease, records)
        return len(leases)

    def settle(self, lease: Lease, known: Mapping[str, Job] | None = None) -> Settled:
        """Bring the job's record and Redis in line for ``lease``, a lease under which nothing
        runs (taken over from an expired one, or whose start was refused). ``known``: records read
        already (recovery reads them in one batch); a job missing there has no record.

        - no record, or a finished one: the job leaves Redis;
        - queued: no attempt of it runs, none was spent by this lease; it waits again, or fails if
          its record has no attempts left;
        - processing under an older token: that attempt was abandoned; queued again or failed as
          its attempts allow;
        - processing under this token or a newer one: that attempt governs; the lease is left to
          expire (Redis lost claims it made; recovery abandons the attempt after its time).

        The record is written first, conditional on what was read; when it moved meanwhile it is
        read again."""
        try:
            job = known.get(lease.id) if known is not None else self.store.get(lease.id)
            for _ in range(SETTLE_READS):
                try:
                    return self._settle(lease, job)
                except TransitionRefused:
                    job = self.store.get(lease.id)
        except StoreUnavailable:
            logger.warning("could not bring the record of %s in line; its lease will expire", lease.id)
        return "held"

    def _settle(self, lease: Lease, job: Job | None) -> Settled:
        if job is None or job.status in FINISHED:
            self.broker.finish(lease)
            return "dropped"
        if job.status == JobStatus.QUEUED:
            if job.attempts < job.max_attempts:
                due = from_text(job.delay_until) if job.delay_until else 0  # a retry's backoff holds
                self.broker.retry(lease, due, min_token=job.last_token)
                return "requeued"
            message = f"No attempts left ({job.attempts} of {job.max_attempts} used); its last claim never started it"
            self._failed_for_good(self.store.fail_waiting(job.id, job.attempts, message), message)
            self.broker.finish(lease)
            return "failed"
        if job.fence is not None and job.fence >= lease.token:
            return "held"
        settled, _ = self.abandon(job)
        if settled == "requeued":
            self.broker.retry(lease, 0)
        else:
            self.broker.finish(lease)
        return settled

    def abandon(self, job: Job, why: str = ABANDONED) -> tuple[Settled, Job]:
        """The record of a processing attempt nobody runs any more: queued again when attempts
        are left, else failed with ``why``. Conditional on the attempt (token) that was read."""
        if job.attempts < job.max_attempts:
            history = job.errors_with(self._attempt_error(job, why))
            return "requeued", self.store.requeue(job.id, job.fence, why, 0, history=history)
        message = f"{why} on the last attempt ({job.attempts} of {job.max_attempts})"
        failed = self.store.fail(job.id, job.fence, message, history=job.errors_with(self._attempt_error(job, message)))
        self._failed_for_good(failed, message)
        return "failed", failed

    def _attempt_error(self, job: Job, message: str, error: BaseException | None = None) -> AttemptError:
        excerpt = traceback_excerpt(error) if error is not None else None
        return AttemptError.of(job.attempts, to_text(self.clock()), message, excerpt)

    def _failed_for_good(self, job: Job, message: str) -> None:
        self.hooks.emit("job_failed", job=job, error=message, will_retry=False)

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
        job = self.start(lease)
        if job is None:
            return Outcome(lease.id, "skipped")
        return self.run_started(job, lease, started)

    def start(self, lease: Lease) -> Job | None:
        """The record of ``lease``'s attempt, started; None when the record refused the start
        (cancelled, finished, no attempts left, a newer attempt owns it): nothing runs under the
        lease, and the record and Redis are brought in line."""
        try:
            return self.store.start(lease.id, lease.token)
        except TransitionRefused:
            self.settle(lease)
            return None

    def run_started(self, job: Job, lease: Lease, started: int) -> Outcome:
        """Run a started attempt (``started``: when its lease was taken up) and record its end."""
        lock = self._exclusive_lock(job)
        if lock is not None and not lock.acquire():
            return self._defer(job, lease)
        try:
            return self._run(job, lease, started)
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
            self.store.defer_unstarted(job.id, lease.token, due)
        except TransitionRefused:
            self.broker.finish(lease)
            return Outcome(job.id, "skipped")
        self.broker.defer(lease, due)
        return Outcome(job.id, "deferred", job=job)

    def _run(self, job: Job, lease: Lease, started: int) -> Outcome:
        self.hooks.emit("before_job", job=job)
        try:
            handler = self.registry.get(job.type)
            payload = handler.validate(job.payload)
            context = JobContext(job=job, attempt=job.attempts, deadline_ms=started + job.timeout * 1000)
            value = _run_with_timeout(lambda: handler.handle(payload, context), job.timeout)
            value = self.hooks.filter("job_result", value, job=job)
            encoded = json.dumps(value)
            if len(encoded) > MAX_RESULT_BYTES:
                raise PermanentJobError(f"Job result is {len(encoded)} bytes; the limit is {MAX_RESULT_BYTES}")
        except Exception as error:  # every job error is recorded, never raised out of the worker
            return self._failed(job, lease, error, started)
        try:
            done = self.store.complete(job.id, lease.token, value)
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
        will_retry = not permanent and job.attempts < job.max_attempts
        history = job.errors_with(self._attempt_error(job, message, error))
        try:
            if will_retry:
                due = self.clock() + int(self._delay(job, job.attempts, error) * 1000)
                recorded = self.store.requeue(job.id, lease.token, message, due, history=history)
                self.broker.retry(lease, due)
            else:
                recorded = self.store.fail(job.id, lease.token, message, history=history)
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
