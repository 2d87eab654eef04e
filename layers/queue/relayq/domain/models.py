"""The job as the REST contract shows it, and the request that creates one."""

from __future__ import annotations

import json
import re
import secrets
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
JOB_ID = re.compile(r"^job_[0-9a-f]{12}[0-9a-f]{16}$")
TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
# A job must finish inside one worker invocation (Lambda stops at 900 s) with time to record it.
MAX_JOB_TIMEOUT = 880


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


def check_queue_name(name: str) -> str:
    """Queue names become Redis key parts: only a safe alphabet, so no name reaches another key."""
    if not QUEUE_NAME.match(name):
        raise ValueError(
            "queue names are 1-64 characters of letters, digits, '_', '-' and '.', starting with a letter or digit"
        )
    return name


def check_type_name(name: str) -> str:
    if not TYPE_NAME.match(name):
        raise ValueError("job types are 1-64 characters of letters, digits, '_', '-' and '.', starting with a letter")
    return name


QueueName = Annotated[str, AfterValidator(check_queue_name)]
TypeName = Annotated[str, AfterValidator(check_type_name)]


def new_job_id(epoch_ms: int) -> str:
    """``job_`` + 12 hex digits of the creation time + 64 random bits: unique and time-ordered."""
    return f"job_{epoch_ms:012x}{secrets.token_hex(8)}"


def created_ms(job_id: str) -> int:
    """The creation time written into a job id."""
    return int(job_id[4:16], 16)


def is_job_id(value: str) -> bool:
    return bool(JOB_ID.match(value))


def payload_size(payload: Any) -> int:
    return len(json.dumps(payload, separators=(",", ":"), default=str).encode())


# The attempt history a job record keeps: the newest attempts, each error and traceback cut, so the
# history stays within ~25 KB of the item (DynamoDB's items stop at 400 KB; payload and result share them).
MAX_ATTEMPT_ERRORS = 10
MAX_ERROR_CHARS = 1000
MAX_TRACEBACK_CHARS = 1500


class AttemptError(BaseModel):
    """Why one attempt of a job failed: its number, when, the error and the end of its traceback."""

    attempt: int
    at: str
    error: str
    traceback: str | None = None

    @classmethod
    def of(cls, attempt: int, at: str, error: str, traceback: str | None = None) -> AttemptError:
        # The end of a traceback names the failing line; the start is the worker's own frames.
        return cls(
            attempt=attempt,
            at=at,
            error=error[:MAX_ERROR_CHARS],
            traceback=traceback[-MAX_TRACEBACK_CHARS:] if traceback else None,
        )


class Job(BaseModel):
    """The contract's Job Object, plus ``delay_until`` for jobs that wait for a time."""

    model_config = ConfigDict(use_enum_values=True)

    id: str
    type: str
    queue: str
    status: JobStatus
    priority: int
    payload: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    attempts: int = 0
    max_attempts: int
    timeout: int
    error_message: str | None = None
    created_at: str
    updated_at: str
    processed_at: str | None = None
    failed_at: str | None = None
    delay_until: str | None = None
    # Every failed attempt, oldest first (the newest MAX_ATTEMPT_ERRORS); error_message is the last.
    attempt_errors: list[AttemptError] = Field(default_factory=list)
    # The fencing token (Redis' claim counter) of the attempt that started last; None before the
    # first start. Bookkeeping of the store, never shown: every dump leaves it out.
    fence: int | None = Field(default=None, exclude=True)

    @property
    def last_token(self) -> int:
        """The highest fencing token this record has seen; Redis hands out only higher ones. (A
        record written before tokens were kept apart from attempts has its token in ``attempts``.)"""
        return max(self.fence or 0, self.attempts)

    def errors_with(self, failure: AttemptError) -> list[AttemptError]:
        """The attempt history with ``failure`` added, the oldest dropped past the cap."""
        return [*self.attempt_errors, failure][-MAX_ATTEMPT_ERRORS:]


class NewJob(BaseModel):
    """A request to create a job, after defaults are applied by the queue service."""

    model_config = ConfigDict(extra="forbid")

    type: TypeName
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int | None = Field(default=None, ge=0, le=1000)
    queue: QueueName | None = None
    delay: int = Field(default=0, ge=0, le=365 * 24 * 3600, description="Seconds to wait before the job may run.")
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    timeout: int | None = Field(default=None, ge=1, le=MAX_JOB_TIMEOUT, description="Seconds a run may take.")
