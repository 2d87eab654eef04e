"""Domain errors. Each carries the contract's ``code`` and ``message`` and its details (``data``);
the HTTP status each one answers with is the HTTP edge's choice (``relayq.http.errors``)."""

from __future__ import annotations

from typing import Any


class QueueError(Exception):
    """Base of every error the functions answer as ``{"code", "message", "data": {"status", ...}}``."""

    code = "queue_error"
    message = "The queue could not complete the request."

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or type(self).message
        self.data = data
        super().__init__(self.message)


class InvalidInput(QueueError):
    code = "rest_invalid_param"
    message = "Invalid parameter(s)."


class MissingQueueName(InvalidInput):
    code = "missing_queue_name"
    message = "Queue name is required."


class InvalidJobType(QueueError):
    code = "invalid_job_type"
    message = "Invalid job type."


class PayloadTooLarge(QueueError):
    code = "payload_too_large"
    message = "The job payload is too large."


class JobNotFound(QueueError):
    code = "job_not_found"
    message = "Job not found."


class JobNotCancellable(QueueError):
    code = "job_not_found_or_not_cancellable"
    message = "Job not found or cannot be cancelled."


class JobNotRetryable(QueueError):
    code = "job_not_found_or_not_retryable"
    message = "Job not found or is not failed."


# What a failed Redis call means for the caller (relayq.redis.failures tells them apart): an
# outage, which passes (try again later), or a refusal, which retrying the same call does not fix.
class RedisUnavailable(QueueError):
    """Redis could not be reached, timed out, or its cluster is down or failing over."""

    code = "redis_unavailable"
    message = "The queue backend (Redis) is unavailable. Try again later."
    retry_after = 5  # seconds: a dropped connection or a node's restart; a failover may need more tries


class RedisTlsFailed(RedisUnavailable):
    """The TLS handshake with Redis failed: its certificate is not trusted (another CA than the
    trusted ones, ``QUEUE_REDIS_CA_FILE``; a name that does not match) or TLS is not spoken there."""

    message = "The queue backend (Redis) is unavailable: the TLS handshake with it failed (certificate not trusted?)."


class RedisRefused(QueueError):
    """Redis answered, refusing the command: an error in the command or a script (a bug to fix)."""

    code = "redis_error"
    message = "The queue backend (Redis) refused the command."


class RedisOutOfMemory(RedisRefused):
    """Redis is at its memory limit and takes no writes (until jobs finish or it gets more memory)."""

    code = "redis_out_of_memory"
    message = "The queue backend (Redis) is out of memory and accepts no new work."


class StoreUnavailable(QueueError):
    code = "database_unavailable"
    message = "The job database is unavailable. Try again later."


class EnqueueFailed(QueueError):
    code = "enqueue_failed"
    message = "The job could not be enqueued."


class NoRoute(QueueError):
    code = "rest_no_route"
    message = "No route was found matching the URL and request method."


# The refusals of the authorizer, in the plugins' words. API Gateway sends their bodies: a Deny
# hands code and message to template.yaml's ACCESS_DENIED response through the authorizer context;
# the one 401 (no token on a cron route) is the static UNAUTHORIZED response. Tests hold the
# template to these.
class Forbidden(QueueError):
    code = "rest_forbidden"
    message = "You do not have permission to access this endpoint."


class ForbiddenScope(QueueError):
    code = "rest_forbidden_scope"
    message = "Token scope does not permit this endpoint."


class JobNotDelayed(QueueError):
    code = "job_not_delayed"
    message = "Only a queued job that waits for a later time can be run now."


class CronAuthMissing(QueueError):
    code = "all_sites_cron_auth_missing"
    message = "Authentication required. Provide a token via Authorization header or ?token= query parameter."


class CronAuthInvalid(QueueError):
    code = "all_sites_cron_auth_invalid"
    message = "Invalid authentication token."


class RateLimited(QueueError):
    code = "rate_limited"
    message = "Rate limit exceeded. Try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class TokenNotFound(QueueError):
    code = "token_not_found"
    message = "Token not found."


class IdempotencyKeyReused(QueueError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request."


class RequestInProgress(QueueError):
    code = "request_in_progress"
    message = "A request with this Idempotency-Key is still in progress."


class WorkerExecutionFailed(QueueError):
    code = "worker_execution_failed"
    message = "Worker execution failed."


class InternalError(QueueError):
    code = "internal_error"
    message = "An unexpected error occurred."


class TransitionRefused(Exception):
    """A conditional status change was refused: the job is not in the expected status/attempt."""


# --- all-sites cron (relayq.services.cron) ---


class CronRunInProgress(QueueError):
    code = "cron_locked"
    message = "Another cron process is currently running. Please try again later."  # the plugin's


class CronRateLimited(RateLimited):
    """Inside the cooldown after a cron run: the plugin's message and fields (``last_run_gmt``: the
    Unix time the last run ended, which started the cooldown; ``timestamp``: now, UTC)."""

    def __init__(self, retry_after: int, cooldown: int, last_run_gmt: int | None, timestamp: str) -> None:
        super().__init__(retry_after)
        self.message = f"Rate limited. Try again in {retry_after} seconds."
        self.data = {
            "retry_after": retry_after,
            "cooldown": cooldown,
            "last_run_gmt": last_run_gmt,
            "timestamp": timestamp,
        }


class DeferredUnavailable(QueueError):
    code = "deferred_unavailable"
    message = "Neither Redis nor an asynchronous invocation could take the cron run."


class RunNotFound(QueueError):
    code = "run_not_found"
    message = "Cron run not found."


class SiteNotFound(QueueError):
    code = "site_not_found"
    message = "Site not found."


class UploadsNotConfigured(QueueError):
    code = "uploads_not_configured"
    message = "Uploads need an images bucket: QUEUE_IMAGES_BUCKET (the template's ImagesBucketName) is not set."
