"""ElastiCache Serverless's request limits hold whatever the batch: no request of more than 3,999
arguments (the request guard of tests/conftest.py fails any, in every test) and no MULTI. Bulk
creates, claims over many queues, worker status over many queues, clear of a long queue, promote
and recover batches each stay under it; a create whose later batch fails keeps no record and runs
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from relayq.domain.errors import RedisUnavailable
from relayq.domain.hooks import Hooks
from relayq.domain.models import NewJob
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import ENQUEUE_BATCH, QueueEntry, RedisBroker
from relayq.redis.connection import RedisConnection
from relayq.redis.limits import MAX_ARGUMENTS
from relayq.redis.scripts import Scripts
from relayq.redis.worker_status import WorkerStatus
from relayq.services.jobs import JobService
from relayq.settings import Settings
from tests.support.clock import FakeClock
from tests.support.redis_matrix import RequestGuard, RequestRefused

pytestmark = pytest.mark.redis_matrix

MANY = 10_000


def entries(count: int, *, queues: int = 1, due_ms: int = 0) -> list[QueueEntry]:
    return [QueueEntry(f"job_{i:028x}", f"q{i % queues}", 50, 30, due_ms=due_ms) for i in range(1, count + 1)]


def test_the_guard_refuses_what_elasticache_serverless_refuses(
    layer_conn: RedisConnection, request_guard: RequestGuard
) -> None:
    with request_guard.expected() as refused:
        with pytest.raises(RequestRefused):
            layer_conn.delete(*[f"{{rq}}:k{i}" for i in range(MAX_ARGUMENTS)])  # DEL and 3,999 keys
        with pytest.raises(RequestRefused):
            pipe = layer_conn.pipeline(transaction=True)
            pipe.get("{rq}:k")
            pipe.execute()
    assert [r.split()[0] for r in refused] == ["DEL", "MULTI"]
    assert layer_conn.delete(*[f"{{rq}}:k{i}" for i in range(MAX_ARGUMENTS - 1)]) == 0  # at the limit: fine


# Heavy (10,000 DynamoDB records): the argument count is the client's, the same on every engine, so
# the plain server and the production engine family are enough.
@pytest.mark.redis_engines("plain", "valkey-cluster")
def test_ten_thousand_jobs_in_one_create_many_are_all_claimable(service: JobService, broker: RedisBroker) -> None:
    jobs = service.create_many([NewJob(type="echo", payload={"i": i}) for i in range(MANY)])
    assert len(jobs) == MANY
    assert broker.lengths(["default"]).pending == {"default": MANY}
    leases = broker.claim(["default"], MANY)
    assert sorted(lease.id for lease in leases) == sorted(job.id for job in jobs)


def test_claims_and_worker_status_over_thousands_of_queues(broker: RedisBroker, clock: FakeClock) -> None:
    queues = [f"q{i}" for i in range(5000)]
    assert broker.enqueue(entries(5000, queues=5000)) == 5000
    assert all(depth == 1 for depth, _ in broker.oldest(queues).values())
    status = WorkerStatus(broker, 60)
    status.begin("inv_1", queues, clock.now + 60_000)
    assert status.read()["workers_running"] == 1
    leases = broker.claim(queues, 5000, dict.fromkeys(queues, 1))
    assert len(leases) == 5000
    status.end("inv_1", queues, {"processed": 0})
    assert status.read()["workers_running"] == 0


def test_clear_promote_and_recover_of_long_queues(broker: RedisBroker, clock: FakeClock) -> None:
    broker.enqueue(entries(MANY))
    assert len(broker.clear("q0")) == MANY
    broker.enqueue(entries(MANY, due_ms=clock.now + 1000))
    clock.advance(2)
    while broker.promote_due():
        pass
    assert len(broker.claim(["q0"], MANY)) == MANY
    clock.advance(60)
    recovered = 0
    while leases := broker.recover_expired():
        recovered += len(leases)
    assert recovered == MANY


class FailingScripts(Scripts):
    """Scripts whose ``fail_on``-th enqueue call fails as an outage would."""

    def __init__(self, conn: RedisConnection, fail_on: int) -> None:
        super().__init__(conn)
        self.enqueues = 0
        self.fail_on = fail_on

    def run(self, name: str, keys: Any, args: Any) -> Any:
        if name == "enqueue":
            self.enqueues += 1
            if self.enqueues == self.fail_on:
                raise RedisConnectionError("the connection dropped")
        return super().run(name, keys, args)


# Heavy too (665 records dropped one by one), and about the batches, not the engine: the
# production engine family only.
@pytest.mark.redis_engines("valkey-cluster")
def test_a_create_many_whose_later_batch_fails_keeps_no_record_and_runs_nothing(
    broker: RedisBroker, store: JobStore, settings: Settings, registry: JobRegistry, clock: FakeClock
) -> None:
    broker.scripts = FailingScripts(broker.conn, fail_on=2)
    service = JobService(broker, store, settings, registry=registry, hooks=Hooks(), clock=clock)
    with pytest.raises(RedisUnavailable):
        service.create_many([NewJob(type="echo") for _ in range(ENQUEUE_BATCH + 10)])
    assert store.list().total == 0
    assert broker.lengths(["default"]).pending == {"default": ENQUEUE_BATCH}  # the first batch got in
    result = service.process(["default"], ENQUEUE_BATCH + 10)
    assert (result.processed, result.successful) == (0, 0)  # no record: dropped, never run
    lengths = broker.lengths(["default"])
    assert (lengths.pending, lengths.processing) == ({"default": 0}, 0)
