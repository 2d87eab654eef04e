"""The Redis connection of a container, built from the settings (TLS, auth token, cluster mode)."""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from relayq.aws import AwsClients
from relayq.settings import Settings

RedisConnection = redis.Redis | RedisCluster


def auth_token(settings: Settings, aws: AwsClients) -> str | None:
    """The token given directly, else the one in the Secrets Manager secret (plain or JSON)."""
    if settings.redis_auth_token or not settings.redis_auth_secret_arn:
        return settings.redis_auth_token
    secret: str = aws.client("secretsmanager").get_secret_value(SecretId=settings.redis_auth_secret_arn)["SecretString"]
    try:
        parsed = json.loads(secret)
    except ValueError:
        return secret
    password = parsed.get("password") if isinstance(parsed, dict) else None
    if isinstance(password, str):
        return password
    raise ValueError('the Redis auth secret must be plain text or JSON with a "password" string')


def connect(settings: Settings, aws: AwsClients) -> RedisConnection:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_socket_timeout,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
    }
    password = auth_token(settings, aws)
    if password:
        options["password"] = password
    if settings.redis_ca_file:
        # Verification stays on (redis-py's default: required, with the host name); only whom
        # the certificate must chain to changes.
        options["ssl_ca_certs"] = settings.redis_ca_file
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, health_check_interval=30, **options)
