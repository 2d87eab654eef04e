"""Post-deploy smoke test against a deployed API (run by the deploy workflow after each stage):

    python -m tools.smoke --base-url https://<api>.execute-api.<region>.amazonaws.com/v1 --token <full-scope token>

Checks /health, creates a job in a queue no worker schedule serves, reads it back, then cancels it,
so a smoke run leaves no work behind. Exits non-zero with the failing step on the first problem."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import requests

SMOKE_QUEUE = "smoke"


class SmokeFailure(Exception):
    pass


def _json(response: requests.Response, step: str, *expected: int) -> Any:
    if response.status_code not in expected:
        raise SmokeFailure(f"{step}: HTTP {response.status_code} {response.text[:500]}")
    try:
        return response.json()
    except ValueError as error:
        raise SmokeFailure(f"{step}: body is not JSON: {response.text[:500]}") from error


def run(base_url: str, token: str, job_type: str, timeout: float = 15.0) -> str:
    """Returns the id of the job it created (and cancelled)."""
    base = base_url.rstrip("/")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    health = _json(session.get(f"{base}/health", timeout=timeout), "GET /health", 200)
    if health.get("status") != "healthy" or not health.get("data", {}).get("redis_connected"):
        raise SmokeFailure(f"GET /health: not healthy: {health}")

    body = {"type": job_type, "payload": {"smoke": True}, "queue": SMOKE_QUEUE, "priority": 1000}
    created = _json(session.post(f"{base}/jobs", json=body, timeout=timeout), "POST /jobs", 200, 201)
    job_id = created.get("job_id")
    if not created.get("success") or not isinstance(job_id, str):
        raise SmokeFailure(f"POST /jobs: unexpected body {created}")

    job = _json(session.get(f"{base}/jobs/{job_id}", timeout=timeout), f"GET /jobs/{job_id}", 200)
    if (job.get("id"), job.get("type"), job.get("queue"), job.get("status")) != (
        job_id,
        job_type,
        SMOKE_QUEUE,
        "queued",
    ):
        raise SmokeFailure(f"GET /jobs/{job_id}: record does not match what was created: {job}")

    cancelled = _json(session.delete(f"{base}/jobs/{job_id}", timeout=timeout), f"DELETE /jobs/{job_id}", 200)
    if not cancelled.get("success"):
        raise SmokeFailure(f"DELETE /jobs/{job_id}: {cancelled}")
    return job_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the stack's ApiUrl output")
    parser.add_argument("--token", required=True, help="an API token of scope full")
    parser.add_argument("--job-type", default="email", help="a registered job type (never run: the job is cancelled)")
    args = parser.parse_args(argv)
    try:
        job_id = run(args.base_url, args.token, args.job_type)
    except (SmokeFailure, requests.RequestException) as error:
        print(f"smoke test FAILED: {error}", file=sys.stderr)
        return 1
    print(f"smoke test passed: /health ok, job {job_id} created, read back and cancelled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
