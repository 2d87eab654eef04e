"""Sustained load on the local stack: POST /jobs from client threads while workers drain.

    PYTHONPATH=layers/queue:. .venv/bin/python -m bench.load [--seconds 60] [--clients 4]

Starts the local stack (``make run``'s stack: API Gateway emulation, the authorizer and API
functions, moto, redis-server) on free ports, then for ``--seconds``: ``--clients`` threads POST
email jobs (SES is moto's) and one drainer calls ``POST /workers/trigger`` (the API's synchronous
worker) back to back, while a sampler reads the queue depth from Redis every 0.5 s. Reports the
enqueue rate, p50/p99 latency of POST /jobs, the drain rate, the depth over time, and Redis memory
per 100k queued jobs (``INFO memory`` before/after queueing ``--memory-jobs`` jobs through the
layer, scaled). Writes ``bench/results/load.json`` and ``bench/results/load.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import redis

from devstack.process import StackProcess
from devstack.stack import LOCAL_SENDER
from relayq.container import container
from relayq.domain.clock import now_ms
from relayq.domain.models import new_job_id
from relayq.dynamodb.tokens import TokenStore
from relayq.redis.broker import QueueEntry, RedisBroker

RESULTS = Path(__file__).resolve().parent / "results"
JOB = {
    "type": "email",
    "queue": "load",
    "payload": {"to": "load@example.com", "from": LOCAL_SENDER, "subject": "Load", "message": "Body"},
}


@dataclass
class LoadReport:
    seconds: float
    clients: int
    enqueued: int
    enqueue_errors: dict[int, int]
    enqueue_rate_per_s: float
    post_p50_ms: float
    post_p99_ms: float
    drained: int
    drain_rate_per_s: float
    redis_bytes_per_100k_jobs: int
    memory_jobs: int
    depth: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, waiting jobs)
    enqueued_per_s: list[tuple[float, int]] = field(default_factory=list)
    drained_per_s: list[tuple[float, int]] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def per_second(stamps: list[float], seconds: float) -> list[tuple[float, int]]:
    buckets = [0] * (int(seconds) + 1)
    for stamp in stamps:
        buckets[min(int(stamp), len(buckets) - 1)] += 1
    return [(float(i), n) for i, n in enumerate(buckets)]


def pending_depth(conn: redis.Redis) -> int:
    """Waiting jobs of every queue: the pending sorted sets under the ``{rq}`` hash tag."""
    return sum(int(conn.zcard(key)) for key in conn.scan_iter("{rq}:pending:*", count=1000))


def own_token(stack: StackProcess, name: str) -> str:
    """A full-scope token with a rate limit far above any run, written straight into the stack's
    tokens table: the stack's own token (60 calls a minute) stays for the tests that share it."""
    env = stack.env
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return TokenStore(dynamodb, env["QUEUE_TOKENS_TABLE"]).create(name, "full", rate_limit=100_000).token


