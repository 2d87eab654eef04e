"""The cron service: admit a run and run it now (sync), queue it in Redis (deferred), or, when
Redis is down, hand it to an asynchronous invocation of this same function; and process the cron
queue. It returns what came of it (``relayq.services.cron.results``); the cron function answers."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from relayq.aws import AwsClients
from relayq.domain.clock import now_ms
from relayq.domain.cron import BATCH_JOB, RUN_JOB, BatchSpec, Run, RunStatus, batch_jobs
from relayq.domain.cron import new_run_id as make_run_id
from relayq.domain.errors import DeferredUnavailable, QueueError, RedisRefused, RedisUnavailable
from relayq.domain.models import NewJob
from relayq.domain.outcomes import BatchResult
from relayq.redis.failures import REDIS_FAILURES
from relayq.services.cron.results import ProcessQueueResult, QueuedRun, RunSummary
from relayq.services.cron.runner import CronRunner
from relayq.services.jobs import JobService
from relayq.settings import Settings

logger = logging.getLogger(__name__)

MESSAGE_REDIS = "Cron job queued to Redis for background processing"
MESSAGE_DEFERRED = "Cron job queued for background processing"
MESSAGE_JOINED = "A cron run is already queued; this trigger joins it"
# How many of the newest runs a deferred trigger looks through for the last finished one.
LAST_RUN_LOOKBACK = 5


# --- the asynchronous self-invocation events (not API events) -------------------------------------


class RunEvent(BaseModel):
    cron_action: Literal["run"]
    run_id: str


class BatchEvent(BatchSpec):
    cron_action: Literal["batch"]


class ProcessQueueEvent(BaseModel):
    """The schedule's input: what ``POST /process-queue`` does."""

    cron_action: Literal["process-queue"]
    max_jobs: int = Field(default=10, ge=1, le=1000)


class CronEvent(BaseModel):
    event: RunEvent | BatchEvent | ProcessQueueEvent = Field(discriminator="cron_action")


def as_cron_event(event: Any, cron_queue: str) -> dict[str, Any] | None:
    """The cron work an async event asks for, if any: the trigger's own events, or the idle-queue
    kick of the cron queue (which the trigger processes, as ``/process-queue`` does)."""
    if not isinstance(event, dict):
        return None
    if "cron_action" in event:
        return event
    if event.get("source") == "kick" and event.get("queues") == [cron_queue]:
        return {"cron_action": "process-queue", "max_jobs": min(int(event.get("max_jobs") or 10), 1000)}
    return None


