"""Shared fixtures: a real redis-server per test process, DynamoDB through moto, a queue."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import redis
from moto import mock_aws

from devstack.job_types import register_test_types
from devstack.redis_server import RedisServer
from devstack.template import TABLES, create_table
from relayq.aws import AwsClients
from relayq.domain.hooks import Hooks
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import RedisBroker
from relayq.services.jobs import JobService
from relayq.settings import Settings
from tests.support.clock import FakeClock
from tests.support.stack import api, api_token, demo_ports, stack  # noqa: F401  (fixtures)

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "relayq-tests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_conn(redis_server: RedisServer) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_server.url, decode_responses=True)
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    return Settings(
        redis_url=redis_server.url,
        jobs_table="jobs",
        tokens_table="tokens",
        idempotency_table="idempotency",
        retry_jitter=0,
    )


@pytest.fixture
def dynamodb(aws: None, settings: Settings) -> object:
    client = boto3.client("dynamodb")
    for logical_id, field in TABLES.items():
        create_table(client, logical_id, getattr(settings, field))
    return client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(settings: Settings) -> JobRegistry:
    return register_test_types(JobRegistry(settings, AwsClients()))


@pytest.fixture
def broker(redis_conn: redis.Redis, clock: FakeClock) -> RedisBroker:
    return RedisBroker(redis_conn, "rq", lease_grace_ms=0, clock=clock)


@pytest.fixture
def store(dynamodb: object, settings: Settings) -> JobStore:
    return JobStore(dynamodb, settings.jobs_table)


@pytest.fixture
def service(
    broker: RedisBroker, store: JobStore, settings: Settings, registry: JobRegistry, clock: FakeClock
) -> JobService:
    return JobService(broker, store, settings, registry=registry, hooks=Hooks(), clock=clock)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path
