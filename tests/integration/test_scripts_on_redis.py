"""The Lua scripts on a real redis-server: each compiles, a flushed script cache is refilled, the
lease scripts tell why they refuse, and a Redis laid out as before keeps working."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis

from relayq.domain.models import Job, JobStatus
from relayq.domain.outcomes import Outcome
from relayq.redis.broker import PRIORITY_BAND, Lease, QueueEntry, RedisBroker
from relayq.redis.codes import ScriptCode
from relayq.redis.cron_guard import CronGuard
from relayq.redis.keys import Keys
from relayq.redis.locks import Lock
from relayq.redis.rate_limit import RateLimiter
from relayq.redis.scripts import Scripts, script_names, source
from relayq.redis.worker_status import WorkerStatus
from tests.support.clock import FakeClock
from tests.support.redis_matrix import RedisBackend

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix

KEYS = Keys("rq")
JOB = "job_" + "1" * 28
JOB_RECORD = Job(
    id=JOB,
    type="echo",
    queue="default",
    status=JobStatus.COMPLETED,
    priority=50,
    payload={},
    max_attempts=3,
    timeout=10,
    created_at="2026-01-01 00:00:00",
    updated_at="2026-01-01 00:00:00",
)


def entry(job_id: str = JOB, *, priority: int = 50, timeout: int = 10) -> QueueEntry:
    return QueueEntry(job_id, "default", priority, timeout)


def lease_step(scripts: Scripts, name: str, job_id: str, attempt: int, clock: FakeClock) -> Any:
    """Run a lease script by hand, with the KEYS and ARGV the broker gives it."""
    k = KEYS
    if name == "finish":
        return scripts.run(name, [k.meta, k.processing, k.inflight], [job_id, attempt])
    if name == "retry":
        keys = [k.meta, k.processing, k.inflight, k.delayed, k.seq]
        return scripts.run(name, keys, [k.tag, job_id, attempt, clock.now, clock.now, 0])
    return scripts.run(name, [k.meta, k.processing, k.inflight, k.delayed], [job_id, attempt, clock.now + 1000])


@pytest.mark.parametrize("name", script_names())
def test_every_script_compiles_on_redis(redis_conn: redis.Redis, name: str) -> None:
    assert redis_conn.script_load(source(name))


def test_a_flushed_script_cache_is_filled_again(broker: RedisBroker, redis_conn: redis.Redis) -> None:
    broker.enqueue([entry()])
    redis_conn.script_flush()
    (lease,) = broker.claim(["default"], 1)
    redis_conn.script_flush()
    assert broker.finish(lease) is True
    guard = CronGuard(broker.conn, "rq", lock_seconds=60, cooldown_seconds=0)
    assert guard.admit("sync", "run_1").outcome == "admitted"
    redis_conn.script_flush()
    assert guard.hold("run_1") == 0


@pytest.mark.parametrize("name", ["finish", "retry", "defer"])
def test_lease_scripts_tell_an_unknown_job_from_a_lost_lease(
    broker: RedisBroker, redis_conn: redis.Redis, clock: FakeClock, name: str
) -> None:
    scripts = Scripts(broker.conn)
    assert lease_step(scripts, name, JOB, 1, clock) == ScriptCode.NO_SUCH_JOB
    broker.enqueue([entry()])
    assert lease_step(scripts, name, JOB, 0, clock) == ScriptCode.NOT_LEASED  # waiting, never claimed
    (first,) = broker.claim(["default"], 1)
    clock.advance(11)
    (recovered,) = broker.recover_expired()
    assert broker.retry(recovered, 0)
    assert lease_step(scripts, name, JOB, first.token, clock) == ScriptCode.NOT_LEASED  # back in its queue
    (second,) = broker.claim(["default"], 1)
    assert lease_step(scripts, name, JOB, first.token, clock) == ScriptCode.STALE_ATTEMPT
    assert redis_conn.zscore(KEYS.processing, JOB) is not None, "a refused step changes nothing"
    assert lease_step(scripts, name, JOB, second.token, clock) == ScriptCode.OK


def test_the_broker_answers_false_and_logs_why(
    broker: RedisBroker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="relayq.redis.broker")
    assert broker.finish(Lease(JOB, 1)) is False
    broker.enqueue([entry()])
    (first,) = broker.claim(["default"], 1)
    clock.advance(11)
    (second,) = broker.recover_expired()
    assert broker.retry(first, clock.now) is False
    assert broker.defer(first, clock.now) is False
    assert broker.finish(second) is True
    refusals = [r.getMessage() for r in caplog.records]
    assert refusals == [
        f"Redis refused finish of {JOB} token 1: NO_SUCH_JOB",
        f"Redis refused retry of {JOB} token 1: STALE_ATTEMPT",
        f"Redis refused defer of {JOB} token 1: STALE_ATTEMPT",
    ]


def test_a_redis_laid_out_as_before_keeps_working(broker: RedisBroker, redis_conn: redis.Redis) -> None:
    """Jobs as the earlier scripts left them (the layout is unchanged; new entries leave out `m`,
    the max attempts, which nothing reads any more): metadata JSON in the meta
    hash, a waiting job in its pending set at priority * 2^40 + sequence, a leased one in the
    processing set and counted in flight."""
    waiting, leased = "job_" + "a" * 28, "job_" + "b" * 28
    redis_conn.hset(KEYS.meta, waiting, json.dumps({"q": "default", "p": 10, "t": 30, "m": 3, "a": 0}))
    redis_conn.hset(KEYS.meta, leased, json.dumps({"q": "default", "p": 10, "t": 30, "m": 3, "a": 2}))
    redis_conn.zadd(KEYS.pending("default"), {waiting: 10 * PRIORITY_BAND + 7})
    redis_conn.zadd(KEYS.processing, {leased: broker.clock() + 60_000})
    redis_conn.hset(KEYS.inflight, "default", 1)
    redis_conn.set(KEYS.seq, 7)
    redis_conn.sadd(KEYS.queues, "default")
    broker.enqueue([entry(JOB, priority=10)])
    assert broker.finish(Lease(leased, 2)) is True
    assert [(lease.id, lease.token) for lease in broker.claim(["default"], 5)] == [(waiting, 1), (JOB, 1)]
    assert json.loads(str(redis_conn.hget(KEYS.meta, waiting))) == {"q": "default", "p": 10, "t": 30, "m": 3, "a": 1}
    assert redis_conn.hget(KEYS.inflight, "default") == "2"


# Every script of the loader, called the way the layer calls it (the KEYS and ARGV of its caller).
LAYER_CALLS: dict[str, Callable[[RedisBroker], object]] = {
    "cancel": lambda b: b.cancel(JOB),
    "claim": lambda b: b.claim(["default"], 1),
    "clear": lambda b: b.clear("default"),
    "cron_admit": lambda b: CronGuard(b.conn, "rq", lock_seconds=60, cooldown_seconds=0).admit("defer", "run_1"),
    "cron_hold": lambda b: CronGuard(b.conn, "rq", lock_seconds=60, cooldown_seconds=0).hold("run_1"),
    "cron_release": lambda b: CronGuard(b.conn, "rq", lock_seconds=60, cooldown_seconds=0).release(
        "run_1", cooldown=False
    ),
    "defer": lambda b: b.defer(Lease(JOB, 1), b.clock() + 1000),
    "enqueue": lambda b: b.enqueue([entry()]),
    "finish": lambda b: b.finish(Lease(JOB, 1)),
    "kick": lambda b: b.scripts.run(
        "kick", [KEYS.named("running", "default"), KEYS.named("kick", "default")], [b.clock(), 1000]
    ),
    "oldest": lambda b: b.oldest(["default"]),
    "promote": lambda b: b.promote_due(),
    "promote_one": lambda b: b.promote(JOB),
    "rate_hit": lambda b: RateLimiter(b.conn, "rq").hit("tok_a", 10),
    "reconcile_due": lambda b: b.reconcile_due(1000),
    "record_jobs": lambda b: WorkerStatus(b, 60).record([Outcome(JOB, "completed", duration_ms=5, job=JOB_RECORD)]),
    "recover": lambda b: b.recover_expired(),
    "release_lock": lambda b: Lock(b, "maintenance", 1000).release(),
    "reopen": lambda b: b.reopen(entry()),
    "retry": lambda b: b.retry(Lease(JOB, 1), 0),
    "worker_begin": lambda b: WorkerStatus(b, 60).begin("inv_1", ["default"], b.clock() + 1000),
    "worker_end": lambda b: WorkerStatus(b, 60).end("inv_1", ["default"], {}),
}


def test_every_script_has_a_layer_call() -> None:
    assert sorted(LAYER_CALLS) == script_names()


@pytest.mark.parametrize("name", script_names())
def test_every_script_runs_again_after_every_node_lost_its_script_cache(
    broker: RedisBroker, redis_backend: RedisBackend, name: str
) -> None:
    """What a failover or a scaling does to the script cache (per node): the next EVALSHA answers
    NOSCRIPT, and the loader loads the script again, on the plain and on the cluster client."""
    call = LAYER_CALLS[name]
    call(broker)
    for node in redis_backend.node_clients():
        with node:
            assert node.script_flush()
    call(broker)
