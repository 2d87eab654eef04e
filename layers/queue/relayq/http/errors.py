"""The HTTP status of every domain error, and the contract's error body
``{"code", "message", "data": {"status", ...}}`` the functions answer with."""

from __future__ import annotations

from typing import Any

from relayq.domain import errors

# An error answers with the status of its nearest listed class (MissingQueueName is InvalidInput's 400).
STATUS_OF_ERROR: dict[type[errors.QueueError], int] = {
    errors.QueueError: 500,
    errors.InvalidInput: 400,
    errors.InvalidJobType: 400,
    errors.PayloadTooLarge: 400,
    errors.Forbidden: 403,
    errors.ForbiddenScope: 403,
    errors.CronAuthMissing: 401,
    errors.CronAuthInvalid: 403,
    errors.JobNotFound: 404,
    errors.JobNotCancellable: 404,
    errors.JobNotRetryable: 404,
    errors.JobNotDelayed: 409,
    errors.TokenNotFound: 404,
    errors.RunNotFound: 404,
    errors.SiteNotFound: 404,
    errors.NoRoute: 404,
    errors.RequestInProgress: 409,
    errors.CronRunInProgress: 409,
    errors.IdempotencyKeyReused: 422,
    errors.RateLimited: 429,
    errors.EnqueueFailed: 500,
    errors.WorkerExecutionFailed: 500,
    errors.InternalError: 500,
    errors.RedisRefused: 500,
    errors.RedisUnavailable: 503,
    errors.RedisOutOfMemory: 507,
    errors.StoreUnavailable: 503,
    errors.DeferredUnavailable: 503,
    errors.UploadsNotConfigured: 503,
}


def status_of(error: errors.QueueError) -> int:
    return next(STATUS_OF_ERROR[cls] for cls in type(error).__mro__ if cls in STATUS_OF_ERROR)


def error_headers(error: errors.QueueError) -> dict[str, str] | None:
    """``Retry-After`` (seconds) of the errors that pass: a rate limit, a Redis outage."""
    if isinstance(error, errors.RateLimited | errors.RedisUnavailable):
        return {"Retry-After": str(error.retry_after)}
    return None


def error_body(error: errors.QueueError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "data": {"status": status_of(error), **error.data}}
