"""Domain errors. Each carries the contract's error shape: ``code``, ``message``, HTTP status."""

from __future__ import annotations

from typing import Any


class QueueError(Exception):
    """Base of every error the API turns into ``{"code", "message", "data": {"status"}}``."""

    code = "queue_error"
    status = 500
    message = "The queue could not complete the request."

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or type(self).message
        self.data = data
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


class InvalidInput(QueueError):
    code = "rest_invalid_param"
    status = 400
    message = "Invalid parameter(s)."


class MissingQueueName(InvalidInput):
    code = "missing_queue_name"
    message = "Queue name is required."


class InvalidJobType(QueueError):
    code = "invalid_job_type"
    status = 400
    message = "Invalid job type."


class PayloadTooLarge(QueueError):
    code = "payload_too_large"
    status = 400
    message = "The job payload is too large."


class JobNotFound(QueueError):
    code = "job_not_found"
    status = 404
    message = "Job not found."


class JobNotCancellable(QueueError):
    code = "job_not_found_or_not_cancellable"
    status = 404
    message = "Job not found or cannot be cancelled."


class JobNotRetryable(QueueError):
    code = "job_not_found_or_not_retryable"
    status = 404
    message = "Job not found or is not failed."


class RedisUnavailable(QueueError):
    code = "redis_unavailable"
    status = 503
    message = "The queue backend (Redis) is unavailable. Try again later."


class StoreUnavailable(QueueError):
    code = "database_unavailable"
    status = 503
    message = "The job database is unavailable. Try again later."


class EnqueueFailed(QueueError):
    code = "enqueue_failed"
    status = 500
    message = "The job could not be enqueued."


class NoRoute(QueueError):
    code = "rest_no_route"
    status = 404
    message = "No route was found matching the URL and request method."


# The two refusals of the authorizer. API Gateway sends their bodies (template.yaml's
# GatewayResponses); a test holds the template to these.
class Forbidden(QueueError):
    code = "rest_forbidden"
    status = 401
    message = "Sorry, you are not allowed to do that."


class ForbiddenScope(QueueError):
    code = "rest_forbidden_scope"
    status = 403
    message = "Token scope does not permit this endpoint."


class RateLimited(QueueError):
    code = "rate_limited"
    status = 429
    message = "Rate limit exceeded. Try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class TokenNotFound(QueueError):
    code = "token_not_found"
    status = 404
    message = "Token not found."


class IdempotencyKeyReused(QueueError):
    code = "idempotency_key_reused"
    status = 422
    message = "This Idempotency-Key was used with a different request."


class RequestInProgress(QueueError):
    code = "request_in_progress"
    status = 409
    message = "A request with this Idempotency-Key is still in progress."


class WorkerExecutionFailed(QueueError):
    code = "worker_execution_failed"
    status = 500
    message = "Worker execution failed."


class InternalError(QueueError):
    code = "internal_error"
    status = 500
    message = "An unexpected error occurred."


class TransitionRefused(Exception):
    """A conditional status change was refused: the job is not in the expected status/attempt."""


# --- all-sites cron (relayq.services.cron) ---


class CronRunInProgress(QueueError):
    code = "cron_locked"
    status = 409
    message = "Another cron run is in progress. Please try again later."


class CronRateLimited(RateLimited):
    """Inside the cooldown after a cron run: the plugin's message, ``retry_after`` and ``cooldown``."""

    def __init__(self, retry_after: int, cooldown: int) -> None:
        super().__init__(retry_after)
        self.message = f"Rate limited. Try again in {retry_after} seconds."
        self.data = {"retry_after": retry_after, "cooldown": cooldown}


class RunNotFound(QueueError):
    code = "run_not_found"
    status = 404
    message = "Cron run not found."


class SiteNotFound(QueueError):
    code = "site_not_found"
    status = 404
    message = "Site not found."
