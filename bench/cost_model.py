"""Monthly AWS cost of relayq per 1M and 100M jobs, beside SQS + Lambda for the same work.

    PYTHONPATH=layers/queue:. .venv/bin/python -m bench.cost_model

The per-job counts are measured here (bench.queue_core.round_trips: Redis round trips and
DynamoDB requests by operation for enqueue + claim + complete of no-op jobs, on a real
redis-server and moto's server); prices are us-east-1 on-demand list prices (PRICES below, with the
assumptions they need). Nothing about the per-job counts is typed in by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.queue_core import round_trips
from bench.stack import bench_stack

# us-east-1 list prices (on-demand, no free tier, USD).
PRICES = {
    "apigw_rest_per_million": 3.50,  # REST API requests, first 333M a month
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000166667,  # x86
    "ddb_per_million_wru": 0.625,  # on-demand write request units
    "ddb_per_million_rru": 0.125,  # on-demand read request units
    "valkey_per_million_ecpu": 0.0023,  # ElastiCache Serverless for Valkey
    "valkey_per_gb_hour": 0.084,  # its data storage, billed at a 100 MB minimum
    "sqs_per_million_requests": 0.40,  # standard queue, after the first 1M
}
HOURS_PER_MONTH = 730
# Assumptions (not measured here; stated in bench/README.md):
ECPU_PER_COMMAND = 2  # a Lua script of a few keys; a plain command is 1 ECPU per KB moved
API_MS, AUTHORIZER_MS, API_MB = 40, 20, 512  # warm request of the API and the authorizer
WORKER_MS_PER_JOB, WORKER_MB = 25, 1024  # a no-op job's share of a worker invocation
JOBS_PER_WORKER_INVOCATION = 100  # max_jobs of the default queue set's schedule
SCHEDULED_INVOCATIONS = 4 * 60 * 24 * 30  # 3 worker schedules + the cron schedule, 1/min each
REDIS_GB = 0.1  # the billing minimum; 1M queued jobs at once need more (see load.py's figure)
SQS_BATCH = 10  # Lambda's SQS event source: up to 10 messages an invocation
SQS_IDLE_POLLS = 5 * 3 * 60 * 24 * 30  # 5 pollers long-polling 20 s, all month
READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
# Per API request on top of the queue core (from the code, not counted here): the authorizer's
# token lookup (a consistent GetItem, caching off) and the API's rate-limit script.
AUTH_READS_PER_REQUEST, RATE_LIMIT_REDIS_PER_REQUEST = 1, 1


@dataclass
class Estimate:
    name: str
    monthly_usd: float
    lines: dict[str, float]


def relayq_cost(jobs: float, counts: dict[str, float]) -> Estimate:
    millions = jobs / 1e6
    ddb = {k[4:-8]: v for k, v in counts.items() if k.startswith("ddb_") and k != "ddb_per_job"}
    writes = sum(v for op, v in ddb.items() if op not in READS)
    reads = sum(v for op, v in ddb.items() if op in READS) + AUTH_READS_PER_REQUEST
    redis_commands = counts["redis_per_job"] + RATE_LIMIT_REDIS_PER_REQUEST
    worker_invocations = jobs / JOBS_PER_WORKER_INVOCATION + SCHEDULED_INVOCATIONS
    gb_seconds = jobs * (API_MS + AUTHORIZER_MS) / 1000 * API_MB / 1024 + jobs * WORKER_MS_PER_JOB / 1000 * (
        WORKER_MB / 1024
    )
    lines = {
        "API Gateway (1 request a job)": millions * PRICES["apigw_rest_per_million"],
        "Lambda requests (API + authorizer + worker)": (2 * jobs + worker_invocations)
        / 1e6
        * PRICES["lambda_per_million_requests"],
        "Lambda duration": gb_seconds * PRICES["lambda_per_gb_second"],
        "DynamoDB writes": millions * writes * PRICES["ddb_per_million_wru"],
        "DynamoDB reads": millions * reads * PRICES["ddb_per_million_rru"],
        "Redis ECPUs": millions * redis_commands * ECPU_PER_COMMAND * PRICES["valkey_per_million_ecpu"],
        "Redis storage (minimum)": REDIS_GB * HOURS_PER_MONTH * PRICES["valkey_per_gb_hour"],
    }
    return Estimate("relayq (API -> Redis + DynamoDB -> worker)", sum(lines.values()), lines)


def sqs_cost(jobs: float, *, behind_api: bool = False) -> Estimate:
    """SQS standard + a Lambda consumer (event source mapping), producers calling SendMessage, or
    (``behind_api``) the same REST API + authorizer in front of it, as relayq has."""
    consumer_invocations = jobs / SQS_BATCH
    requests = jobs + 2 * consumer_invocations + SQS_IDLE_POLLS  # send; receive + delete batches; idle polls
    lines = {
        "SQS requests": requests / 1e6 * PRICES["sqs_per_million_requests"],
        "Lambda requests (consumer)": consumer_invocations / 1e6 * PRICES["lambda_per_million_requests"],
        "Lambda duration": jobs * WORKER_MS_PER_JOB / 1000 * (WORKER_MB / 1024) * PRICES["lambda_per_gb_second"],
    }
    if not behind_api:
        return Estimate("SQS + Lambda", sum(lines.values()), lines)
    lines["API Gateway (1 request a job)"] = jobs / 1e6 * PRICES["apigw_rest_per_million"]
    lines["Lambda requests (API + authorizer)"] = 2 * jobs / 1e6 * PRICES["lambda_per_million_requests"]
    api_gb_seconds = jobs * (API_MS + AUTHORIZER_MS) / 1000 * API_MB / 1024
    lines["Lambda duration (API + authorizer)"] = api_gb_seconds * PRICES["lambda_per_gb_second"]
    return Estimate("SQS + Lambda behind the same REST API", sum(lines.values()), lines)


def main() -> None:
    with bench_stack() as stack:
        counts = round_trips(stack)
    print("Counted per job (enqueue + claim + complete, bench.queue_core.round_trips):")
    for key, value in sorted(counts.items()):
        print(f"  {key:34} {value:6.2f}")
    print("Per 1,000,000 jobs:")
    print(
        f"  DynamoDB requests   {counts['ddb_per_job'] * 1e6:>12,.0f}"
        f"  (+ {AUTH_READS_PER_REQUEST:,}M token reads via the API)"
    )
    redis_total = counts["redis_per_job"] * 1e6
    print(
        f"  Redis commands      {redis_total:>12,.0f}"
        f"  (+ {RATE_LIMIT_REDIS_PER_REQUEST:,}M rate-limit scripts via the API)"
    )
    lambda_per_million = 2e6 + 1e6 / JOBS_PER_WORKER_INVOCATION
    print(f"  Lambda invocations  {lambda_per_million:>12,.0f}  (+ {SCHEDULED_INVOCATIONS:,} scheduled a month)")
    for jobs in (1e6, 100e6):
        print(f"\nMonthly cost for {jobs / 1e6:,.0f}M jobs (us-east-1, USD):")
        for estimate in (relayq_cost(jobs, counts), sqs_cost(jobs), sqs_cost(jobs, behind_api=True)):
            print(f"  {estimate.name:48} {estimate.monthly_usd:10.2f}")
            for line, usd in estimate.lines.items():
                print(f"      {line:44} {usd:10.2f}")


if __name__ == "__main__":
    main()
