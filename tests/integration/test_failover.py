"""Failover under load: a 3-primary + 3-replica Redis Cluster, worker containers draining 2,000
jobs through the worker's Lambda handler, and, mid-drain, the primary that holds the deployment's
hash tag goes away: a manual ``CLUSTER FAILOVER`` on its replica, or a restart of the primary
(stopped, started again on its port with its data, AOF). Afterwards every job is completed once as
DynamoDB records it, and ran once (its side effect counted in a file), none stuck in Redis.

Each scenario prints its figures (jobs, completed once, lost, duplicated, stuck, the longest pause
between two job runs around the fault and over the whole drain); ``RELAYQ_FAILOVER_JOBS`` changes
the number of jobs."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.handlers import ROOT
from devstack.redis_cluster import RedisClusterServers
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.domain.models import NewJob
from relayq.redis.failures import REDIS_FAILURES
from relayq.redis.keys import Keys
from tests.support.tally_jobs import runs

JOBS = int(os.environ.get("RELAYQ_FAILOVER_JOBS", "2000"))
WORKERS = 3  # worker containers (processes), each running jobs on 4 threads
QUEUE = "failover"
KEY = Keys("rq").queues  # any key of the deployment: they share one slot
# A claim whose answer was lost is recovered when its lease runs out: the job's timeout (no grace).
JOB_TIMEOUT_S = 3
DRAIN_LIMIT_S = 240.0  # a hung drain fails the test instead of blocking the suite (a loaded machine drains slowly)


@dataclass
class Drain:
    jobs: int
    completed_once: int
    lost: int  # no run and no completed record
    duplicated: int  # ran more than once
    stuck: int  # a record not completed, or Redis still holding the job
    fault_pause_s: float  # the longest time without a job run, around the fault (see pauses)
    longest_pause_s: float  # the same over the whole drain (a loaded machine stalls now and then too)
    fault_s: float  # from the fault's start until every node named the slot's primary again
    wall_s: float
    fault: str
    worker_errors: dict[str, int]
    statuses: dict[str, int]  # of the records, for a drain that did not finish
    redis_left: dict[str, int]

    def line(self, scenario: str) -> str:
        return f"{scenario}: " + json.dumps(self.__dict__)


@pytest.fixture
def cluster(
    lambda_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(tmp_path / "cluster", replicas=1, appendonly=True).start()
    monkeypatch.setenv("QUEUE_REDIS_URL", cluster.url)
    monkeypatch.setenv("QUEUE_REDIS_CLUSTER", "true")
    monkeypatch.setenv("QUEUE_LEASE_GRACE_SECONDS", "0")
    monkeypatch.setenv("QUEUE_WORKER_CONCURRENCY", "4")
    monkeypatch.setenv("QUEUE_JOB_MODULES", "tests.support.registered_types,tests.support.tally_jobs")
    reset_container()
    yield cluster
    cluster.stop()


def worker_container(stop: Path, log: Path) -> subprocess.Popen[bytes]:
    """A worker container writing to ``log`` (its logs, then its summary line): a file, not a pipe,
    which would fill with the tracebacks an outage logs and block the worker."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'queue'}:{ROOT}", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    args = [sys.executable, "-m", "tests.support.worker_loop", QUEUE, str(stop)]
    with log.open("w") as out:  # the child keeps its own copy of the file
        return subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def drain_through(fault: Callable[[RedisClusterServers], str], cluster: RedisClusterServers, folder: Path) -> Drain:
    """Create the jobs, drain them with the worker containers, apply ``fault`` once a quarter of
    them ran, and count what DynamoDB, Redis and the side effects say once the drain is over."""
    tally, stop = folder / "tally.log", folder / "stop"
    service = container().jobs
    created = service.create_many(
        [NewJob(type="tally", queue=QUEUE, payload={"file": str(tally)}, timeout=JOB_TIMEOUT_S) for _ in range(JOBS)]
    )
    ids = [job.id for job in created]
    started = time.monotonic()
    workers = [worker_container(stop, folder / f"worker{n}.log") for n in range(WORKERS)]
    try:
        wait_for(lambda: sum(runs(tally)[0].values()) >= JOBS // 4, started)
        fault_start = time.time()
        what = fault(cluster)
        fault_end = time.time()
        wait_for(lambda: len(runs(tally)[0]) >= JOBS and drained(), started)
    finally:
        stop.touch()
        for worker in workers:
            worker.wait(timeout=60)
    wall = time.monotonic() - started
    errors: dict[str, int] = {}
    for n in range(WORKERS):
        summary = json.loads((folder / f"worker{n}.log").read_text().strip().splitlines()[-1])
        for code, count in summary["errors"].items():
            errors[code] = errors.get(code, 0) + count
    counts, times = runs(tally)
    fault_pause, longest_pause = pauses(times, fault_start, fault_end)
    records = service.store.get_many(ids)
    completed = {i for i in ids if i in records and records[i].status == "completed"}
    lengths = service.broker.lengths([QUEUE])
    return Drain(
        jobs=len(ids),
        completed_once=sum(1 for i in completed if counts[i] == 1),
        lost=sum(1 for i in ids if counts[i] == 0 and i not in completed),
        duplicated=sum(1 for i in ids if counts[i] > 1),
        stuck=len(ids) - len(completed) + lengths.pending[QUEUE] + lengths.delayed + lengths.processing,
        fault_pause_s=round(fault_pause, 3),
        longest_pause_s=round(longest_pause, 3),
        fault_s=round(fault_end - fault_start, 3),
        wall_s=round(wall, 1),
        fault=what,
        worker_errors=errors,
        statuses=dict(Counter(r.status for r in records.values())),
        redis_left={"pending": lengths.pending[QUEUE], "delayed": lengths.delayed, "processing": lengths.processing},
    )


def pauses(times: list[float], fault_start: float, fault_end: float) -> tuple[float, float]:
    """The longest gap between consecutive job runs that overlaps the fault or the few seconds
    after it (a lost claim waits for its lease, the job's timeout), and the longest of all."""
    gaps = [(b - a, a, b) for a, b in itertools.pairwise(times)]
    around = [gap for gap, a, b in gaps if b >= fault_start and a <= fault_end + JOB_TIMEOUT_S]
    return max(around, default=0.0), max(gap for gap, _, _ in gaps)


def drained() -> bool:
    try:
        lengths = container().jobs.broker.lengths([QUEUE])
    except REDIS_FAILURES:  # this process's client meets the fault too
        return False
    return lengths.pending[QUEUE] + lengths.delayed + lengths.processing == 0


def wait_for(condition: Callable[[], bool], started: float) -> None:
    """Until ``condition`` holds or the drain's time is up (the counts then show what is left)."""
    while not condition() and time.monotonic() - started < DRAIN_LIMIT_S:
        time.sleep(0.1)


def manual_failover(cluster: RedisClusterServers) -> str:
    owner = cluster.owner_of(KEY)
    replica = cluster.replica_of(owner)
    with cluster.client(replica) as client:
        client.cluster("FAILOVER")
    cluster.wait_until(lambda: set(cluster.owners_of(KEY).values()) == {replica})
    return f"CLUSTER FAILOVER: {replica.port} took over from {owner.port}"


def restart_primary(cluster: RedisClusterServers) -> str:
    owner = cluster.owner_of(KEY)
    owner.stop()
    owner.start()  # the same port and data folder: its AOF brings its data back
    cluster.wait_until(lambda: len(set(cluster.owners_of(KEY).values())) == 1)
    successor = cluster.owner_of(KEY)
    if successor is owner:
        return f"restart of {owner.port}: back with its data before its replica took over"
    return f"restart of {owner.port}: its replica {successor.port} took over; it came back as a replica"


def kill_primary(cluster: RedisClusterServers) -> str:
    owner = cluster.owner_of(KEY)
    assert owner.process is not None
    owner.process.kill()  # a crash: no shutdown, no last words to its replica
    owner.process.wait()
    cluster.wait_until(lambda: bool(cluster.owners_of(KEY)) and set(cluster.owners_of(KEY).values()) != {owner})
    cluster.wait_until(lambda: len(set(cluster.owners_of(KEY).values())) == 1)
    return f"SIGKILL of {owner.port}: its replica {cluster.owner_of(KEY).port} took over"


@pytest.mark.parametrize(
    "fault",
    [manual_failover, restart_primary, kill_primary],
    ids=["cluster-failover", "primary-restart", "primary-killed"],
)
def test_every_job_completes_once_through_a_failover(
    cluster: RedisClusterServers, tmp_path: Path, fault: Callable[[RedisClusterServers], str]
) -> None:
    drain = drain_through(fault, cluster, tmp_path)
    print(drain.line(fault.__name__))
    assert (drain.completed_once, drain.lost, drain.duplicated, drain.stuck) == (JOBS, 0, 0, 0), drain
