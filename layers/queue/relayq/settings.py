"""Every setting of a deployment, read once from the environment (prefix ``QUEUE_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .models import MAX_JOB_TIMEOUT


class Settings(BaseSettings):
    """Deployment settings. A bad value fails at start with the variable's name."""

    model_config = SettingsConfigDict(env_prefix="QUEUE_", extra="ignore", frozen=True)

    # Redis / ElastiCache. ``rediss://`` turns TLS on; the auth token may also come separately
    # (ElastiCache AUTH / Valkey user password) so the URL can live in plain configuration.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_auth_token: str | None = None
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

    # REST API and tokens. Routes a scope may call, as "METHOD /path" patterns ("*" matches any
    # text, "*" alone any route); JSON in the environment, like the plugin's allowed-routes filter.
    token_allowed_routes: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "full": ["*"],
            "worker": ["POST /workers/trigger", "GET /run", "POST /run", "POST /process-queue"],
        }
    )
    rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    @field_validator("key_prefix")
    @classmethod
    def _no_braces(cls, value: str) -> str:
        if not value or any(ch in value for ch in "{}: \t"):
            raise ValueError("must be a non-empty name without braces, colons or spaces")
        return value

    @field_validator("retry_delays", "job_modules", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (one read of the environment per container)."""
    return Settings()
