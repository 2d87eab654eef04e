"""What a failed Redis call means for the caller: an outage (the server could not be reached, timed
out, or its cluster is down or failing over; the same call works later) or a refusal (the server
answered no: out of memory, or an error in the command or a script, which retrying does not fix).

``redis_failure`` turns a redis-py exception into the domain error (``RedisUnavailable``,
``RedisOutOfMemory``, ``RedisRefused``); ``explain`` is the functions' one call before they answer
an error: it classifies a raw Redis exception, lets the cause decide for a Redis error a service
raised (so a refusal wrapped as ``RedisUnavailable`` is never answered as an outage), and logs
the cause, which the answer leaves out. A failed TLS handshake (a certificate not trusted) is an
outage that says so: ``RedisTlsFailed``, and ``failure_summary`` names it for /health."""

from __future__ import annotations

import logging
import ssl

from redis.exceptions import (
    ClusterError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from relayq.domain.errors import QueueError, RedisOutOfMemory, RedisRefused, RedisTlsFailed, RedisUnavailable

logger = logging.getLogger(__name__)

# Everything a Redis call may raise. RedisClusterException is not a RedisError: the cluster client
# raises it when no node answers (at start, or refreshing its slot map after a node failed).
REDIS_FAILURES: tuple[type[RedisError], type[RedisClusterException]] = (RedisError, RedisClusterException)

# The failures that pass. ConnectionError covers LOADING (a restart reading its data) and a full
# client list; ClusterError covers CLUSTERDOWN and MASTERDOWN; READONLY is a primary demoted by a
# failover; TRYAGAIN a slot being migrated.
OUTAGES: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterError,
    ReadOnlyError,
    TryAgainError,
    RedisClusterException,
)


def redis_failure(error: Exception) -> RedisUnavailable | RedisRefused:
    """The domain error of a failed Redis call."""
    if tls_cause(error) is not None:
        return RedisTlsFailed()
    if isinstance(error, OUTAGES) or _busy(error):
        return RedisUnavailable()
    if isinstance(error, OutOfMemoryError):
        return RedisOutOfMemory()
    return RedisRefused()


def _busy(error: Exception) -> bool:
    # BUSY: a script runs longer than busy-reply-threshold; Redis answers again once it ends.
    return isinstance(error, ResponseError) and str(error).startswith("BUSY")


def tls_cause(error: BaseException) -> ssl.SSLError | None:
    """The TLS failure behind ``error``, if one is: redis-py raises its ConnectionError while
    handling the ``ssl`` module's error (the context), the cluster client from that one (the cause)."""
    seen: BaseException | None = error
    chain: set[int] = set()
    while seen is not None and id(seen) not in chain:
        if isinstance(seen, ssl.SSLError):
            return seen
        chain.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return None


def failure_summary(error: BaseException) -> str:
    """What went wrong, in a few words for an operator (/health's errors): the exception's name, or
    for a failed TLS handshake what failed in it (OpenSSL's reason, never the server's data)."""
    tls = tls_cause(error)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed: {tls.verify_message}"
    if tls is not None:
        return f"TLS handshake failed: {tls.reason or type(tls).__name__}"
    return type(error).__name__


def redis_cause(error: BaseException) -> Exception | None:
    """The Redis exception ``error`` is or was raised from (through its chain of causes)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, REDIS_FAILURES):
            return seen
        seen = seen.__cause__
    return None


def explain(error: QueueError | RedisError | RedisClusterException) -> QueueError:
    """What to answer for ``error``: the domain error of a Redis exception, or of the Redis
    exception behind a Redis domain error, logged with that cause; any other error as is."""
    if isinstance(error, QueueError):
        cause = redis_cause(error) if isinstance(error, RedisUnavailable | RedisRefused) else None
        if cause is None:
            return error
    else:
        cause = error
    answer = redis_failure(cause)
    if isinstance(answer, RedisUnavailable):
        logger.warning("Redis unavailable (%s): %s: %s", answer.code, type(cause).__name__, cause)
    else:
        logger.error("Redis refused the command (%s): %s: %s", answer.code, type(cause).__name__, cause)
    return answer


__all__ = ["REDIS_FAILURES", "explain", "failure_summary", "redis_cause", "redis_failure", "tls_cause"]
