"""Every setting of a deployment, read once from the environment (prefix ``QUEUE_``)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from relayq.domain.addresses import parse_rule
from relayq.domain.models import MAX_JOB_TIMEOUT

# Seconds one cron batch job may take (its job timeout): well inside one worker invocation.
CRON_BATCH_TIMEOUT = 600


class Settings(BaseSettings):
    """Deployment settings. A bad value fails at start with the variable's name.

    Each field's description is its documentation: ``python -m tools.config_docs`` writes
    docs/configuration.md from them (a test fails when that page is stale)."""

    model_config = SettingsConfigDict(env_prefix="QUEUE_", extra="ignore", frozen=True)

    # --- Redis / ElastiCache ---
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis/Valkey URL; `rediss://` turns TLS on.",
    )
    redis_auth_token: str | None = Field(
        default=None,
        description="AUTH token (ElastiCache AUTH, Valkey user password), given separately so the URL can "
        "live in plain configuration.",
    )
    redis_auth_secret_arn: str | None = Field(
        default=None,
        description="Secrets Manager secret holding the auth token (plain text, or JSON with a `password` key "
        "as the template generates it); read once per container when no token is given directly.",
    )
    redis_cluster: bool = Field(
        default=False,
        description="Speak the cluster protocol (ElastiCache Serverless, cluster mode).",
    )
    redis_ca_file: str | None = Field(
        default=None,
        description="PEM file of the CA certificates a `rediss://` connection trusts, in place of the default "
        "trust store: for a server whose certificate a private CA signed (or to trust one bundle shipped with "
        "the code). The certificate is verified and must name the host either way. Needs a `rediss://` URL.",
    )
    redis_socket_timeout: float = Field(default=2.0, gt=0, description="Seconds for connect and for each command.")
    redis_health_timeout: float = Field(
        default=1.0,
        gt=0,
        description="Seconds `/health` waits for the Redis node that holds the deployment's keys (connect, then "
        "its answer), once, before it reports Redis as down.",
    )
    key_prefix: str = Field(
        default="rq",
        description="Hash tag shared by every key of one deployment (`{rq}:...`), so multi-key scripts stay in "
        "one slot.",
    )

    jobs_table: str = Field(default="relayq-jobs", description="DynamoDB table of the job records.")
    tokens_table: str = Field(default="relayq-tokens", description="DynamoDB table of the API tokens.")
    idempotency_table: str = Field(
        default="relayq-idempotency",
        description="DynamoDB table of the `Idempotency-Key` records of `POST /jobs`.",
    )

    default_queue: str = Field(default="default", description="Queue of jobs created without one.")
    default_priority: int = Field(
        default=50, ge=0, le=1000, description="Priority of jobs created without one (0 is the highest)."
    )
    default_max_attempts: int = Field(default=3, ge=1, le=100, description="Attempts before a job fails for good.")
    default_timeout: int = Field(
        default=300,
        ge=1,
        le=MAX_JOB_TIMEOUT,
        description="Seconds one run of a job may take; a run must fit in one 900 s worker invocation.",
    )
    retry_delays: Annotated[tuple[int, ...], NoDecode] = Field(
        default=(60, 300, 900),
        description="Seconds before retries 1, 2, 3 (the plugin's delays); later retries wait "
        "min(2^attempt x 60 s, `QUEUE_RETRY_MAX_DELAY`).",
    )
    retry_max_delay: int = Field(default=3600, ge=1, description="Cap of the exponential retry delay, in seconds.")
    retry_jitter: float = Field(
        default=0.1, ge=0, le=1, description="Random spread on each retry delay, as a fraction (plus or minus)."
    )
    lease_grace_seconds: int = Field(
        default=30, ge=0, description="Extra time past a job's timeout before its lease counts as abandoned."
    )
    retention_days: int = Field(
        default=14, ge=1, description="Finished job records and cron runs expire (DynamoDB TTL) after this many days."
    )
    max_payload_bytes: int = Field(
        default=256 * 1024, ge=1, le=350 * 1024, description="Payload size limit (DynamoDB items stop at 400 KB)."
    )
    job_modules: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Modules imported at start that register custom job types (comma separated); each has a "
        "`register(registry)` function.",
    )

    # --- workers (relayq.services.worker) ---
    worker_concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Jobs run at once by one worker invocation (a thread pool; jobs are mostly I/O-bound).",
    )
    worker_reserve_seconds: int = Field(
        default=5,
        ge=0,
        le=60,
        description="Time kept back from the Lambda timeout to record the last job and return; no job starts "
        "that cannot end before it.",
    )
    concurrency_limits: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description="Jobs of a queue in flight across all workers at once (`api=2,media=4`; unlisted queues: no "
        "limit).",
    )
    exclusive_retry_seconds: int = Field(
        default=5,
        ge=1,
        le=3600,
        description="How long an exclusive job that finds its type's lock taken waits in the delayed set (no "
        "attempt spent).",
    )
    reconcile_interval_seconds: int = Field(
        default=900,
        ge=0,
        description="Worker ticks reconcile the job records with Redis at most once per this many seconds "
        "across all workers (and always after Redis lost its data); `0`: only then and on `POST /reconcile`.",
    )
    reconcile_grace_seconds: int = Field(
        default=120,
        ge=0,
        description="Reconciliation leaves records changed in the last this many seconds alone (a step may "
        "still be in progress); a running record also gets its job's timeout and the lease grace.",
    )
    worker_status_ttl_seconds: int = Field(
        default=86_400, ge=60, description="Status and recent jobs of workers expire from Redis after this."
    )
    kick_functions: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Idle-queue kick: queue -> worker function to invoke (`email=fn-a,media=fn-b,*=fn-c`, `*` "
        "for every other queue); empty turns the kick off.",
    )
    kick_max_jobs: int = Field(default=100, ge=1, le=10_000, description="`max_jobs` of a kicked worker.")
    kick_debounce_ms: int = Field(
        default=10_000,
        ge=100,
        le=900_000,
        description="How long one kick keeps further kicks of the same queue quiet if no worker shows up.",
    )

    # --- built-in job types (relayq.job_types) ---
    email_from: str | None = Field(
        default=None, description="Default sender of `email` jobs (an SES-verified identity)."
    )
    images_bucket: str | None = Field(
        default=None, description="Default bucket of `image_processing` jobs and of the uploads of `POST /uploads`."
    )
    image_key_template: str = Field(
        default="attachments/{attachment_id}",
        description="The S3 key of an attachment id (the plugin's WordPress attachment): `image_processing` jobs "
        "given an `attachment_id` read this key in `QUEUE_IMAGES_BUCKET`, `POST /uploads` hands out an upload to "
        "it. Must contain `{attachment_id}` and no other field. Outputs go beside it: `<key without "
        "extension>-<size>.<ext>`, `-optimized.<ext>`, `-watermarked.<ext>`.",
    )
    counters_table: str = Field(
        default="relayq-counters",
        description="DynamoDB table of the atomic counters (the attachment ids `POST /uploads` hands out).",
    )
    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        le=5 * 1024**3,
        description="Largest file a presigned upload of `POST /uploads` accepts (S3 refuses a larger one).",
    )
    upload_expires_seconds: int = Field(
        default=900, ge=60, le=7 * 86400, description="How long a presigned upload of `POST /uploads` stays valid."
    )
    upload_content_types: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("image/png", "image/jpeg", "image/gif", "image/webp"),
        description="Content types `POST /uploads` hands out an upload for (comma separated); S3 refuses a file "
        "sent with another.",
    )
    email_subscribers_key: str | None = Field(
        default=None,
        description="Key in `QUEUE_IMAGES_BUCKET` of the newsletter's subscriber list, a JSON array as "
        "`wp user list --fields=ID,user_email,display_name --format=json` prints it; `email` jobs of type "
        "`newsletter` send to all of it or to its `subscriber_ids`.",
    )
    api_sync_max_response_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        le=256 * 1024,
        description="Response body an `api_sync` job keeps (the rest is cut, `truncated: true`).",
    )
    outbound_allow: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Internal destinations `api_sync` jobs and the cron fan-out may call (comma separated): host "
        "names, `host:port`, IP addresses, `[IPv6]:port`, CIDRs (`10.0.0.0/8`, `10.1.2.3:8080`). Every other "
        "address that is not public (loopback, link-local and instance metadata, private, carrier-grade NAT, "
        "unique-local, multicast, unspecified, reserved, and their IPv4-mapped forms) is refused after DNS "
        "resolution and on every redirect: the job fails at once, the cron site fails with the reason.",
    )
    outbound_deny: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Destinations never called, public or allow-listed (the same forms): the deployment's own "
        "API domain belongs here. Its Redis (`QUEUE_REDIS_URL`) and AWS endpoints (`AWS_ENDPOINT_URL`, "
        "`AWS_ENDPOINT_URL_<SERVICE>`) are refused without being listed.",
    )

    @field_validator("concurrency_limits", "kick_functions", mode="before")
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        """``name=value,name=value`` (the same style as the other list settings)."""
        if isinstance(value, str):
            pairs = (part.split("=", 1) for part in value.split(",") if part.strip())
            return {name.strip(): item.strip() for name, item in pairs}
        return value

    # --- cost estimate (relayq.services.cost) ---
    emf_idle_queue_depth: bool = Field(
        default=True,
        description="Publish the `QueueDepth` metric of a served queue after every worker run even when nothing "
        "waits; `false` publishes it only while jobs wait (each queue's metric is a CloudWatch custom metric, "
        "$0.30 a month when published every hour; the lean profile sets `false`, the queue-depth alarm reads "
        "missing data as not breaching).",
    )
    cost_profile: str = Field(
        default="standard",
        description="The deployment's cost profile (`lean`, `standard`, `resilient`; the template's `CostProfile`), "
        "named beside the month's cost estimate.",
    )
    cost_floor_usd: float = Field(
        default=0.0,
        ge=0,
        description="Fixed monthly floor of the deployment in USD, billed whether or not a job runs (the template "
        "sets its profile's figure from `python -m bench.cost_model`); the month's cost estimate adds the counted "
        "usage to it.",
    )

    # --- REST API and tokens ---
    token_allowed_routes: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "full": ["*"],
            "worker": ["POST /workers/trigger", "GET /run", "POST /run", "POST /process-queue"],
        },
        description="Routes each token scope may call, as `METHOD /path` patterns (`*` matches any text, `*` "
        "alone any route); JSON in the environment, like the plugin's allowed-routes filter.",
    )
    rate_limit_per_minute: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="Calls per token per minute when a token has no limit of its own (the contract's default: "
        "60; the template's `TokenRateLimit` parameter).",
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Request bodies above this are refused (400 `payload_too_large`) before parsing.",
    )
    api_max_json_depth: int = Field(
        default=32,
        ge=2,
        le=200,
        description="Request bodies (the API's and the cron function's) that nest objects and arrays deeper than "
        "this are refused (400 `rest_invalid_param`), counted from the body itself: a job's `payload` counts the "
        "same sent as an object, as a JSON string or as `payload[a][b]` form fields.",
    )
    api_max_json_number_digits: int = Field(
        default=100,
        ge=20,
        le=4000,
        description="A number in a request body with more digits than this is refused (400 `rest_invalid_param`), "
        "as are `NaN`, `Infinity` and floats out of range.",
    )

    # --- all-sites cron (functions/cron, relayq.services.cron) ---
    cron_sites: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Site URLs (comma separated) cron'd together with the records managed through `/sites`.",
    )
    sites_table: str = Field(default="relayq-sites", description="DynamoDB table of the cron sites.")
    runs_table: str = Field(
        default="relayq-runs", description="DynamoDB table of the cron runs and their per-site results."
    )
    cron_queue: str = Field(default="cron", description="Queue of the cron run and batch jobs.")
    cron_concurrency: int = Field(default=50, ge=1, le=1000, description="Cron URLs called at once by one batch.")
    cron_request_timeout: float = Field(
        default=10.0, gt=0, le=60, description="Seconds per cron request (the answer is awaited to record it)."
    )
    cron_connect_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries of a request whose connection failed (refused, reset, DNS); timeouts are not retried.",
    )
    cron_batch_size: int = Field(
        default=500,
        ge=1,
        le=5000,
        description="Sites per batch job. The worst case of one batch, ceil(batch size / concurrency) rounds of "
        f"timeout x (retries + 1), must fit the batch job's timeout of {CRON_BATCH_TIMEOUT} s (checked at start).",
    )
    cron_max_sites: int = Field(
        default=10_000,
        ge=1,
        description="At most this many sites per run (the plugin's `number_of_sites`, 1000 by default there).",
    )
    cron_lock_seconds: int = Field(
        default=300, ge=1, description="Expiry of the run lock, renewed by each batch (the plugin's 300 s)."
    )
    cron_cooldown_seconds: int = Field(
        default=60,
        ge=0,
        description="Least time from the end of a run to the next one (`/run` answers `rate_limited` inside it); "
        "0: none.",
    )
    cron_home_url: str = Field(
        default="",
        description="Shown in each request's user-agent (`All Sites Cron; <home url>`); empty: the site's own URL.",
    )
    cron_function_name: str = Field(
        default="",
        description="The function that runs deferred work when Redis is down (the cron function invokes itself); "
        "empty: `AWS_LAMBDA_FUNCTION_NAME`.",
    )

    @field_validator("key_prefix")
    @classmethod
    def _no_braces(cls, value: str) -> str:
        if not value or any(ch in value for ch in "{}: \t"):
            raise ValueError("must be a non-empty name without braces, colons or spaces")
        return value

    @field_validator("redis_auth_token", "redis_auth_secret_arn", "redis_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CloudFormation cannot leave a variable out conditionally, so "" means "not configured".
        return value or None

    @field_validator(
        "retry_delays", "job_modules", "outbound_allow", "outbound_deny", "upload_content_types", mode="before"
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("image_key_template")
    @classmethod
    def _one_attachment_field(cls, value: str) -> str:
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as error:
            raise ValueError(f"not a template: {error}") from None
        if fields != {"attachment_id"}:
            raise ValueError("must contain {attachment_id} and no other {field}")
        return value

    @field_validator("outbound_allow", "outbound_deny")
    @classmethod
    def _host_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            parse_rule(entry)  # a bad entry fails at start, with the variable's name
        return value

    @field_validator("cron_sites", mode="before")
    @classmethod
    def _split_sites(cls, value: object) -> object:
        return cls._split_csv(value)

    @field_validator("redis_ca_file")
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _ca_file_needs_tls(self) -> Settings:
        if self.redis_ca_file and not self.redis_url.startswith("rediss://"):
            raise ValueError("QUEUE_REDIS_CA_FILE is for TLS: QUEUE_REDIS_URL must start with rediss://")
        return self

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
