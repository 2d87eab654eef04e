"""What the queue looks like: metrics (Prometheus), stats, and health (200, or 503 when asked)."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from relayq.container import container
from relayq.http.responses import json_response

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.get("/metrics", summary="Queue and job metrics in Prometheus' text format", tags=["stats"])
def metrics() -> Response[str]:
    from relayq.services.metrics import prometheus_text

    body = prometheus_text(container().broker)
    return Response(status_code=200, content_type="text/plain; version=0.0.4; charset=utf-8", body=body)


@router.get("/stats", summary="Queue lengths and job counts by status (of one queue with ?queue=)", tags=["stats"])
def stats(flat: Annotated[bool, Query()] = False, queue: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    data = container().jobs.stats(queue or None)  # an empty ?queue= is all queues, as the plugin reads it
    if flat:
        # The dashboard's shape (the plugin flattened it in PHP): counts by status, then lengths.
        lengths = {name: block["pending"] for name, block in data.items() if name != "database"}
        data = {**data["database"], **{f"{name}_pending": n for name, n in lengths.items()}}
    return {"success": True, "data": data}


@router.get("/health", summary="Redis and DynamoDB reachability, engine, runtime and version", tags=["stats"])
def health(strict: Annotated[bool, Query()] = False) -> Response[Any]:
    """Always 200 with ``success`` / ``status`` telling healthy or not, as the plugin answers (its
    admin page shows any other status as "unable to reach the server"); ``strict=1`` makes an
    unhealthy answer 503, for load balancers and alarms that judge by the status."""
    jobs = container().jobs
    report = jobs.health()
    data = {
        "redis_connected": report.redis_connected,
        "redis_info": report.redis_info,
        "database_status": report.database_status,
        "memory_usage": _memory_usage(),
        **jobs.runtime_info(),
        "errors": report.errors,
    }
    body = {"success": report.healthy, "status": "healthy" if report.healthy else "unhealthy", "data": data}
    return json_response(503 if strict and not report.healthy else 200, body)


def _memory_usage() -> dict[str, Any]:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        current = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        current = peak
    limit = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    return {"current": current, "peak": peak, "limit": f"{limit}M" if limit else None}
