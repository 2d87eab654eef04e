"""A model of the queue core under faults (Hypothesis stateful), on a real redis-server with its
append-only file and moto's DynamoDB server.

Rules: create, claim, start, finish, whole worker batches, retry and cancel by a user, workers
killed (their leases abandoned), time passing (leases expire), Redis restarts (with the AOF, and
losing everything), lost replies (the script ran, the caller sees a ConnectionError), scripts that
never reached Redis, and DynamoDB throttling past botocore's retries. Each example ends with a
drain (recovery, one reconciliation, processing until Redis is empty) and checks that every
accepted job ended in exactly one terminal state recorded in DynamoDB, none completed twice, none
is left queued or processing, no record counts more attempts than it allows, and Redis holds
nothing more.

``RELAYQ_MODEL_EXAMPLES`` x ``RELAYQ_MODEL_STEPS`` (25 x 30 by default; `make bench` runs a long
one) bound it; the figures of the run (faults injected by kind, jobs lost, duplicated, stuck) are
printed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
import redis
from botocore.config import Config
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from devstack.job_types import register_test_types
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from devstack.template import table_names
from relayq.aws import AwsClients
from relayq.domain.errors import JobNotCancellable, JobNotRetryable, QueueError, StoreUnavailable
from relayq.domain.hooks import Hooks
from relayq.domain.models import FINISHED, Job, NewJob
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import Lease, RedisBroker
from relayq.services.jobs import JobService
from relayq.services.reconcile import Reconciler
from relayq.settings import Settings
from tests.support.clock import FakeClock
from tests.support.faults import FaultyScripts, Select, Throttle, starts, updates

EXAMPLES = int(os.environ.get("RELAYQ_MODEL_EXAMPLES", "25"))
STEPS = int(os.environ.get("RELAYQ_MODEL_STEPS", "30"))
TABLES = table_names("model")
START_MS = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC
WORKERS = 3
TIMEOUT = 10
# Scripts whose reply may be lost, or whose call may never reach Redis.
SCRIPTS = ("claim", "finish", "retry", "recover", "promote", "enqueue", "reopen", "cancel")
THROTTLES: dict[str, Select] = {
    "start": starts,
    "update": updates,
    "read": lambda operation, _: operation in ("GetItem", "BatchGetItem"),
}
# Each kind of fault as likely as the others, then one of its cases.
FAULT_KINDS = {
    "lose": SCRIPTS,
    "fail": SCRIPTS,
    "throttle": tuple(sorted(THROTTLES)),
    "restart": ("with its AOF", "losing its data"),
}
# Everything a fault may make a step raise: the worker or caller that took it stops there.
FAULTS = (RedisError, QueueError)
# Figures of the whole run, over every example.
FIGURES: Counter[str] = Counter()


class CountingStore(JobStore):
    """The job store, counting completions and the starts since a job's last reopen (the attempts
    it really made), and watching attempts as they are recorded."""

    def __init__(self, client: Any, table: str, clock: FakeClock) -> None:
        super().__init__(client, table, clock=clock)
        self.completed: Counter[str] = Counter()
        self.started: Counter[str] = Counter()
        self.over_attempts: list[str] = []

    def start(self, job_id: str, fence: int) -> Job:
        job = super().start(job_id, fence)
        self.started[job_id] += 1
        if job.attempts > job.max_attempts:
            self.over_attempts.append(job_id)
        return job

    def reopen(self, job_id: str) -> Job:
        job = super().reopen(job_id)
        self.started[job_id] = 0
        return job

    def complete(self, job_id: str, fence: int, result: Any) -> Job:
        job = super().complete(job_id, fence, result)
        self.completed[job_id] += 1
        return job


class Env:
    """What every example shares: the AOF redis-server and the DynamoDB client (no retries)."""

    def __init__(self, redis_server: RedisServer, dynamodb: Any) -> None:
        self.redis_server = redis_server
        self.dynamodb = dynamodb
        self.conn = redis.Redis.from_url(redis_server.url, decode_responses=True, retry=Retry(NoBackoff(), 3))


class QueueModel(RuleBasedStateMachine):
    env: ClassVar[Env]

    def __init__(self) -> None:
        super().__init__()
        env = self.env
        env.conn.flushall()
        # A fixed start, whole seconds: records keep times to the second, so a start part way
        # through a second would make the same steps behave differently from one example to the next.
        self.clock = FakeClock(START_MS)
        self.settings = Settings(
            redis_url=env.redis_server.url,
            jobs_table=TABLES["jobs_table"],
            retry_delays=(1,),
            retry_jitter=0,
            lease_grace_seconds=0,
        )
        self.broker = RedisBroker(env.conn, "rq", lease_grace_ms=0, clock=self.clock)
        self.scripts = FaultyScripts(env.conn)
        self.broker.scripts = self.scripts
        self.store = CountingStore(env.dynamodb, TABLES["jobs_table"], self.clock)
        registry = register_test_types(JobRegistry(self.settings, AwsClients()))
        self.jobs = JobService(
            self.broker, self.store, self.settings, registry=registry, hooks=Hooks(), clock=self.clock
        )
        self.accepted: dict[str, Job] = {}
        self.claimed: list[list[Lease]] = [[] for _ in range(WORKERS)]
        self.running: list[list[tuple[Job, Lease]]] = [[] for _ in range(WORKERS)]
        self.throttle = Throttle(env.dynamodb).__enter__()
        self.faults: Counter[str] = Counter()
        # Jobs only the reconciliation may bring back (every job, once Redis lost its data).
        self.needs_reconciliation: set[str] = set()
        self.lost_data = False
        self.steps = -1  # the invariant runs once before the first step too

    # --- the rules --------------------------------------------------------------------------------

    @rule(kinds=st.lists(st.sampled_from(["echo", "flaky", "broken"]), min_size=1, max_size=3), attempts=st.data())
    def create(self, kinds: list[str], attempts: st.DataObject) -> None:
        for kind in kinds:
            payload = {"succeed_on": 2} if kind == "flaky" else {}
            request = NewJob(type=kind, payload=payload, max_attempts=attempts.draw(st.integers(1, 3)), timeout=TIMEOUT)
            try:
                job = self.jobs.create(request)
            except FAULTS:
                continue  # not accepted: the caller was told so
            self.accepted[job.id] = job

    @rule(worker=st.integers(0, WORKERS - 1), n=st.integers(1, 2))
    def claim(self, worker: int, n: int) -> None:
        # A fault: the leases may have been taken, but this worker never heard which.
        with contextlib.suppress(*FAULTS):
            self.claimed[worker] += self.broker.claim(["default"], n)

    @precondition(lambda self: any(self.claimed))
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        worker = data.draw(st.sampled_from([w for w in range(WORKERS) if self.claimed[w]]))
        lease = self.claimed[worker].pop(0)
        try:
            job = self.jobs.processor.start(lease)
        except FAULTS:
            return  # the worker stops; whether the start was recorded is for recovery to find out
        if job is not None:
            self.running[worker].append((job, lease))

    @precondition(lambda self: any(self.running))
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        """The handler runs and its end is recorded, maybe long after the lease expired."""
        worker = data.draw(st.sampled_from([w for w in range(WORKERS) if self.running[w]]))
        job, lease = self.running[worker].pop(0)
        with contextlib.suppress(*FAULTS):
            self.jobs.processor.run_started(job, lease, self.clock())

    @rule(n=st.integers(1, 3))
    def batch(self, n: int) -> None:
        """A whole worker round, as the worker function runs it (promote, recover, claim, run)."""
        with contextlib.suppress(*FAULTS):
            self.faults["leases expired"] += self.jobs.process(["default"], n).recovered

    @precondition(lambda self: any(self.claimed) or any(self.running))
    @rule(worker=st.integers(0, WORKERS - 1))
    def kill(self, worker: int) -> None:
        if self.claimed[worker] or self.running[worker]:
            self.faults["worker killed"] += 1
        self.claimed[worker], self.running[worker] = [], []

    @rule(seconds=st.sampled_from([1, 5, TIMEOUT + 1, 3 * TIMEOUT]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def recover(self) -> None:
        with contextlib.suppress(*FAULTS):
            self.faults["leases expired"] += self.jobs.processor.recover_expired()

    @precondition(lambda self: bool(self.accepted))
    @rule(data=st.data(), action=st.sampled_from(["retry", "cancel"]))
    def user(self, data: st.DataObject, action: str) -> None:
        job_id = data.draw(st.sampled_from(list(self.accepted)))  # in order of creation: ids are random
        try:
            (self.jobs.retry if action == "retry" else self.jobs.cancel)(job_id)
        except (JobNotRetryable, JobNotCancellable):
            pass  # not in a state for it now: the user was told
        except StoreUnavailable:
            # The reopen, or its undo after Redis refused, may not have been written: a record
            # queued that Redis may not hold, for the reconciliation to find.
            self.needs_reconciliation.add(job_id)
        except FAULTS:
            pass

    @rule(kind=st.sampled_from(sorted(FAULT_KINDS)), data=st.data())
    def fault(self, kind: str, data: st.DataObject) -> None:
        """One fault, armed for the next call it applies to (or at once: a restart)."""
        what = data.draw(st.sampled_from(FAULT_KINDS[kind]))
        if kind == "lose":
            self.scripts.lose(what)
        elif kind == "fail":
            self.scripts.fail(what)
        elif kind == "throttle":
            self.throttle.arm(THROTTLES[what], label=f"throttled {what}")
        elif what == "losing its data":
            # What a restart without persistence (or a failover to an empty node) leaves.
            self.env.conn.flushall()
            self.env.conn.script_flush()
            self.lost_data = True
        else:
            self.env.redis_server.stop()
            self.env.redis_server.start()
        if kind == "restart":
            self.faults[f"redis restart {what}"] += 1

    # --- checked after every step -------------------------------------------------------------------

    @invariant()
    def never_completed_twice_nor_over_its_attempts(self) -> None:
        self.steps += 1
        assert max(self.store.completed.values(), default=0) <= 1, self.store.completed
        assert self.store.over_attempts == []

    # --- the drain and the end checks ---------------------------------------------------------------

    def _process_until_empty(self) -> None:
        for _ in range(12):
            self.clock.advance(600)  # past every lease, retry delay and the reconciliation grace
            result = self.jobs.process(["default"], 1000)
            if not result.processed and not result.recovered and not self.env.conn.hlen("{rq}:meta"):
                return

    def teardown(self) -> None:
        try:
            self._disarm()
            self._process_until_empty()
            self._check_recovery_alone()
            report = Reconciler(self.jobs).run()
            self._process_until_empty()
            self._check(report.repaired)
        finally:
            self._forget()

    def _disarm(self) -> None:
        self.throttle.__exit__()
        self.faults.update(self.throttle.throttled)
        self.faults.update(self.scripts.injected)
        self.scripts = FaultyScripts(self.env.conn)
        self.broker.scripts = self.scripts
        self.claimed = [[] for _ in range(WORKERS)]
        self.running = [[] for _ in range(WORKERS)]

    def _check_recovery_alone(self) -> None:
        """While Redis kept its data, recovery alone leaves no job waiting or running for nothing."""
        records = self.store.get_many(list(self.accepted))
        unfinished = {i for i, job in records.items() if job.status not in FINISHED}
        FIGURES["jobs left to the reconciliation"] += len(unfinished)
        if not self.lost_data:
            assert unfinished <= self.needs_reconciliation, {i: records[i] for i in unfinished}

    def _check(self, repaired: int) -> None:
        records = self.store.get_many(list(self.accepted))
        lost = [i for i in self.accepted if i not in records]
        stuck = [i for i, job in records.items() if job.status not in FINISHED]
        duplicated = [i for i, n in self.store.completed.items() if n > 1]
        FIGURES.update(
            {
                "examples": 1,
                "steps": self.steps,
                "jobs accepted": len(self.accepted),
                "jobs lost": len(lost),
                "jobs stuck": len(stuck),
                "jobs completed twice": len(duplicated),
                "repaired by the reconciliation": repaired,
            }
        )
        FIGURES.update(f"ended {job.status}" for job in records.values())
        FIGURES.update({f"fault: {kind}": n for kind, n in self.faults.items()})
        assert (lost, stuck, duplicated) == ([], [], [])
        for job_id, job in records.items():
            # An attempt is spent only by a start: never by a claim that did not start the job.
            assert job.attempts == self.store.started[job_id] <= job.max_attempts, job
            assert (job.status == "completed") == (self.store.completed[job_id] == 1), job
        conn = self.env.conn
        left = {key: conn.type(key) for key in conn.keys("{rq}:*") if key not in ("{rq}:seq", "{rq}:queues")}
        inflight = {queue: int(n) for queue, n in conn.hgetall("{rq}:inflight").items() if int(n)}
        assert {k: t for k, t in left.items() if k != "{rq}:inflight"} == {} and inflight == {}

    def _forget(self) -> None:
        """The example's records go (the table is shared by the examples of this process)."""
        client, table = self.env.dynamodb, TABLES["jobs_table"]
        ids = [
            item["id"]["S"] for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]
        ]
        for start in range(0, len(ids), 25):
            requests = [{"DeleteRequest": {"Key": {"id": {"S": i}}}} for i in ids[start : start + 25]]
            client.batch_write_item(RequestItems={table: requests})


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer) -> Iterator[Env]:
    server = RedisServer(tmp_path_factory.mktemp("model-redis"), appendonly=True).start()
    moto_server.create_tables(TABLES)
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),  # a throttled request is past the retries
    )
    yield Env(server, dynamodb)
    server.stop()


def test_the_queue_loses_duplicates_and_strands_nothing_under_faults(env: Env) -> None:
    QueueModel.env = env
    FIGURES.clear()
    run_state_machine_as_test(
        QueueModel,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    report = os.environ.get("RELAYQ_MODEL_REPORT")
    if report:
        Path(report).write_text(json.dumps(dict(sorted(FIGURES.items())), indent=2) + "\n")
    print("queue model:", json.dumps(dict(sorted(FIGURES.items()))))
