"""The Redis auth token comes from Secrets Manager when the template gives a secret ARN."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
import redis

from devstack.redis_server import RedisServer
from relayq.aws import AwsClients
from relayq.redis.connection import connect
from relayq.settings import Settings

PASSWORD = "s3cret-token-of-thirty-two-chars"


@pytest.fixture(scope="module")
def protected_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-auth")).start()
    redis.Redis(port=server.port).config_set("requirepass", PASSWORD)
    yield server
    server.stop()


def _secret(value: str) -> str:
    return str(boto3.client("secretsmanager").create_secret(Name="redis-auth", SecretString=value)["ARN"])


def test_json_secret_as_the_template_generates_it(aws: None, protected_redis: RedisServer) -> None:
    arn = _secret(json.dumps({"username": "default", "password": PASSWORD}))
    conn = connect(Settings(redis_url=protected_redis.url, redis_auth_secret_arn=arn), AwsClients())
    assert conn.ping() is True


def test_plain_text_secret(aws: None, protected_redis: RedisServer) -> None:
    arn = _secret(PASSWORD)
    assert connect(Settings(redis_url=protected_redis.url, redis_auth_secret_arn=arn), AwsClients()).ping() is True


def test_a_token_given_directly_wins_over_the_secret(aws: None, protected_redis: RedisServer) -> None:
    arn = _secret("not-the-password")
    settings = Settings(redis_url=protected_redis.url, redis_auth_token=PASSWORD, redis_auth_secret_arn=arn)
    assert connect(settings, AwsClients()).ping() is True


def test_empty_values_from_cloudformation_mean_no_auth(
    protected_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_REDIS_AUTH_TOKEN", "")
    monkeypatch.setenv("QUEUE_REDIS_AUTH_SECRET_ARN", "")
    settings = Settings(redis_url=protected_redis.url)
    assert settings.redis_auth_secret_arn is None
    with pytest.raises(redis.AuthenticationError):
        connect(settings, AwsClients()).ping()


def test_a_secret_without_a_password_is_refused(aws: None) -> None:
    arn = _secret(json.dumps({"username": "default"}))
    with pytest.raises(ValueError, match="password"):
        connect(Settings(redis_url="redis://127.0.0.1:1/0", redis_auth_secret_arn=arn), AwsClients())