def run_load(stack: StackProcess, seconds: float, clients: int) -> dict[str, Any]:
    token = own_token(stack, "bench-load")
    stack.client(token).post("/jobs", json=JOB)  # the API and authorizer containers are warm
    conn = redis.Redis.from_url(stack.env["QUEUE_REDIS_URL"], decode_responses=True)
    lock = threading.Lock()
    latencies: list[float] = []
    enqueued_at: list[float] = []
    drained_at: list[float] = []
    depth: list[tuple[float, int]] = []
    errors: Counter[int] = Counter()
    start = time.monotonic()
    stop = start + seconds

    def client() -> None:
        api = stack.client(token)
        while time.monotonic() < stop:
            began = time.monotonic()
            answer = api.post("/jobs", json=JOB)
            ended = time.monotonic()
            with lock:
                if answer.status_code == 201:
                    latencies.append((ended - began) * 1000)
                    enqueued_at.append(ended - start)
                else:
                    errors[answer.status_code] += 1

    def drainer() -> None:
        api = stack.client(token)
        while time.monotonic() < stop:
            answer = api.post("/workers/trigger", json={"queues": ["load"], "max_jobs": 50})
            if answer.ok:
                done = int(answer.json()["data"]["processed"])
                with lock:
                    drained_at.extend([time.monotonic() - start] * done)

    def sampler() -> None:
        while time.monotonic() < stop:
            depth.append((round(time.monotonic() - start, 2), pending_depth(conn)))
            time.sleep(0.5)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    threads += [threading.Thread(target=drainer), threading.Thread(target=sampler)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    return {
        "seconds": round(elapsed, 1),
        "enqueued": len(latencies),
        "enqueue_errors": dict(errors),
        "enqueue_rate_per_s": round(len(latencies) / elapsed, 1),
        "post_p50_ms": round(percentile(latencies, 50), 1),
        "post_p99_ms": round(percentile(latencies, 99), 1),
        "drained": len(drained_at),
        "drain_rate_per_s": round(len(drained_at) / elapsed, 1),
        "depth": depth,
        "enqueued_per_s": per_second(enqueued_at, elapsed),
        "drained_per_s": per_second(drained_at, elapsed),
    }


def redis_memory_per_100k(stack: StackProcess, jobs: int) -> int:
    """Bytes Redis holds per 100k queued jobs, by ``INFO memory`` before/after the layer queues
    ``jobs`` jobs (Redis keeps only what scheduling needs; payloads and results are in DynamoDB, so
    the figure does not depend on the payload). Queued in batches under the stack's key prefix."""
    conn = redis.Redis.from_url(stack.env["QUEUE_REDIS_URL"], decode_responses=True)
    queue = RedisBroker(conn, container().settings.key_prefix)
    conn.memory_purge()
    before = int(conn.info("memory")["used_memory"])
    for start in range(0, jobs, 1000):
        queue.enqueue(QueueEntry(new_job_id(now_ms()), "memory", 50, 60) for _ in range(start, min(start + 1000, jobs)))
    after = int(conn.info("memory")["used_memory"])
    queue.clear("memory")
    return int((after - before) / jobs * 100_000)


def plot(report: LoadReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    top.plot([t for t, _ in report.depth], [d for _, d in report.depth], color="tab:purple")
    top.set_ylabel("queue depth (waiting jobs)")
    top.set_title(
        f"relayq local stack, {report.clients} clients: {report.enqueue_rate_per_s}/s in, "
        f"{report.drain_rate_per_s}/s out, POST p50 {report.post_p50_ms} ms / p99 {report.post_p99_ms} ms"
    )
    bottom.plot([t for t, _ in report.enqueued_per_s], [n for _, n in report.enqueued_per_s], label="enqueued/s")
    bottom.plot([t for t, _ in report.drained_per_s], [n for _, n in report.drained_per_s], label="drained/s")
    bottom.set_xlabel("seconds")
    bottom.set_ylabel("jobs per second")
    bottom.legend()
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def measure(stack: StackProcess, seconds: float, clients: int, memory_jobs: int, out: Path) -> LoadReport:
    """The whole report against a running stack; writes load.json and load.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    print(f"load: {clients} clients for {seconds:.0f} s", file=sys.stderr, flush=True)
    measured = run_load(stack, seconds, clients)
    print(f"memory: queueing {memory_jobs} jobs", file=sys.stderr, flush=True)
    memory = redis_memory_per_100k(stack, memory_jobs)
    report = LoadReport(clients=clients, redis_bytes_per_100k_jobs=memory, memory_jobs=memory_jobs, **measured)
    (out / "load.json").write_text(json.dumps(asdict(report), indent=1))
    plot(report, out / "load.png")
    return report


def main(argv: list[str] | None = None) -> LoadReport:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--memory-jobs", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print("starting the local stack", file=sys.stderr, flush=True)
        stack = StackProcess(Path(tmp) / "stack").start()
        try:
            report = measure(stack, args.seconds, args.clients, args.memory_jobs, args.out)
        finally:
            stack.stop()
    for key, value in asdict(report).items():
        if not isinstance(value, list):
            print(f"{key:28} {value}")
    print(f"{'redis_mb_per_100k_jobs':28} {report.redis_bytes_per_100k_jobs / 1e6:.1f}")
    print(f"plot: {args.out / 'load.png'}")
    return report


if __name__ == "__main__":
    main()
