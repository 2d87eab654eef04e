"""Every setting of a deployment, read once from the environment (prefix ``QUEUE_``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from relayq.domain.models import MAX_JOB_TIMEOUT

# Seconds one cron batch job may take (its job timeout): well inside one worker invocation.
CRON_BATCH_TIMEOUT = 600


class Settings(BaseSettings):
    """Deployment settings. A bad value fails at start with the variable's name."""

    model_config = SettingsConfigDict(env_prefix="QUEUE_", extra="ignore", frozen=True)

    # Redis / ElastiCache. ``rediss://`` turns TLS on; the auth token may also come separately
    # (ElastiCache AUTH / Valkey user password) so the URL can live in plain configuration.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_auth_token: str | None = None
    # Secrets Manager secret holding the auth token (plain text, or JSON with a "password" key as the
    # template generates it); read once per container when no token is given directly.
    redis_auth_secret_arn: str | None = None
    redis_cluster: bool = False
    redis_socket_timeout: float = Field(default=2.0, gt=0)
    # Every key of one deployment shares this hash tag so multi-key scripts stay in one slot.
    key_prefix: str = "rq"

    jobs_table: str = "relayq-jobs"
    tokens_table: str = "relayq-tokens"
    idempotency_table: str = "relayq-idempotency"

    default_queue: str = "default"
    default_priority: int = Field(default=50, ge=0, le=1000)
    default_max_attempts: int = Field(default=3, ge=1, le=100)
    default_timeout: int = Field(default=300, ge=1, le=MAX_JOB_TIMEOUT)
    # Retry delays of the plugin: 60 s, 300 s, 900 s, then min(2^attempt * 60 s, 3600 s).
    retry_delays: Annotated[tuple[int, ...], NoDecode] = (60, 300, 900)
    retry_max_delay: int = Field(default=3600, ge=1)
    retry_jitter: float = Field(default=0.1, ge=0, le=1)
    # Extra time past a job's timeout before its lease counts as abandoned.
    lease_grace_seconds: int = Field(default=30, ge=0)
    retention_days: int = Field(default=14, ge=1)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1, le=350 * 1024)
    # Modules imported at start that register custom job types (comma separated).
    job_modules: Annotated[tuple[str, ...], NoDecode] = ()

    # --- workers (relayq.services.worker) ---
    # Jobs run at once by one worker invocation (a thread pool; jobs are mostly I/O-bound).
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    # Time kept back from the Lambda timeout to record the last job and return.
    worker_reserve_seconds: int = Field(default=5, ge=0, le=60)
    # Jobs of a queue in flight across all workers at once ("api=2,image=4"; unlisted: no limit).
    concurrency_limits: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # An exclusive job that finds its type's lock taken waits this long in the delayed set.
    exclusive_retry_seconds: int = Field(default=5, ge=1, le=3600)
    # Status and recent jobs of workers expire from Redis after this.
    worker_status_ttl_seconds: int = Field(default=86_400, ge=60)
    # Idle-queue kick: queue -> worker function to invoke ("email=fn-a,image=fn-b,*=fn-c");
    # empty turns the kick off.
    kick_functions: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    kick_max_jobs: int = Field(default=100, ge=1, le=10_000)
    # How long one kick keeps further kicks of the same queue quiet if no worker shows up.
    kick_debounce_ms: int = Field(default=10_000, ge=100, le=900_000)

    # --- built-in job types (relayq.job_types) ---
    email_from: str | None = None
    images_bucket: str | None = None
    api_sync_max_response_bytes: int = Field(default=64 * 1024, ge=0, le=256 * 1024)

    @field_validator("concurrency_limits", "kick_functions", mode="before")
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        """``name=value,name=value`` (the same style as the other list settings)."""
        if isinstance(value, str):
            pairs = (part.split("=", 1) for part in value.split(",") if part.strip())
            return {name.strip(): item.strip() for name, item in pairs}
        return value

    # REST API and tokens. Routes a scope may call, as "METHOD /path" patterns ("*" matches any
    # text, "*" alone any route); JSON in the environment, like the plugin's allowed-routes filter.
    token_allowed_routes: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "full": ["*"],
            "worker": ["POST /workers/trigger", "GET /run", "POST /run", "POST /process-queue"],
        }
    )
    # Calls per token per minute when a token has no limit of its own (the contract's default: 60).
    rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # --- all-sites cron (functions/cron, relayq.services.cron) ---
    # Sites listed here are cron'd together with the records managed through /sites.
    cron_sites: Annotated[tuple[str, ...], NoDecode] = ()
    sites_table: str = "relayq-sites"
    runs_table: str = "relayq-runs"
    cron_queue: str = "cron"
    cron_concurrency: int = Field(default=50, ge=1, le=1000)
    cron_request_timeout: float = Field(default=10.0, gt=0, le=60)
    cron_connect_retries: int = Field(default=2, ge=0, le=5)
    # Sites per batch job. The worst case of one batch, ceil(batch/concurrency) rounds of
    # timeout x (retries + 1), must fit the batch job's timeout (checked below).
    cron_batch_size: int = Field(default=500, ge=1, le=5000)
    cron_max_sites: int = Field(default=10_000, ge=1)
    cron_lock_seconds: int = Field(default=300, ge=1)
    cron_cooldown_seconds: int = Field(default=60, ge=0)
    # Shown in each request's user-agent (``All Sites Cron; <home url>``); empty: the site's own.
    cron_home_url: str = ""
    # The function that runs deferred work when Redis is down; empty: AWS_LAMBDA_FUNCTION_NAME.
    cron_function_name: str = ""

    @field_validator("key_prefix")
    @classmethod
    def _no_braces(cls, value: str) -> str:
        if not value or any(ch in value for ch in "{}: \t"):
            raise ValueError("must be a non-empty name without braces, colons or spaces")
        return value

    @field_validator("redis_auth_token", "redis_auth_secret_arn", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CloudFormation cannot leave a variable out conditionally, so "" means "not configured".
        return value or None

    @field_validator("retry_delays", "job_modules", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("cron_sites", mode="before")
    @classmethod
    def _split_sites(cls, value: object) -> object:
        return cls._split_csv(value)

    @model_validator(mode="after")
    def _cron_batch_fits(self) -> Settings:
        rounds = -(-self.cron_batch_size // self.cron_concurrency)
        worst = rounds * self.cron_request_timeout * (self.cron_connect_retries + 1)
        if worst > CRON_BATCH_TIMEOUT:
            raise ValueError(
                f"a cron batch could take {worst:g} s (batch size / concurrency x timeout x attempts); "
                f"lower QUEUE_CRON_BATCH_SIZE or QUEUE_CRON_REQUEST_TIMEOUT to fit {CRON_BATCH_TIMEOUT} s"
            )
        return self
