"""What running jobs came to: one job's outcome, and the counts of a batch or a whole invocation."""

from __future__ import annotations

from dataclasses import dataclass, field

from relayq.domain.models import Job


@dataclass
class Outcome:
    job_id: str
    status: str  # completed | retry | failed | skipped | deferred
    error: str | None = None
    duration_ms: float = 0.0
    job: Job | None = None


@dataclass
class JobCounts:
    """What a batch, or a whole worker invocation, did."""

    processed: int = 0
    successful: int = 0
    failed: int = 0
    retried: int = 0
    recovered: int = 0
    promoted: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def add_counts(self, other: JobCounts) -> None:
        for name in ("processed", "successful", "failed", "retried", "recovered", "promoted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


@dataclass
class BatchResult(JobCounts):
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status in ("skipped", "deferred"):
            return
        self.processed += 1
        if outcome.status == "completed":
            self.successful += 1
            return
        if outcome.status == "retry":
            self.retried += 1
        self.failed += 1
        self.errors.append({"job_id": outcome.job_id, "error": outcome.error or "unknown error"})
