"""Faults: workers killed mid-batch, Redis restarted, parallel workers, DynamoDB throttling.
Nothing is lost and nothing completes twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from devstack.redis_server import RedisServer
from relayq.container import container
from relayq.domain.models import NewJob
from tests.support.faults import throttled as throttled_answer

ROOT = Path(__file__).resolve().parents[2]
# `make bench` drains 10,000 jobs; `make test` a bounded 400 (moto's server is the slow part).
DRAIN_JOBS = int(os.environ.get("RELAYQ_DRAIN_JOBS", "400"))


def worker(env: dict[str, str], queue: str, max_jobs: int, concurrency: int = 1) -> subprocess.Popen[str]:
    full_env = {
        **os.environ,
        **env,
        "QUEUE_JOB_MODULES": "tests.support.registered_types",
        "PYTHONPATH": f"{ROOT / 'layers' / 'queue'}:{ROOT}",
    }
    args = [sys.executable, "-m", "tests.support.worker_process", queue, str(max_jobs), str(concurrency)]
    return subprocess.Popen(args, env=full_env, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def summary(process: subprocess.Popen[str]) -> dict[str, int]:
    out, _ = process.communicate(timeout=max(120, DRAIN_JOBS // 10))
    assert process.returncode == 0, out
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def test_killed_worker_loses_nothing_and_completes_each_job_once(
    lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**lambda_env, "QUEUE_LEASE_GRACE_SECONDS": "0"}
    monkeypatch.setenv("QUEUE_LEASE_GRACE_SECONDS", "0")
    service = container().jobs
    jobs = [service.create(NewJob(type="sleep", payload={"seconds": 0.3}, timeout=2)) for _ in range(6)]
    victim = worker(env, "default", 100)
    deadline = time.monotonic() + 30
    while service.get(jobs[0].id).status != "processing" and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    in_flight = [j.id for j in jobs if service.get(j.id).status == "processing"]
    assert in_flight, "the worker was killed before it started a job"
    left = [j.id for j in jobs if service.get(j.id).status != "completed"]
    time.sleep(2.1)  # the dead worker's lease runs out
    rescuer = summary(worker(env, "default", 100))
    records = {j.id: service.get(j.id) for j in jobs}
    assert {r.status for r in records.values()} == {"completed"}
    assert all(records[i].attempts == 2 for i in in_flight)
    assert rescuer["processed"] == len(left)


def test_parallel_workers_drain_every_job_exactly_once(lambda_env: dict[str, str]) -> None:
    service = container().jobs
    jobs = service.create_many([NewJob(type="noop", queue="bulk") for _ in range(DRAIN_JOBS)])
    workers = [worker(lambda_env, "bulk", DRAIN_JOBS, concurrency=4) for _ in range(4)]
    totals = [summary(w) for w in workers]
    assert sum(t["processed"] for t in totals) == len(jobs)
    assert sum(t["successful"] for t in totals) == len(jobs)
    counts = service.store.count_by_status()
    assert counts["completed"] == len(jobs) and counts["total"] == len(jobs)
    assert service.lengths().pending == {"bulk": 0}


def test_redis_restart_keeps_pending_delayed_and_running_jobs(
    tmp_path: Path, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from relayq.container import reset as reset_container

    server = RedisServer(tmp_path / "aof", appendonly=True).start()
    try:
        monkeypatch.setenv("QUEUE_REDIS_URL", server.url)
        monkeypatch.setenv("QUEUE_LEASE_GRACE_SECONDS", "0")
        reset_container()
        service = container().jobs
        running = service.create(NewJob(type="echo", timeout=1))
        (lease,) = service.broker.claim(["default"], 1)
        service.store.start(lease.id, lease.token)  # its worker is running it when Redis goes down
        pending = service.create(NewJob(type="echo"))
        delayed = service.create(NewJob(type="echo", delay=1))
        server.stop()
        server.start()
        reset_container()
        service = container().jobs
        time.sleep(1.1)  # the delayed job is due, the running job's lease has run out
        result = service.process(["default"], 10)
        assert result.recovered == 1 and result.successful == 3
        assert {service.get(j.id).status for j in (pending, delayed, running)} == {"completed"}
    finally:
        server.stop()


def test_dynamodb_throttling_is_retried(lambda_env: dict[str, str]) -> None:
    service = container().jobs
    job = service.create(NewJob(type="echo"))
    throttled: list[str] = []

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        if b"UpdateItem" in target and len(throttled) < 2:
            throttled.append(target.decode())
            return throttled_answer(request.url)
        return None

    container().aws.client("dynamodb").meta.events.register_first("before-send.dynamodb.UpdateItem", throttle)
    result = service.process(["default"], 5)
    assert len(throttled) == 2
    assert result.successful == 1 and service.get(job.id).status == "completed"
