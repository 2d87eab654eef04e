"""What a cron trigger comes to, each with its one-line message and the plugin's body: a run queued
for the background, a finished run's summary, a pass over the cron queue. Which HTTP status each
one answers with is the cron function's choice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from relayq.domain.clock import now_ms, to_text
from relayq.domain.cron import LOCK_HELD, RUN_JOB, Run, RunStatus
from relayq.domain.outcomes import BatchResult

MAX_ERROR_LINES = 20


def _now_text() -> str:
    return to_text(now_ms())


@dataclass(frozen=True)
class QueuedRun:
    """A run handed to the background: queued in Redis, or to an asynchronous invocation.
    ``last_run``: the newest finished run, whose outcome a deferred trigger reports (a trigger
    every 5 minutes with ``defer=1`` would otherwise never show that its runs fail)."""

    run_id: str
    mode: Literal["redis", "deferred"]
    message: str
    coalesced: bool = False  # joined a run that was already queued
    last_run: Run | None = None
    timestamp: str = field(default_factory=_now_text)

    @property
    def level(self) -> str:
        return "notice" if self.last_run is None else RUN_LEVEL.get(self.last_run.status, "notice")

    @property
    def line(self) -> str:
        """The ``ga=1`` line: the plugin's message, and what the last run came to when it failed."""
        last = self.last_run
        if last is None or self.level == "notice":
            return self.message
        outcome = (
            "had no enabled site"
            if last.status == RunStatus.NO_SITES
            else (f"{last.failed} of {last.sites_total} sites failed")
        )
        return f"{self.message}; the last run ({last.run_id}, {last.status}) {outcome}"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "success": True,
            "status": "queued",
            "message": self.message,
            "timestamp": self.timestamp,
            "mode": self.mode,
            "run_id": self.run_id,
        }
        if self.coalesced:
            body["coalesced"] = True
        if self.last_run is not None:
            last = self.last_run
            body["last_run"] = {
                "run_id": last.run_id,
                "status": last.status,
                "sites": last.sites_total,
                "succeeded": last.succeeded,
                "failed": last.failed,
                "finished_at": last.finished_at,
            }
        return body


# The GitHub Actions annotation of a finished run, by what it came to: the plugin prints
# ``::notice::`` for every synchronous run (its status is always 200); a failure is not a notice.
RUN_LEVEL: dict[RunStatus, str] = {
    RunStatus.SUCCEEDED: "notice",
    RunStatus.COMPLETED_WITH_ERRORS: "warning",
    RunStatus.FAILED: "error",
    RunStatus.NO_SITES: "error",
}

# The plugin's ``error_code`` of a run with errors (it has PARTIAL_FAILURE only), and ours.
ERROR_CODE: dict[RunStatus, str] = {
    RunStatus.NO_SITES: "NO_SITES",
    RunStatus.COMPLETED_WITH_ERRORS: "PARTIAL_FAILURE",
    RunStatus.FAILED: "ALL_FAILED",
}


@dataclass(frozen=True)
class RunSummary:
    """The plugin's summary of a finished run (``success, count, message, timestamp``), with this
    run's status, counts and per-status counts beside it."""

    run: Run
    timestamp: str = field(default_factory=_now_text)

    @property
    def success(self) -> bool:
        return self.run.status == RunStatus.SUCCEEDED

    @property
    def level(self) -> str:
        return RUN_LEVEL.get(self.run.status, "notice")

    @property
    def error_code(self) -> str | None:
        return ERROR_CODE.get(self.run.status)

    @property
    def errors(self) -> list[str]:
        return [f"Error for {r.site}: {r.error}" for r in self.run.results or [] if not r.ok]

    @property
    def message(self) -> str:
        if self.run.status == RunStatus.NO_SITES:
            return "No enabled sites found"
        if self.run.failed:
            errors = self.errors
            shown = "; ".join(errors[:3]) + ("..." if len(errors) > 3 else "")
            return f"Completed with {self.run.failed} error(s): {shown}"
        return f"Running wp-cron on {self.run.sites_total} sites"

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        body: dict[str, Any] = {
            "success": self.success,
            "count": run.sites_total,
            "message": self.message,
            "timestamp": self.timestamp,
            "endpoint": "rest",
            "run_id": run.run_id,
            "status": run.status,
            "mode": run.mode,
            "sites": run.sites_total,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "errors": run.failed,
            "duration_ms": run.duration_ms,
            "status_counts": run.status_counts,
        }
        if self.error_code is not None:
            body["error_code"] = self.error_code
        if run.sites_total and run.failed:
            body["error_details"] = self.errors[:MAX_ERROR_LINES]
        return body


@dataclass(frozen=True)
class ProcessQueueResult:
    """One pass over the cron queue (``/process-queue``, the schedule, the idle-queue kick), and the
    runs it finished (their summaries, newest last)."""

    batch: BatchResult
    runs: list[RunSummary] = field(default_factory=list)
    timestamp: str = field(default_factory=_now_text)

    @property
    def lock_held(self) -> bool:
        """A run job found another run holding the lock and went back to the queue (the plugin's
        409: the job is re-queued), and no run finished in this pass."""
        return not self.runs and any(
            o.status == "retry" and o.job is not None and o.job.type == RUN_JOB and o.error == LOCK_HELD
            for o in self.batch.outcomes
        )

    @property
    def success(self) -> bool:
        """No job failed for good (a failure that will be retried is not one), no run it finished
        failed, and no run waits for the lock."""
        batch = self.batch
        return batch.failed - batch.retried == 0 and all(r.success for r in self.runs) and not self.lock_held

    @property
    def message(self) -> str:
        if self.lock_held:
            return "Lock held — job re-queued for later processing."
        if self.runs:
            return self.runs[-1].message
        processed = self.batch.processed
        return "No jobs in queue" if processed == 0 else f"Processed {processed} cron job(s)"

    def to_dict(self) -> dict[str, Any]:
        """The last finished run's summary (``count``: its sites), or ``count``: the jobs run; the
        pass's job counts in ``jobs`` either way."""
        batch = self.batch
        body: dict[str, Any] = {"count": batch.processed}
        if self.runs:
            body = self.runs[-1].to_dict()
            if len(self.runs) > 1:
                body["runs"] = [r.to_dict() for r in self.runs]
        if self.lock_held:
            body["retry"] = True
        jobs = {k: getattr(batch, k) for k in ("processed", "successful", "failed", "retried", "recovered", "errors")}
        return {**body, "success": self.success, "message": self.message, "timestamp": self.timestamp, "jobs": jobs}
