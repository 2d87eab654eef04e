"""Shared fixtures: real Redis engines per test process (tests/support/redis_matrix.py), DynamoDB
through moto, a queue.

The Redis matrix. A test that uses ``redis_backend`` (through ``redis_conn``, ``layer_conn``,
``settings``, ``broker``, ``lambda_env``, ...) runs on the plain server; in a module or class marked
``redis_matrix`` it runs on each engine of ``BACKENDS`` (ids plain, redis-cluster, valkey-cluster);
``redis_engines(name, ...)`` narrows that (``"plain"``: about one plain node's behaviour). The layer logs in as the
ACL user of the template's access string; every request is checked by the request guard."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from devstack.job_types import register_test_types
from devstack.template import TABLES, create_table
from relayq.aws import AwsClients
from relayq.domain.hooks import Hooks
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import RedisBroker
from relayq.redis.connection import RedisConnection
from relayq.services.jobs import JobService
from relayq.settings import Settings
from tests.support.clock import FakeClock
from tests.support.redis_matrix import BACKENDS, GUARD, PREFIX, RedisBackend, RedisBackends, RequestGuard
from tests.support.stack import api, api_token, demo_ports, stack  # noqa: F401  (fixtures)

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "relayq-tests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


def pytest_configure(config: pytest.Config) -> None:
    GUARD.install()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_backend" not in metafunc.fixturenames:
        return
    definition = metafunc.definition
    engines = definition.get_closest_marker("redis_engines")
    if engines is not None:
        names = engines.args
    else:
        names = BACKENDS if definition.get_closest_marker("redis_matrix") else ("plain",)
    metafunc.parametrize("redis_backend", names, indirect=True)


@pytest.fixture(autouse=True)
def request_guard() -> Iterator[RequestGuard]:
    """Fails the test if any request went over ElastiCache Serverless's limits, even one whose
    refusal the code under test swallowed."""
    del GUARD.violations[:]
    yield GUARD
    assert not GUARD.violations, f"requests ElastiCache Serverless refuses: {GUARD.violations}"


@pytest.fixture(scope="session")
def redis_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisBackends]:
    backends = RedisBackends(tmp_path_factory.mktemp("redis"))
    yield backends
    backends.stop()


@pytest.fixture
def redis_backend(request: pytest.FixtureRequest, redis_backends: RedisBackends) -> RedisBackend:
    """The engine of this test, empty."""
    backend = redis_backends.get(getattr(request, "param", "plain"))
    backend.flush()
    return backend


@pytest.fixture
def redis_conn(redis_backend: RedisBackend) -> Iterator[RedisConnection]:
    """The test's own client (admin: it sets up, looks and breaks things the layer may not)."""
    conn = redis_backend.admin_client()
    yield conn
    conn.close()


@pytest.fixture
def layer_conn(redis_backend: RedisBackend) -> Iterator[RedisConnection]:
    """The layer's client, built by relayq.redis.connection from the settings, as the ACL user."""
    conn = redis_backend.layer_client()
    yield conn
    conn.close()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def settings(redis_backend: RedisBackend) -> Settings:
    return redis_backend.settings(
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
def broker(layer_conn: RedisConnection, clock: FakeClock) -> RedisBroker:
    return RedisBroker(layer_conn, PREFIX, lease_grace_ms=0, clock=clock)


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
