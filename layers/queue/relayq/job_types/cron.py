"""The run and its batches as job types of the core queue (queue ``cron`` by default): a
deferred trigger is one enqueue, and /process-queue, the schedule or any worker run them with the
core's leases, retries and job records. The container registers them with the cron runner they
drive, in every container that builds the cron service."""

from __future__ import annotations

from typing import Any, ClassVar

from relayq.aws import AwsClients
from relayq.domain.cron import BATCH_JOB, LOCK_HELD, RUN_JOB, BatchSpec, RunPayload
from relayq.domain.registry import JobContext, JobType, RetryableJobError
from relayq.services.cron.runner import CronRunner, Dispatch
from relayq.settings import CRON_BATCH_TIMEOUT, Settings


class CronRunJob(JobType):
    """Plan a run; a network of one batch is cron'd right here, a larger one becomes batch jobs."""

    name: ClassVar[str] = RUN_JOB
    payload_model = RunPayload
    priority = 10
    # Waiting for another run's lock uses attempts; the plugin's lock lasts at most 300 s.
    max_attempts = 10
    timeout = CRON_BATCH_TIMEOUT + 60

    def __init__(self, settings: Settings, aws: AwsClients, runner: CronRunner, dispatch: Dispatch) -> None:
        super().__init__(settings, aws)
        self.runner = runner
        self.dispatch = dispatch

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        run_id = payload["run_id"]
        busy_ms = self.runner.guard.hold(run_id)
        if busy_ms:
            raise RetryableJobError(LOCK_HELD, retry_after=min(busy_ms / 1000, 300))
        try:
            run = self.runner.run_now(run_id, self.dispatch)
        except Exception:
            self.runner.abandon(run_id)
            raise
        return {
            "run_id": run_id,
            "status": run.status,  # running while its batch jobs go on
            "sites": run.sites_total,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "batches": run.batches_total,
        }


class CronBatchJob(JobType):
    name: ClassVar[str] = BATCH_JOB
    payload_model = BatchSpec
    priority = 20
    timeout = CRON_BATCH_TIMEOUT

    def __init__(self, settings: Settings, aws: AwsClients, runner: CronRunner) -> None:
        super().__init__(settings, aws)
        self.runner = runner

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        spec = BatchSpec.model_validate(payload)
        run = self.runner.run_batch(spec)
        return {
            "run_id": spec.run_id,
            "index": spec.index,
            "sites": len(spec.targets),
            "run_status": run.status if run else None,
        }
