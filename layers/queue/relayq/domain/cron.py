"""What the all-sites cron reads and writes: sites, per-site results, runs and their batches."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field, model_validator

from relayq.domain.models import NewJob

RUN_ID_PATTERN = r"^run_[0-9a-f]{12}[0-9a-f]{8}$"


def check_http_url(url: str) -> str:
    """Only absolute http(s) URLs: the fan-out POSTs to them and nothing else."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(url) > 2048:
        raise ValueError("must be an absolute http:// or https:// URL (at most 2048 characters)")
    return url


HttpUrl = Annotated[str, AfterValidator(check_http_url)]


def new_run_id(epoch_ms: int) -> str:
    """``run_`` + 12 hex digits of the time + 32 random bits: unique and time-ordered."""
    return f"run_{epoch_ms:012x}{secrets.token_hex(4)}"


class Site(BaseModel):
    """One site of the network. ``cron_url`` defaults to ``<url>/wp-cron.php?doing_wp_cron=<t>``."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    cron_url: HttpUrl | None = None
    enabled: bool = True


class CronTarget(BaseModel):
    """A site as one batch calls it: the exact URL to POST and the home URL of its user-agent."""

    site: str
    url: str


class SiteResult(BaseModel):
    site: str
    status: int | None = None
    duration_ms: float
    attempts: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400

    @property
    def status_key(self) -> str:
        """How per-status counts group it: the HTTP code, or ``error`` when none came back."""
        return str(self.status) if self.status is not None else "error"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every site answered 2xx/3xx
    COMPLETED_WITH_ERRORS = "completed_with_errors"  # some sites failed
    FAILED = "failed"  # every site failed
    NO_SITES = "no_sites"  # nothing to call: no enabled site


# What records written before the finished statuses were split said of every finished run.
LEGACY_COMPLETED = "completed"


def finished_status(sites: int, succeeded: int, failed: int) -> RunStatus:
    """What a finished run came to, from its counts."""
    if sites == 0:
        return RunStatus.NO_SITES
    if failed == 0:
        return RunStatus.SUCCEEDED
    return RunStatus.COMPLETED_WITH_ERRORS if succeeded else RunStatus.FAILED


class Run(BaseModel):
    """A run as /runs shows it. Totals grow as its batches report in; ``sites`` is the contract's
    name of ``sites_total``, beside ``succeeded`` and ``failed``."""

    run_id: str
    status: RunStatus
    mode: Literal["sync", "redis", "deferred"]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: int | None = None
    triggered_by: str | None = None
    sites_total: int = 0
    batches_total: int = 0
    batches_done: int = 0
    succeeded: int = 0
    failed: int = 0
    status_counts: dict[str, int] = Field(default_factory=dict)
    results: list[SiteResult] | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_status(cls, data: object) -> object:
        """A record stored as ``completed`` reads as what its counts say it was."""
        if isinstance(data, dict) and data.get("status") == LEGACY_COMPLETED:
            counts = (int(data.get(k) or 0) for k in ("sites_total", "succeeded", "failed"))
            return {**data, "status": finished_status(*counts)}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sites(self) -> int:
        return self.sites_total

    @property
    def finished(self) -> bool:
        return self.status not in (RunStatus.QUEUED, RunStatus.RUNNING)


class BatchSpec(BaseModel):
    """One batch job's work: which run, which slice, the exact URLs to call."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    index: int = Field(ge=0)
    targets: list[CronTarget] = Field(min_length=1)


class RunPayload(BaseModel):
    run_id: str = Field(pattern=RUN_ID_PATTERN)


# The run and its batches are jobs of the core queue (the cron queue), of these two types.
RUN_JOB = "cron_run"
BATCH_JOB = "cron_batch"
# The error a run job retries with while another run holds the lock (/process-queue's 409).
LOCK_HELD = "another cron run is in progress"


def batch_jobs(specs: list[BatchSpec], queue: str) -> list[NewJob]:
    return [NewJob(type=BATCH_JOB, queue=queue, payload=spec.model_dump()) for spec in specs]
