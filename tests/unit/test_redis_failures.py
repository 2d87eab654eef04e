"""Telling a Redis outage from a refusal: each redis-py exception's domain error (and so its code
and status), the cause deciding for a Redis error a service wrapped, and the answer never carrying
the server's words; a failed TLS handshake names TLS."""

from __future__ import annotations

import logging
import ssl

import pytest
from redis import exceptions as rx

from relayq.domain.errors import (
    InvalidInput,
    QueueError,
    RedisOutOfMemory,
    RedisRefused,
    RedisTlsFailed,
    RedisUnavailable,
)
from relayq.http.errors import error_body, status_of
from relayq.redis.failures import explain, failure_summary, redis_cause, redis_failure

CASES: list[tuple[Exception, str, int]] = [
    # outages: the same call works later
    (rx.ConnectionError("Error 111 connecting to 10.0.0.1:6379. Connection refused."), "redis_unavailable", 503),
    (rx.TimeoutError("Timeout reading from socket"), "redis_unavailable", 503),
    (rx.BusyLoadingError("Redis is loading the dataset in memory"), "redis_unavailable", 503),
    (rx.AuthenticationError("invalid username-password pair"), "redis_unavailable", 503),
    (rx.ClusterDownError("The cluster is down"), "redis_unavailable", 503),
    (rx.MasterDownError("Link with MASTER is down"), "redis_unavailable", 503),
    (rx.ClusterError("TTL exhausted."), "redis_unavailable", 503),
    (rx.ReadOnlyError("You can't write against a read only replica."), "redis_unavailable", 503),
    (rx.TryAgainError("Multiple keys request during rehashing of slot"), "redis_unavailable", 503),
    (rx.ResponseError("BUSY Redis is busy running a script."), "redis_unavailable", 503),
    (rx.RedisClusterException("Redis Cluster cannot be connected."), "redis_unavailable", 503),
    (rx.SlotNotCoveredError('Slot "141" is not covered by the cluster.'), "redis_unavailable", 503),
    # refusals: retrying the same call does not help
    (rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), "redis_out_of_memory", 507),
    (rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), "redis_error", 500),
    (rx.ResponseError("ERR user_script:12: attempt to compare nil with number"), "redis_error", 500),
    (rx.ResponseError("ERR too many arguments"), "redis_error", 500),
    (rx.NoScriptError("No matching script."), "redis_error", 500),
    (rx.NoPermissionError("this user has no permissions to run the 'evalsha' command"), "redis_error", 500),
    (rx.ClusterCrossSlotError("Keys in request don't hash to the same slot"), "redis_error", 500),
    (rx.DataError("Invalid input of type: 'dict'."), "redis_error", 500),
    (rx.InvalidResponse("Protocol Error: x"), "redis_error", 500),
]


@pytest.mark.parametrize(
    ("error", "code", "status"), CASES, ids=[type(c[0]).__name__ + str(i) for i, c in enumerate(CASES)]
)
def test_each_redis_failure_has_its_code_and_status(error: Exception, code: str, status: int) -> None:
    answer = redis_failure(error)
    body = error_body(answer)
    assert (answer.code, status_of(answer), body["data"]["status"]) == (code, status, status)
    assert str(error) not in body["message"]  # the server's words stay in the log


def test_the_cause_decides_for_a_wrapped_redis_error(caplog: pytest.LogCaptureFixture) -> None:
    """A service that raised RedisUnavailable for any Redis error, even twice over (the worker wraps
    what the job service wrapped), answers with what the cause was, logged."""
    oom = rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'.")
    wrapped = raised_from(RedisUnavailable(), raised_from(RedisUnavailable(), oom))
    assert redis_cause(wrapped) is oom
    caplog.set_level(logging.WARNING)
    assert isinstance(explain(wrapped), RedisOutOfMemory)
    assert "Redis refused the command (redis_out_of_memory): OutOfMemoryError: command not allowed" in caplog.text


def test_an_outage_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    answer = explain(rx.TimeoutError("Timeout reading from socket"))
    assert isinstance(answer, RedisUnavailable)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "Redis unavailable (redis_unavailable): TimeoutError: Timeout reading from socket")
    ]


@pytest.mark.parametrize("error", [InvalidInput("Bad."), RedisUnavailable(), RedisRefused()])
def test_other_errors_and_redis_errors_without_a_cause_answer_as_they_are(error: QueueError) -> None:
    assert explain(error) is error


def test_only_redis_errors_are_refined_by_their_cause() -> None:
    error = raised_from(InvalidInput("Not a queue name."), rx.ResponseError("ERR what the caller made of it"))
    assert explain(error) is error


def raised_from(error: QueueError, cause: BaseException) -> QueueError:
    error.__cause__ = cause
    return error


def tls_refused(verify_message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {verify_message}"
    )
    error.verify_message = verify_message
    return error


def during(error: rx.ConnectionError, context: BaseException) -> rx.ConnectionError:
    """``error`` raised while handling ``context``, as redis-py raises its ConnectionError."""
    error.__context__ = context
    return error


def test_a_certificate_not_trusted_is_an_outage_that_names_tls() -> None:
    refused = during(
        rx.ConnectionError("Error 1 connecting to 10.0.0.1:6379."),
        tls_refused("unable to get local issuer certificate"),
    )
    # The cluster client raises its own exception from the node's ConnectionError.
    cluster = rx.RedisClusterException("Redis Cluster cannot be connected.")
    cluster.__cause__ = refused
    for error in (refused, cluster, raised_from(RedisUnavailable(), cluster)):
        answer = explain(error)
        body = error_body(answer)
        assert (answer.code, status_of(answer)) == ("redis_unavailable", 503)
        assert "TLS" in body["message"] and "certificate" in body["message"]
    assert failure_summary(cluster) == "TLS certificate verify failed: unable to get local issuer certificate"


def test_describe_names_a_failed_handshake_and_leaves_other_failures_by_name() -> None:
    handshake = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    handshake.reason = "WRONG_VERSION_NUMBER"
    assert (
        failure_summary(during(rx.ConnectionError("Error 1"), handshake))
        == "TLS handshake failed: WRONG_VERSION_NUMBER"
    )
    assert failure_summary(rx.TimeoutError("Timeout reading from socket")) == "TimeoutError"
    assert isinstance(redis_failure(rx.TimeoutError("Timeout")), RedisUnavailable)
    assert not isinstance(redis_failure(rx.TimeoutError("Timeout")), RedisTlsFailed)
