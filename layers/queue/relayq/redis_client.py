"""One Redis connection per container, built from the settings (TLS, auth token, cluster mode)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from .settings import Settings, get_settings

RedisConnection = redis.Redis | RedisCluster


def connect(settings: Settings) -> RedisConnection:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_socket_timeout,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
    }
    if settings.redis_auth_token:
        options["password"] = settings.redis_auth_token
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options)


@lru_cache(maxsize=1)
def get_redis() -> RedisConnection:
    """The container's connection: created on first use, reused by every later invocation."""
    return connect(get_settings())
