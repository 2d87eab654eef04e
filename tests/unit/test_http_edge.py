"""The HTTP edge: every domain error's status and body, and the two ways bad input explains itself."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel, ConfigDict, Field

from relayq.domain import errors
from relayq.http.errors import error_body, error_headers, status_of
from relayq.http.validation import one_line, validate

STATUS = {
    "QueueError": 500,
    "InvalidInput": 400,
    "MissingQueueName": 400,
    "InvalidJobType": 400,
    "PayloadTooLarge": 400,
    "Forbidden": 403,
    "ForbiddenScope": 403,
    "CronAuthMissing": 401,
    "CronAuthInvalid": 403,
    "JobNotFound": 404,
    "JobNotCancellable": 404,
    "JobNotRetryable": 404,
    "TokenNotFound": 404,
    "RunNotFound": 404,
    "SiteNotFound": 404,
    "NoRoute": 404,
    "JobNotDelayed": 409,
    "RequestInProgress": 409,
    "CronRunInProgress": 409,
    "IdempotencyKeyReused": 422,
    "RateLimited": 429,
    "CronRateLimited": 429,
    "EnqueueFailed": 500,
    "WorkerExecutionFailed": 500,
    "InternalError": 500,
    "RedisRefused": 500,
    "RedisUnavailable": 503,
    "RedisTlsFailed": 503,
    "RedisOutOfMemory": 507,
    "StoreUnavailable": 503,
    "DeferredUnavailable": 503,
    "UploadsNotConfigured": 503,
}


def domain_error(cls: type[errors.QueueError]) -> errors.QueueError:
    if issubclass(cls, errors.CronRateLimited):
        return cls(30, 60, 1767225600, "2026-01-01 00:00:30")
    if issubclass(cls, errors.RateLimited):
        return cls(30)
    return cls()


def test_every_domain_error_has_its_status() -> None:
    classes = {
        name: cls for name, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.QueueError)
    }
    assert set(classes) == set(STATUS)
    assert {name: status_of(domain_error(cls)) for name, cls in classes.items()} == STATUS


def test_the_error_body_carries_the_status_and_the_data() -> None:
    assert error_body(errors.CronRateLimited(12, 60, 1767225600, "2026-01-01 00:00:48")) == {
        "code": "rate_limited",
        "message": "Rate limited. Try again in 12 seconds.",
        "data": {
            "status": 429,
            "retry_after": 12,
            "cooldown": 60,
            "last_run_gmt": 1767225600,
            "timestamp": "2026-01-01 00:00:48",
        },
    }
    assert error_body(errors.InvalidInput("Bad.", params={"a": "why"})) == {
        "code": "rest_invalid_param",
        "message": "Bad.",
        "data": {"status": 400, "params": {"a": "why"}},
    }


def test_retry_after_only_for_what_passes() -> None:
    assert error_headers(errors.RateLimited(12)) == {"Retry-After": "12"}
    assert error_headers(errors.RedisUnavailable()) == {"Retry-After": "5"}
    assert error_headers(errors.RedisOutOfMemory()) is None
    assert error_headers(errors.RedisRefused()) is None
    assert error_headers(errors.StoreUnavailable()) is None


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max: int = Field(default=1, ge=1)


def test_input_errors_per_field_or_in_one_line() -> None:
    with pytest.raises(errors.InvalidInput) as per_field:
        validate(Query, {"max": "0", "x": 1})
    assert per_field.value.message == (
        "Invalid parameter(s): max (Input should be greater than or equal to 1), x (Extra inputs are not permitted)."
    )
    assert per_field.value.data == {
        "params": {"max": "Input should be greater than or equal to 1", "x": "Extra inputs are not permitted"}
    }
    with pytest.raises(errors.InvalidInput) as inline:
        validate(Query, {"max": "0", "x": 1}, one_line)
    assert inline.value.message == (
        "Invalid parameter(s): max: Input should be greater than or equal to 1; x: Extra inputs are not permitted"
    )
    assert inline.value.data == {}
