"""What a cron trigger comes to, each with its one-line message and the plugin's body: a run queued
for the background, a finished run's summary, a pass over the cron queue. Which HTTP status each
one answers with is the cron function's choice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from relayq.domain.clock import now_ms, to_text
from relayq.domain.cron import Run
from relayq.domain.outcomes import BatchResult

MAX_ERROR_LINES = 20


def _now_text() -> str:
    return to_text(now_ms())


@dataclass(frozen=True)
class QueuedRun:
    """A run handed to the background: queued in Redis, or to an asynchronous invocation."""

    run_id: str
    mode: Literal["redis", "deferred"]
    message: str
    coalesced: bool = False  # joined a run that was already queued
    timestamp: str = field(default_factory=_now_text)

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
        return body


@dataclass(frozen=True)
class RunSummary:
    """The plugin's summary of a finished run, with this run's totals and per-status counts."""

    run: Run
    timestamp: str = field(default_factory=_now_text)

    @property
    def error_code(self) -> Literal["NO_SITES", "PARTIAL_FAILURE", "ALL_FAILED"] | None:
        if self.run.sites_total == 0:
            return "NO_SITES"
        if self.run.failed:
            return "PARTIAL_FAILURE" if self.run.succeeded else "ALL_FAILED"
        return None

    @property
    def errors(self) -> list[str]:
        return [f"Error for {r.site}: {r.error}" for r in self.run.results or [] if not r.ok]

    @property
    def message(self) -> str:
        if self.run.sites_total == 0:
            return "No enabled sites found"
        if self.run.failed:
            errors = self.errors
            shown = "; ".join(errors[:3]) + ("..." if len(errors) > 3 else "")
            return f"Completed with {self.run.failed} error(s): {shown}"
        return f"Ran wp-cron on {self.run.sites_total} sites"

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        body: dict[str, Any] = {
            "success": run.sites_total > 0 and run.failed == 0,
            "count": run.sites_total,
            "errors": run.failed,
            "timestamp": self.timestamp,
            "mode": "sync",
            "run_id": run.run_id,
            "duration_ms": run.duration_ms,
            "succeeded": run.succeeded,
            "status_counts": run.status_counts,
        }
        if self.error_code is not None:
            body["error_code"] = self.error_code
        if run.sites_total and run.failed:
            body["error_details"] = self.errors[:MAX_ERROR_LINES]
        body["message"] = self.message
        return body


@dataclass(frozen=True)
class ProcessQueueResult:
    """One pass over the cron queue (``/process-queue``, the schedule, the idle-queue kick)."""

    batch: BatchResult
    timestamp: str = field(default_factory=_now_text)

    @property
    def success(self) -> bool:
        """No job failed for good (a failure that will be retried is not one)."""
        return self.batch.failed - self.batch.retried == 0

    @property
    def message(self) -> str:
        processed = self.batch.processed
        return "No jobs in queue" if processed == 0 else f"Processed {processed} cron job(s)"

    def to_dict(self) -> dict[str, Any]:
        batch = self.batch
        return {
            "success": self.success,
            "message": self.message,
            "count": batch.processed,
            "successful": batch.successful,
            "failed": batch.failed,
            "retried": batch.retried,
            "recovered": batch.recovered,
            "errors": batch.errors,
            "timestamp": self.timestamp,
        }