class CronService:
    def __init__(
        self,
        settings: Settings,
        runner: CronRunner,
        jobs: Callable[[], JobService],
        invoke: Callable[[dict[str, Any]], None],
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.runs = runner.runs
        self.guard = runner.guard
        self.jobs = jobs
        self.invoke = invoke

    # --- /run -----------------------------------------------------------------------------------

    def start_run(self, *, defer: bool, triggered_by: str | None = None) -> QueuedRun | RunSummary:
        run_id = new_run_id()
        if defer:
            return self._defer(run_id, triggered_by)
        return self._sync(run_id, triggered_by)

    def _sync(self, run_id: str, triggered_by: str | None) -> RunSummary:
        try:
            self.guard.admit("sync", run_id)
        except RedisError as error:
            logger.warning("cron run %s without lock: Redis unavailable (%s)", run_id, type(error).__name__)
        self.runs.create(run_id, "sync", triggered_by)
        try:
            self.runner.run_now(run_id)
        except Exception:
            self.runner.abandon(run_id)
            raise
        return RunSummary(self.runs.get(run_id))

    def _defer(self, run_id: str, triggered_by: str | None) -> QueuedRun:
        try:
            admission = self.guard.admit("defer", run_id)
            if admission.outcome == "coalesced":
                return QueuedRun(admission.run_id, "redis", MESSAGE_JOINED, coalesced=True, last_run=self._last_run())
            try:
                self.runs.create(run_id, "redis", triggered_by)
                self.jobs().create(NewJob(type=RUN_JOB, queue=self.settings.cron_queue, payload={"run_id": run_id}))
            except Exception:
                # No queued mark may outlive its run: later triggers would join a run that never comes.
                self.runner.abandon(run_id)
                with contextlib.suppress(QueueError):
                    self.runs.discard(run_id)
                raise
            return QueuedRun(run_id, "redis", MESSAGE_REDIS, last_run=self._last_run())
        except (*REDIS_FAILURES, RedisUnavailable, RedisRefused) as error:
            logger.warning(
                "Redis cannot take the cron run (%s): deferring it by async invocation", type(error).__name__
            )
        run_id = new_run_id()
        self.runs.create(run_id, "deferred", triggered_by)
        try:
            self.invoke(RunEvent(cron_action="run", run_id=run_id).model_dump())
        except Exception as error:
            self.runs.discard(run_id)
            raise DeferredUnavailable() from error
        return QueuedRun(run_id, "deferred", MESSAGE_DEFERRED, last_run=self._last_run())

    def _last_run(self) -> Run | None:
        """The newest finished run (among the last few), for the trigger to report; none when the
        runs table cannot say (the run is queued all the same)."""
        try:
            return next((run for run in self.runs.list(LAST_RUN_LOOKBACK) if run.finished), None)
        except QueueError as error:
            logger.warning("last cron run unknown: %s", error.code)
            return None

    # --- the deferred fallback's own events -----------------------------------------------------

    def handle_event(self, raw: dict[str, Any], deadline_ms: int) -> dict[str, Any]:
        event = CronEvent.model_validate({"event": raw}).event
        if isinstance(event, RunEvent):
            run = self.runner.run_now(event.run_id, self.invoke_batches)
            return run.model_dump(mode="json", exclude_none=True)
        if isinstance(event, BatchEvent):
            batch_run = self.runner.run_batch(BatchSpec.model_validate(event.model_dump()))
            return {"run_id": event.run_id, "index": event.index, "status": batch_run.status if batch_run else None}
        return self.process_queue(event.max_jobs, deadline_ms).to_dict()

    def invoke_batches(self, specs: Sequence[BatchSpec]) -> None:
        for spec in specs:
            self.invoke({"cron_action": "batch", **spec.model_dump()})

    def enqueue_batches(self, specs: Sequence[BatchSpec]) -> None:
        self.jobs().create_many(batch_jobs(list(specs), self.settings.cron_queue))

    # --- /process-queue -------------------------------------------------------------------------

    def process_queue(self, max_jobs: int, deadline_ms: int) -> ProcessQueueResult:
        batch = self.jobs().process([self.settings.cron_queue], max_jobs, deadline_ms=deadline_ms)
        return ProcessQueueResult(batch, [RunSummary(self.runs.get(run_id)) for run_id in finished_runs(batch)])


def finished_runs(batch: BatchResult) -> list[str]:
    """The runs the jobs of this pass finished: a run job's result, or a batch job's, says the run's
    status once it reported (``CronRunJob`` / ``CronBatchJob``)."""
    done: dict[str, None] = {}
    for outcome in batch.outcomes:
        job = outcome.job
        if outcome.status != "completed" or job is None or job.type not in (RUN_JOB, BATCH_JOB):
            continue
        result = job.result if isinstance(job.result, dict) else {}
        status = result.get("status" if job.type == RUN_JOB else "run_status")
        if status not in (None, RunStatus.QUEUED, RunStatus.RUNNING):
            done[str(result["run_id"])] = None
    return list(done)


def new_run_id() -> str:
    return make_run_id(now_ms())


def lambda_invoker(settings: Settings, aws: AwsClients) -> Callable[[dict[str, Any]], None]:
    """Invoke this function asynchronously (``InvocationType=Event``), exactly as on AWS."""

    def invoke(event: dict[str, Any]) -> None:
        name = settings.cron_function_name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        if not name:
            raise RuntimeError("no function to invoke: set QUEUE_CRON_FUNCTION_NAME")
        aws.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode())

    return invoke
