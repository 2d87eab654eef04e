"""A create whose enqueue fails keeps no record, whatever failed: each Redis error class (the
cluster client's RedisClusterException, which is no RedisError, too) answers as its domain error,
anything else as itself; the bulk create alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from redis import exceptions as rx

from relayq.domain.errors import QueueError, RedisOutOfMemory, RedisRefused, RedisUnavailable
from relayq.domain.hooks import Hooks
from relayq.domain.models import NewJob
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import QueueEntry, RedisBroker
from relayq.services.jobs import JobService
from relayq.settings import Settings
from tests.support.clock import FakeClock

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


class FailingBroker(RedisBroker):
    def __init__(self, broker: RedisBroker, error: Exception) -> None:
        super().__init__(broker.conn, broker.keys.prefix, clock=broker.clock)
        self.error = error

    def enqueue(self, entries: Iterable[QueueEntry]) -> int:
        raise self.error


FAILURES: list[tuple[Exception, type[Exception]]] = [
    (rx.ConnectionError("refused"), RedisUnavailable),
    (rx.TimeoutError("timed out"), RedisUnavailable),
    (rx.RedisClusterException("Redis Cluster cannot be connected."), RedisUnavailable),
    (rx.ClusterDownError("The cluster is down"), RedisUnavailable),
    (rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), RedisOutOfMemory),
    (rx.ResponseError("ERR user_script:1: bad"), RedisRefused),
    (RuntimeError("a bug between the two writes"), RuntimeError),
]


@pytest.fixture
def failing(broker: RedisBroker, store: JobStore, settings: Settings, registry: JobRegistry, clock: FakeClock) -> Any:
    def service(error: Exception) -> JobService:
        return JobService(FailingBroker(broker, error), store, settings, registry=registry, hooks=Hooks(), clock=clock)

    return service


@pytest.mark.parametrize(("error", "raised"), FAILURES, ids=[type(e).__name__ for e, _ in FAILURES])
def test_a_failed_enqueue_leaves_no_record(failing: Any, store: JobStore, error: Exception, raised: type) -> None:
    service: JobService = failing(error)
    with pytest.raises(raised) as create:
        service.create(NewJob(type="echo"))
    with pytest.raises(raised) as bulk:
        service.create_many([NewJob(type="echo"), NewJob(type="echo", queue="email")])
    assert store.list().total == 0
    for answer in (create.value, bulk.value):
        assert (answer.__cause__ is error) if isinstance(answer, QueueError) else (answer is error)
