"""Worker throughput and idle-queue kick latency.

Jobs per second one worker invocation drains (no-op jobs, then 10 ms sleep jobs), against a
redis-server and moto's server started here on free ports, beside RQ's ``SimpleWorker`` in burst
mode on the same redis in the same run. Then the enqueue-to-start latency of a job put into an
idle queue, with the kick invoking the worker through a local stand-in of Lambda's Invoke API.

    PYTHONPATH=layers/queue:. .venv/bin/python -m bench.worker_throughput [--jobs 300] [--kicks 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis
from rq import Queue as RQQueue
from rq import SimpleWorker

from bench.stack import TABLES
from devstack.http_recorder import Invocation, LambdaRecorder
from devstack.job_types import Noop, Sleep
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.domain.models import NewJob
from relayq.domain.registry import JobContext, JobType

started_at: dict[str, float] = {}


class Stamp(JobType):
    """Notes when it started, for the enqueue-to-start latency."""

    name = "stamp"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        started_at[payload["key"]] = time.perf_counter()
        return None


class MotoProcess(MotoServer):
    """moto's server in its own process: in a thread it would share the worker's GIL, which no
    DynamoDB endpoint does."""

    def start(self) -> MotoProcess:
        binary = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(400):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def rq_noop() -> None:
    return None


def rq_sleep(seconds: float) -> None:
    time.sleep(seconds)


def configure(**env: str) -> None:
    """Environment of a worker container; forget the per-container singletons."""
    os.environ.update(env)
    reset_container()
    for cls in (Noop, Sleep, Stamp):
        container().registry.register(cls)


def remaining_900s() -> int:
    return 900_000


def relayq_drain(jobs: int, payload_type: str, concurrency: int) -> float:
    """Jobs per second of one worker invocation that drains ``jobs`` jobs."""
    configure(QUEUE_WORKER_CONCURRENCY=str(concurrency))
    service = container().jobs
    payload = {"seconds": 0.01} if payload_type == "sleep" else {}
    for start in range(0, jobs, 100):
        service.create_many([NewJob(type=payload_type, payload=payload) for _ in range(start, min(jobs, start + 100))])
    begin = time.perf_counter()
    summary = container().worker.invoke(
        {"queues": ["default"], "max_jobs": jobs}, remaining_900s, f"bench-{payload_type}"
    )
    elapsed = time.perf_counter() - begin
    assert summary["successful"] == jobs, summary
    return jobs / elapsed


def rq_drain(conn: redis.Redis, jobs: int, sleep: bool) -> float:
    queue = RQQueue("bench", connection=conn)
    for _ in range(jobs):
        if sleep:
            queue.enqueue("bench.worker_throughput.rq_sleep", 0.01)
        else:
            queue.enqueue("bench.worker_throughput.rq_noop")
    worker = SimpleWorker([queue], connection=conn)
    begin = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - begin
    assert len(queue.finished_job_registry) >= jobs
    queue.finished_job_registry.cleanup()
    conn.flushdb()
    return jobs / elapsed


def kick_latency(kicks: int, redis_url: str) -> list[float]:
    """Enqueue into an idle queue; the kick invokes the worker (run in a thread on Invoke)."""
    recorder = LambdaRecorder().start()

    def run_worker(call: Invocation) -> None:
        container().worker.invoke(call.payload, remaining_900s, f"kick-{len(recorder.calls)}")

    recorder.on_invoke = run_worker
    configure(AWS_ENDPOINT_URL_LAMBDA=recorder.url, QUEUE_KICK_FUNCTIONS="*=bench-worker", QUEUE_WORKER_CONCURRENCY="1")
    service = container().jobs
    running = redis.Redis.from_url(redis_url, decode_responses=True)
    latencies = []
    try:
        for n in range(kicks):
            key = f"kick-{n}"
            begin = time.perf_counter()
            service.create(NewJob(type="stamp", queue="latency", payload={"key": key}))
            while key not in started_at:
                time.sleep(0.0005)
            latencies.append(started_at[key] - begin)
            while running.zcard("{rq}:running:latency"):  # idle again before the next enqueue
                time.sleep(0.001)
    finally:
        recorder.stop()
    assert len(recorder.calls) == kicks, "every enqueue into the idle queue should kick once"
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--kicks", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    # The worker prints EMF documents to stdout (CloudWatch reads them in Lambda): keep the
    # cost, drop the text.
    with tempfile.TemporaryDirectory() as data, contextlib.redirect_stdout(io.StringIO()):
        redis_server = RedisServer(Path(data)).start()
        moto = MotoProcess().start()
        moto.create_tables(TABLES)
        try:
            configure(
                AWS_ENDPOINT_URL=moto.url,
                QUEUE_REDIS_URL=redis_server.url,
                QUEUE_JOBS_TABLE=TABLES["jobs_table"],
                QUEUE_TOKENS_TABLE=TABLES["tokens_table"],
                QUEUE_IDEMPOTENCY_TABLE=TABLES["idempotency_table"],
                POWERTOOLS_METRICS_NAMESPACE="relayq-bench",
            )
            rq_conn = redis.Redis.from_url(redis_server.url.replace("/0", "/1"))
            relayq_drain(20, "noop", 1)  # warm-up: connections, moto's first table access
            rows = []
            for label, job_type in (("no-op", "noop"), ("10 ms sleep", "sleep")):
                rq_rate = rq_drain(rq_conn, args.jobs, sleep=job_type == "sleep")
                for concurrency in (1, 8):
                    rate = relayq_drain(args.jobs, job_type, concurrency)
                    rows.append((label, concurrency, rate, rq_rate))
            latencies = kick_latency(args.kicks, redis_server.url)
        finally:
            moto.stop()
            redis_server.stop()
    print(f"\nworker throughput, {args.jobs} jobs per run. relayq: redis-server, job records in DynamoDB on moto's")
    print(
        "server (its own process, over HTTP). RQ SimpleWorker (burst): the same redis-server, job records in Redis.\n"
    )
    print(f"{'jobs':<12} {'relayq threads':>14} {'relayq jobs/s':>14} {'RQ jobs/s':>10} {'relayq/RQ':>10}")
    for label, concurrency, rate, rq_rate in rows:
        print(f"{label:<12} {concurrency:>14} {rate:>14.1f} {rq_rate:>10.1f} {rate / rq_rate:>10.2f}")
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[max(0, int(0.95 * len(ms)) - 1)] if len(ms) > 1 else ms[0]
    print(f"\nenqueue-to-start latency with the idle-queue kick ({len(ms)} enqueues into an idle queue):")
    print(f"  median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms")
    print("  without the kick a job waits for the next scheduled run: up to 60 s (30 s on average) at rate(1 minute)")


if __name__ == "__main__":
    main()
