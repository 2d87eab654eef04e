"""The cron service: admit a run and run it now (sync), queue it in Redis (deferred), or, when
Redis is down, hand it to an asynchronous invocation of this same function. Answers in the
plugin's shape."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from relayq.aws import AwsClients
from relayq.domain.clock import now_ms, to_text
from relayq.domain.cron import RUN_JOB, BatchSpec, Run, batch_jobs
from relayq.domain.cron import new_run_id as make_run_id
from relayq.domain.errors import QueueError, RedisUnavailable
from relayq.domain.models import NewJob
from relayq.services.cron.runner import CronRunner
from relayq.services.jobs import JobService
from relayq.settings import Settings

logger = logging.getLogger(__name__)

MESSAGE_REDIS = "Cron job queued to Redis for background processing"
MESSAGE_DEFERRED = "Cron job queued for background processing"
MESSAGE_JOINED = "A cron run is already queued; this trigger joins it"
MAX_ERROR_LINES = 20


class DeferredUnavailable(QueueError):
    code = "deferred_unavailable"
    status = 503
    message = "Neither Redis nor an asynchronous invocation could take the cron run."


@dataclass
class Answer:
    """What /run says: an HTTP status, a one-line message (``ga=1``) and the JSON body."""

    status: int
    message: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status >= 400


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

    def start_run(self, *, defer: bool, triggered_by: str | None = None) -> Answer:
        run_id = new_run_id()
        if defer:
            return self._defer(run_id, triggered_by)
        return self._sync(run_id, triggered_by)

    def _sync(self, run_id: str, triggered_by: str | None) -> Answer:
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
        return summary(self.runs.get(run_id))

    def _defer(self, run_id: str, triggered_by: str | None) -> Answer:
        try:
            admission = self.guard.admit("defer", run_id)
            if admission.outcome == "coalesced":
                return queued_answer(admission.run_id, "redis", MESSAGE_JOINED, coalesced=True)
            try:
                self.runs.create(run_id, "redis", triggered_by)
                self.jobs().create(NewJob(type=RUN_JOB, queue=self.settings.cron_queue, payload={"run_id": run_id}))
            except Exception:
                # No queued mark may outlive its run: later triggers would join a run that never comes.
                self.runner.abandon(run_id)
                with contextlib.suppress(QueueError):
                    self.runs.discard(run_id)
                raise
            return queued_answer(run_id, "redis", MESSAGE_REDIS)
        except (RedisError, RedisUnavailable) as error:
            logger.warning("Redis unavailable (%s): deferring the cron run by async invocation", type(error).__name__)
        run_id = new_run_id()
        self.runs.create(run_id, "deferred", triggered_by)
        try:
            self.invoke(RunEvent(cron_action="run", run_id=run_id).model_dump())
        except Exception as error:
            self.runs.discard(run_id)
            raise DeferredUnavailable() from error
        return queued_answer(run_id, "deferred", MESSAGE_DEFERRED)

    # --- the deferred fallback's own events -----------------------------------------------------

    def handle_event(self, raw: dict[str, Any], deadline_ms: int) -> dict[str, Any]:
        event = CronEvent.model_validate({"event": raw}).event
        if isinstance(event, RunEvent):
            run = self.runner.run_now(event.run_id, self.invoke_batches)
            return run.model_dump(mode="json", exclude_none=True)
        if isinstance(event, BatchEvent):
            batch_run = self.runner.run_batch(BatchSpec.model_validate(event.model_dump()))
            return {"run_id": event.run_id, "index": event.index, "status": batch_run.status if batch_run else None}
        return self.process_queue(event.max_jobs, deadline_ms).body

    def invoke_batches(self, specs: Sequence[BatchSpec]) -> None:
        for spec in specs:
            self.invoke({"cron_action": "batch", **spec.model_dump()})

    def enqueue_batches(self, specs: Sequence[BatchSpec]) -> None:
        self.jobs().create_many(batch_jobs(list(specs), self.settings.cron_queue))

    # --- /process-queue -------------------------------------------------------------------------

    def process_queue(self, max_jobs: int, deadline_ms: int) -> Answer:
        result = self.jobs().process([self.settings.cron_queue], max_jobs, deadline_ms=deadline_ms)
        final = result.failed - result.retried
        message = "No jobs in queue" if result.processed == 0 else f"Processed {result.processed} cron job(s)"
        body = {
            "success": final == 0,
            "message": message,
            "count": result.processed,
            "successful": result.successful,
            "failed": result.failed,
            "retried": result.retried,
            "recovered": result.recovered,
            "errors": result.errors,
            "timestamp": to_text(now_ms()),
        }
        return Answer(200 if final == 0 else 500, message, body)


def new_run_id() -> str:
    return make_run_id(now_ms())


def queued_answer(run_id: str, mode: str, message: str, *, coalesced: bool = False) -> Answer:
    body = {
        "success": True,
        "status": "queued",
        "message": message,
        "timestamp": to_text(now_ms()),
        "mode": mode,
        "run_id": run_id,
    }
    if coalesced:
        body["coalesced"] = True
    return Answer(202, message, body)


def summary(run: Run) -> Answer:
    """The plugin's summary of a finished run, with this run's totals and per-status counts."""
    results = run.results or []
    errors = [f"Error for {r.site}: {r.error}" for r in results if not r.ok]
    body: dict[str, Any] = {
        "success": run.sites_total > 0 and run.failed == 0,
        "count": run.sites_total,
        "errors": run.failed,
        "timestamp": to_text(now_ms()),
        "mode": "sync",
        "run_id": run.run_id,
        "duration_ms": run.duration_ms,
        "succeeded": run.succeeded,
        "status_counts": run.status_counts,
    }
    if run.sites_total == 0:
        message, status = "No enabled sites found", 500
        body["error_code"] = "NO_SITES"
    elif run.failed:
        shown = "; ".join(errors[:3]) + ("..." if len(errors) > 3 else "")
        message = f"Completed with {run.failed} error(s): {shown}"
        status = 207 if run.succeeded else 500
        body["error_code"] = "PARTIAL_FAILURE" if run.succeeded else "ALL_FAILED"
        body["error_details"] = errors[:MAX_ERROR_LINES]
    else:
        message, status = f"Ran wp-cron on {run.sites_total} sites", 200
    body["message"] = message
    return Answer(status, message, body)


def lambda_invoker(settings: Settings, aws: AwsClients) -> Callable[[dict[str, Any]], None]:
    """Invoke this function asynchronously (``InvocationType=Event``), exactly as on AWS."""

    def invoke(event: dict[str, Any]) -> None:
        name = settings.cron_function_name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        if not name:
            raise RuntimeError("no function to invoke: set QUEUE_CRON_FUNCTION_NAME")
        aws.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode())

    return invoke
