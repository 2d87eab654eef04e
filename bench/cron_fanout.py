"""Benchmark of the all-sites cron trigger, all traffic on 127.0.0.1.

1. Wall time to call the cron URL of N local sites that each take 50 ms to answer: the bounded
   concurrent fan-out against the plugin's serial loop, both measured here, in the same run (the
   serial loop once waiting for each answer, as a run that records results must, and once
   fire-and-forget with the plugin's 0.01 s timeout, which records nothing).
2. The ``defer=1`` answer time of the trigger handler (real redis-server, moto's server for
   DynamoDB) for networks of 10 to 5,000 sites: it must not grow with the number of sites.

    PYTHONPATH=layers/queue .venv/bin/python -m bench.cron_fanout [--sites 1000] [--delay 0.05] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from devstack.apigw import proxy_event
from devstack.handlers import load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from devstack.sites import SiteFarm
from devstack.template import create_table, table_names
from relayq.domain.cron import CronTarget
from relayq.services.cron.fanout import FanOutOptions, fan_out
from relayq.services.cron.targets import doing_wp_cron
from relayq.services.outbound import OutboundGuard

TABLES = table_names("bench")
PRINCIPAL = {"principalId": "tok_bench", "token_id": "tok_bench", "scope": "full"}


def fan_out_rows(sites: int, delay: float, concurrency: int) -> list[tuple[str, float, int]]:
    farm = SiteFarm(delay=delay).start()
    stamp = doing_wp_cron()
    targets = [
        CronTarget(site=farm.url(f"s{n}"), url=f"{farm.url(f's{n}')}/wp-cron.php?doing_wp_cron={stamp}")
        for n in range(sites)
    ]
    # The farm is on 127.0.0.1, which the guard refuses unless allow-listed: exactly its port.
    guard = OutboundGuard(allow=[f"127.0.0.1:{farm.port}"])
    rows = []
    try:
        for label, options in (
            (
                f"concurrent fan-out ({concurrency} at a time)",
                FanOutOptions(concurrency=concurrency, timeout=10, guard=guard),
            ),
            ("serial, waiting for each answer", FanOutOptions(concurrency=1, timeout=10, guard=guard)),
            (
                "serial fire-and-forget, 0.01 s timeout (plugin)",
                FanOutOptions(concurrency=1, timeout=0.01, guard=guard),
            ),
        ):
            started = time.perf_counter()
            results = fan_out(targets, options)
            rows.append((label, time.perf_counter() - started, sum(r.ok for r in results)))
    finally:
        farm.stop()
    return rows


def defer_rows(sizes: list[int], repeats: int) -> list[tuple[int, float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp)).start()
        moto = MotoServer().start()
        try:
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": moto.url,
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench",
                    "QUEUE_REDIS_URL": redis_server.url,
                    "POWERTOOLS_LOG_LEVEL": "WARNING",
                    **{f"QUEUE_{key.upper()}": name for key, name in TABLES.items()},
                }
            )
            moto.create_tables(TABLES)
            cron: Any = load_handler("cron")
            from relayq.container import container

            # One sites table per network size, measured in turns so load on the machine hits every size alike.
            sites = container().cron.runner.sites
            for size in sizes:
                create_table(moto.client("dynamodb"), "SitesTable", f"bench-sites-{size}")
                sites.table = f"bench-sites-{size}"
                urls = [f"http://127.0.0.1:9/site-{n}" for n in range(size)]
                for start in range(0, len(urls), 1000):
                    event = proxy_event(
                        "POST", "/sites", body=json.dumps({"sites": urls[start : start + 1000]}), authorizer=PRINCIPAL
                    )
                    assert cron.handler(event, FakeLambdaContext())["statusCode"] == 201
            guard = container().cron.guard
            timings: dict[int, list[float]] = {size: [] for size in sizes}
            for attempt in range(repeats + 1):  # the first turn warms up, untimed
                for size in sizes:
                    sites.table = f"bench-sites-{size}"
                    container().redis.delete(guard.queued)  # each trigger queues a new run (no coalescing)
                    event = proxy_event("GET", "/run", query={"defer": "1"}, authorizer=PRINCIPAL)
                    started = time.perf_counter()
                    answer = cron.handler(event, FakeLambdaContext())
                    if attempt:
                        timings[size].append(time.perf_counter() - started)
                    assert answer["statusCode"] == 202 and json.loads(answer["body"])["mode"] == "redis"
            return [(size, statistics.median(t) * 1000, max(t) * 1000) for size, t in timings.items()]
        finally:
            moto.stop()
            redis_server.stop()


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server: one line a request
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds each site takes to answer")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--defer-sizes", default="10,100,1000,5000")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    print(f"\nCron on {args.sites} local sites answering in {args.delay * 1000:.0f} ms each")
    print(f"{'approach':<50} {'wall s':>8} {'sites ok':>9} {'vs serial':>10}")
    rows = fan_out_rows(args.sites, args.delay, args.concurrency)
    serial = rows[1][1]
    for label, seconds, ok in rows:
        print(f"{label:<50} {seconds:>8.2f} {ok:>9} {serial / seconds:>9.1f}x")

    print(f"\ndefer=1 answer time (handler in-process, median and max of {args.repeats})")
    print(f"{'sites':>6} {'median ms':>10} {'max ms':>8}")
    for size, median, worst in defer_rows([int(s) for s in args.defer_sizes.split(",")], args.repeats):
        print(f"{size:>6} {median:>10.1f} {worst:>8.1f}")


if __name__ == "__main__":
    main()
