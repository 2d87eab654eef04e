"""The API's warm request latency: ``POST /jobs`` and ``GET /jobs`` through the API handler (event
in, response out) against the same layer calls without the handler, alternated in the same run,
against a real redis-server and moto's server. The cold start of every function is
``bench.cold_start``'s.

Run: ``PYTHONPATH=layers/queue:. .venv/bin/python -m bench.api_latency [--requests 200]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _timed_pair(first: Callable[[], Any], second: Callable[[], Any], n: int) -> tuple[list[float], list[float]]:
    """Alternate the two calls, so both see the same data and the same machine load."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(n):
        for call, into in ((first, samples[0]), (second, samples[1])):
            t = time.perf_counter()
            call()
            into.append(time.perf_counter() - t)
    return samples


def warm_latency(requests: int) -> list[dict[str, Any]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    sys.path[:0] = [str(ROOT / "layers" / "queue"), str(ROOT)]
    from devstack.apigw import proxy_event
    from devstack.handlers import load_handler
    from devstack.job_types import Noop
    from devstack.lambda_context import FakeLambdaContext
    from devstack.moto_server import MotoServer
    from devstack.redis_server import RedisServer
    from devstack.template import table_environment, table_names
    from relayq.container import container
    from relayq.domain.models import NewJob

    tables = table_names("bench")  # every table of the template: moto_server creates them all
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }.items():
        os.environ.setdefault(key, value)
    with tempfile.TemporaryDirectory() as data:
        redis_server = RedisServer(Path(data)).start()
        moto = MotoServer().start()
        try:
            moto.create_tables(tables)
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": moto.url,
                    "QUEUE_REDIS_URL": redis_server.url,
                    **table_environment(tables),
                    "POWERTOOLS_LOG_LEVEL": "WARNING",
                }
            )
            container().registry.register(Noop)
            api = load_handler("api")
            context = FakeLambdaContext(timeout_s=30)
            principal: dict[str, str | int] = {
                "principalId": "tok_bench",
                "token_id": "tok_bench",
                "scope": "full",
                "rate_limit": 10**6,
            }
            body = json.dumps({"type": "noop", "payload": {"to": "a@example.com", "n": 1}})

            def post() -> None:
                event = proxy_event("POST", "/jobs", headers={"Content-Type": "application/json"}, body=body,
                                    resource="/{proxy+}", authorizer=principal)  # fmt: skip
                assert api.handler(event, context)["statusCode"] == 201

            def get() -> None:
                event = proxy_event(
                    "GET", "/jobs", query={"per_page": "10"}, resource="/{proxy+}", authorizer=principal
                )
                assert api.handler(event, context)["statusCode"] == 200

            service = container().jobs
            request = NewJob(type="noop", payload={"to": "a@example.com", "n": 1})
            post()
            get()  # first calls open the connections
            rows = []
            for name, handler_call, layer_call in [
                ("POST /jobs", post, lambda: service.create(request)),
                ("GET /jobs", get, lambda: service.list(1, 10)),
            ]:
                layer, through = _timed_pair(layer_call, handler_call, requests)
                rows.append({"route": name, "layer": _percentiles(layer), "handler": _percentiles(through)})
            return rows
        finally:
            moto.stop()
            redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="warm requests per route")
    args = parser.parse_args()

    print(f"Warm latency ({args.requests} requests each; real redis-server + moto server)")
    print(f"{'route':<12}{'layer p50':>11}{'layer p99':>11}{'handler p50':>13}{'handler p99':>13}")
    for row in warm_latency(args.requests):
        (lp50, lp99), (hp50, hp99) = row["layer"], row["handler"]
        print(f"{row['route']:<12}{lp50:>9.2f}ms{lp99:>9.2f}ms{hp50:>11.2f}ms{hp99:>11.2f}ms")


if __name__ == "__main__":
    main()
