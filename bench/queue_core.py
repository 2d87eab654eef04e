"""Queue core benchmark: round trips per job, and enqueue/drain throughput beside RQ.

    .venv/bin/python -m bench.queue_core [--jobs 2000]

Runs against one redis-server and moto's server (DynamoDB over HTTP, as boto3 talks to AWS),
both started here on free ports. RQ runs on the same redis-server in the same run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue, SimpleWorker

from bench.noop import noop
from bench.stack import TABLES, BenchStack, bench_stack
from devstack.counting import DynamoCounter, counting_redis
from devstack.job_types import Noop
from relayq.aws import AwsClients
from relayq.domain.hooks import Hooks
from relayq.domain.models import NewJob
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import QueueEntry, RedisBroker
from relayq.services.jobs import JobService
from relayq.settings import Settings


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def layer(stack: BenchStack, conn: redis.Redis, prefix: str) -> JobService:
    settings = Settings(redis_url=stack.redis.url, **TABLES)  # type: ignore[arg-type]
    registry = JobRegistry(settings, AwsClients())
    registry.register(Noop)
    store = JobStore(stack.moto.client("dynamodb"), TABLES["jobs_table"])
    return JobService(RedisBroker(conn, prefix), store, settings, registry=registry, hooks=Hooks())


def round_trips(stack: BenchStack) -> dict[str, float]:
    conn = counting_redis(stack.redis.url)
    queue = layer(stack, conn, "count")
    counter = DynamoCounter(queue.store.client)
    queue.create(NewJob(type="noop"))
    queue.process(["default"], 1)  # scripts loaded, connections open
    n = 100
    conn.round_trips, counter.calls = 0, counter.calls.__class__()
    for _ in range(n):
        queue.create(NewJob(type="noop"))
    enqueue_rt, enqueue_ddb = conn.round_trips / n, counter.total / n
    operations = counter.calls.copy()
    conn.round_trips, counter.calls = 0, counter.calls.__class__()
    queue.process(["default"], n, concurrency=10)
    drain_rt, drain_ddb = conn.round_trips / n, counter.total / n
    operations += counter.calls
    conn.round_trips, counter.calls = 0, counter.calls.__class__()
    queue.create_many([NewJob(type="noop") for _ in range(n)])
    return {
        "redis_per_job": enqueue_rt + drain_rt,
        "ddb_per_job": enqueue_ddb + drain_ddb,
        "bulk_ddb_per_job": counter.total / n,
        "bulk_redis_per_job": conn.round_trips / n,
        **{f"ddb_{operation}_per_job": count / n for operation, count in operations.items()},
    }


def throughput(stack: BenchStack, jobs: int) -> list[tuple[str, float, float]]:
    """(what, ours jobs/s, RQ jobs/s) for enqueue, bulk enqueue and drain."""
    conn = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    rq_conn = redis.Redis.from_url(stack.redis.url)
    rows: list[tuple[str, float, float]] = []

    broker = RedisBroker(conn, "tp")
    entries = [QueueEntry(f"job_{i:028x}", "default", 50, 30) for i in range(jobs)]
    rq_queue = Queue("bench", connection=rq_conn)
    for _ in range(200):  # warm both sides up (imports, connections, script cache) before timing
        rq_queue.enqueue(noop)
    rq_queue.empty()  # type: ignore[no-untyped-call]
    broker.enqueue([QueueEntry("job_" + "f" * 28, "warm", 50, 30)])
    broker.clear("warm")

    ours = timed(lambda: [broker.enqueue([e]) for e in entries])
    theirs = timed(lambda: [rq_queue.enqueue(noop) for _ in range(jobs)])
    rows.append(("enqueue, one by one (Redis half only)", jobs / ours, jobs / theirs))

    def drain_ours() -> None:
        while leases := broker.claim(["default"], 100):
            for lease in leases:
                broker.finish(lease)

    ours = timed(drain_ours)
    worker = SimpleWorker([rq_queue], connection=rq_conn)
    theirs = timed(lambda: worker.work(burst=True, logging_level="WARNING"))
    rows.append(("drain no-op jobs (Redis half only)", jobs / ours, jobs / theirs))

    rq_queue.empty()  # type: ignore[no-untyped-call]
    ours = timed(lambda: broker.enqueue(entries[:]) and None)
    broker.clear("default")
    data = [Queue.prepare_data(noop) for _ in range(jobs)]
    theirs = timed(lambda: rq_queue.enqueue_many(data))
    rows.append(("bulk enqueue (Redis half only)", jobs / ours, jobs / theirs))
    rq_queue.empty()  # type: ignore[no-untyped-call]

    # The whole layer: every job also a DynamoDB record (moto's server over HTTP). The stand-in's
    # own speed bounds these rows, so it is measured too: bare PutItem calls, nothing of ours.
    full = layer(stack, conn, "full")
    n = min(jobs, 1000)
    client = stack.moto.client("dynamodb")
    bare = timed(
        lambda: [
            client.put_item(TableName=TABLES["tokens_table"], Item={"token_hash": {"S": f"bare-{i}"}}) for i in range(n)
        ]
    )
    rows.append(("(baseline) bare DynamoDB PutItem on the stand-in", n / bare, float("nan")))
    ours = timed(lambda: [full.create(NewJob(type="noop")) for _ in range(n)])
    theirs = timed(lambda: [rq_queue.enqueue(noop) for _ in range(n)])
    rows.append(("enqueue, one by one (Redis + DynamoDB)", n / ours, n / theirs))
    ours = timed(lambda: full.process(["default"], n, concurrency=16))
    theirs = timed(lambda: worker.work(burst=True, logging_level="WARNING"))
    rows.append(("drain no-op jobs, 16 threads (Redis + DynamoDB)", n / ours, n / theirs))
    ours = timed(lambda: full.create_many([NewJob(type="noop") for _ in range(n)]))
    theirs = timed(lambda: rq_queue.enqueue_many([Queue.prepare_data(noop) for _ in range(n)]))
    rows.append(("bulk enqueue (Redis + DynamoDB)", n / ours, n / theirs))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    with bench_stack() as stack:
        counts = round_trips(stack)
        rows = throughput(stack, args.jobs)
    print("Per job (enqueue + claim + complete), counted, not guessed:")
    print(f"  Redis round trips      {counts['redis_per_job']:.2f}   (target <= 3)")
    print(f"  DynamoDB requests      {counts['ddb_per_job']:.2f}   (target <= 3)")
    bulk_ddb, bulk_redis = counts["bulk_ddb_per_job"], counts["bulk_redis_per_job"]
    print(f"  bulk enqueue: DynamoDB {bulk_ddb:.2f} / job, Redis {bulk_redis:.2f} / job")
    print()
    print(f"{'operation':52} {'relayq/s':>10} {'RQ/s':>10} {'ratio':>7}")
    for what, ours, theirs in rows:
        if theirs != theirs:  # a baseline row with nothing of RQ's beside it
            print(f"{what:52} {ours:10.0f} {'-':>10} {'-':>8}")
            continue
        print(f"{what:52} {ours:10.0f} {theirs:10.0f} {ours / theirs:7.2f}x")


if __name__ == "__main__":
    main()
