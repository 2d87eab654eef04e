"""The run and its batches as job types of the core queue (queue ``cron`` by default): a
deferred trigger is one enqueue, and /process-queue, the schedule or any worker run them with the
core's leases, retries and job records. Imported by the trigger; list this module in
``QUEUE_JOB_MODULES`` for other workers that process the cron queue."""

from __future__ import annotations

from typing import Any, ClassVar

from ..models import NewJob
from ..registry import JobContext, JobType, RetryableJobError, registry
from ..settings import CRON_BATCH_TIMEOUT
from .models import BatchSpec, RunPayload

RUN_JOB = "cron_run"
BATCH_JOB = "cron_batch"


@registry.register
class CronRunJob(JobType):
    """Plan a run; a network of one batch is cron'd right here, a larger one becomes batch jobs."""

    name: ClassVar[str] = RUN_JOB
    payload_model = RunPayload
    priority = 10
    # Waiting for another run's lock uses attempts; the plugin's lock lasts at most 300 s.
    max_attempts = 10
    timeout = CRON_BATCH_TIMEOUT + 60

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        from .trigger import get_cron

        cron = get_cron()
        run_id = payload["run_id"]
        busy_ms = cron.runner.guard.hold(run_id)
        if busy_ms:
            raise RetryableJobError("another cron run is in progress", retry_after=min(busy_ms / 1000, 300))
        try:
            run = cron.runner.run_now(run_id, cron.enqueue_batches)
        except Exception:
            cron.runner.abandon(run_id)
            raise
        return {"run_id": run_id, "sites": run.sites_total, "batches": run.batches_total, "status": run.status}


@registry.register
class CronBatchJob(JobType):
    name: ClassVar[str] = BATCH_JOB
    payload_model = BatchSpec
    priority = 20
    timeout = CRON_BATCH_TIMEOUT

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        from .trigger import get_cron

        spec = BatchSpec.model_validate(payload)
        run = get_cron().runner.run_batch(spec)
        return {
            "run_id": spec.run_id,
            "index": spec.index,
            "sites": len(spec.targets),
            "run_status": run.status if run else None,
        }


def batch_jobs(specs: list[BatchSpec], queue: str) -> list[NewJob]:
    return [NewJob(type=BATCH_JOB, queue=queue, payload=spec.model_dump()) for spec in specs]
