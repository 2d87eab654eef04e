"""The composition root: every long-lived object of a container (Lambda keeps one per execution
environment), built once from the settings on first use and handed to whoever needs it.

Handlers, the local runtime and tools ask ``container()``; nothing else in the layer imports this
module, so every service, store and job type can be built by hand in a test with what it needs.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from relayq import job_types
from relayq.aws import AwsClients
from relayq.domain.hooks import Hooks
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.counters import Counters
from relayq.dynamodb.jobs import JobStore
from relayq.dynamodb.runs import RunStore
from relayq.dynamodb.sites import SiteStore
from relayq.dynamodb.tokens import TokenStore
from relayq.job_types.cron import CronBatchJob, CronRunJob
from relayq.redis.broker import RedisBroker
from relayq.redis.connection import RedisConnection, connect
from relayq.redis.cron_guard import CronGuard
from relayq.redis.rate_limit import RateLimiter
from relayq.redis.worker_status import WorkerStatus
from relayq.services.cron.runner import CronRunner
from relayq.services.cron.service import CronService, lambda_invoker
from relayq.services.jobs import JobService
from relayq.services.kick import Kicker
from relayq.services.reconcile import Reconciler
from relayq.services.uploads import Uploads
from relayq.services.worker import Worker
from relayq.settings import Settings


class Container:
    """Connections and clients are made when first needed: the authorizer never opens Redis."""

    def __init__(self, settings: Settings | None = None, aws: AwsClients | None = None) -> None:
        self.settings = settings or Settings()
        self.aws = aws or AwsClients()

    # --- connections ----------------------------------------------------------------------------

    @cached_property
    def redis(self) -> RedisConnection:
        return connect(self.settings, self.aws)

    # --- the job core ---------------------------------------------------------------------------

    @cached_property
    def hooks(self) -> Hooks:
        return Hooks()

    @cached_property
    def registry(self) -> JobRegistry:
        registry = JobRegistry(self.settings, self.aws)
        job_types.register(registry)
        registry.load_modules(self.settings.job_modules)
        return registry

    @cached_property
    def broker(self) -> RedisBroker:
        lease_grace_ms = self.settings.lease_grace_seconds * 1000
        return RedisBroker(self.redis, self.settings.key_prefix, lease_grace_ms=lease_grace_ms)

    @cached_property
    def job_store(self) -> JobStore:
        dynamodb = self.aws.client("dynamodb")
        return JobStore(dynamodb, self.settings.jobs_table, retention_days=self.settings.retention_days)

    @cached_property
    def kicker(self) -> Kicker:
        return Kicker(self.broker, self.settings)

    @cached_property
    def jobs(self) -> JobService:
        service = JobService(self.broker, self.job_store, self.settings, registry=self.registry, hooks=self.hooks)
        self.kicker.subscribe(self.hooks)
        return service

    @cached_property
    def worker_status(self) -> WorkerStatus:
        return WorkerStatus(self.broker, self.settings.worker_status_ttl_seconds)

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(self.jobs)

    @cached_property
    def worker(self) -> Worker:
        return Worker(self.jobs, self.worker_status, self.kicker, self.reconciler)

    # --- the API's own needs --------------------------------------------------------------------

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.aws.client("dynamodb"), self.settings.tokens_table)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(self.redis, self.settings.key_prefix)

    @cached_property
    def counters(self) -> Counters:
        return Counters(self.aws.client("dynamodb"), self.settings.counters_table)

    @cached_property
    def uploads(self) -> Uploads:
        return Uploads(self.settings, self.counters, self.aws.client("s3", signature_version="s3v4"))

    # --- all-sites cron -------------------------------------------------------------------------

    @cached_property
    def runs(self) -> RunStore:
        """The cron runs' records (the API's overview reads them without the cron service)."""
        dynamodb = self.aws.client("dynamodb")
        return RunStore(dynamodb, self.settings.runs_table, retention_days=self.settings.retention_days)

    @cached_property
    def cron(self) -> CronService:
        """The cron service; building it makes the run and batch job types known to this
        container's registry (only containers that run cron work can process them)."""
        settings = self.settings
        guard = CronGuard(
            self.redis,
            settings.key_prefix,
            lock_seconds=settings.cron_lock_seconds,
            cooldown_seconds=settings.cron_cooldown_seconds,
        )
        dynamodb = self.aws.client("dynamodb")
        runner = CronRunner(
            settings,
            SiteStore(dynamodb, settings.sites_table),
            self.runs,
            guard,
        )
        service = CronService(settings, runner, lambda: self.jobs, lambda_invoker(settings, self.aws))
        self.registry.add(CronRunJob(settings, self.aws, runner, service.enqueue_batches))
        self.registry.add(CronBatchJob(settings, self.aws, runner))
        return service


@lru_cache(maxsize=1)
def container() -> Container:
    """The process's container: one read of the environment, connections reused by every call."""
    return Container()


def reset() -> None:
    """Forget the container, as a new Lambda execution environment would (tests, the local runtime)."""
    container.cache_clear()
