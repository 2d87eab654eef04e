"""What a month of relayq costs: the list prices, the usage-priced part of the bill, and the
estimate the API shows (the deployment's fixed floor plus what the counters say was used).

The fixed floor (hours billed whether or not a job runs: the cache's minimum, the NAT, endpoints,
alarms, the secret) is priced from template.yaml by ``python -m bench.cost_model``, which also
measures the per-job request counts kept in ``PER_JOB`` below and fails when they drift; the
template hands the floor of its ``CostProfile`` to the functions (``QUEUE_COST_FLOOR_USD``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relayq.redis.broker import RedisBroker
from relayq.services.metrics import OUTCOME_METRICS
from relayq.settings import Settings

# us-east-1 on-demand list prices in USD as published late 2026 (docs/deployment.md states the
# date), no free tier: the free tiers are per account, shared with whatever else runs there.
PRICES = {
    "apigw_rest_per_million": 3.50,  # REST API requests, first 333M a month
    "lambda_per_million_requests": 0.20,
    "lambda_per_gb_second": 0.0000166667,  # x86
    "ddb_per_million_wru": 0.625,  # on-demand write request units
    "ddb_per_million_rru": 0.125,  # on-demand read request units
    "valkey_per_million_ecpu": 0.0023,  # ElastiCache Serverless for Valkey
    "valkey_per_gb_hour": 0.0837,  # its data storage, billed at a 100 MB minimum
    "valkey_snapshot_per_gb_month": 0.085,
    "sqs_per_million_requests": 0.40,  # standard queue
    "xray_per_million_traces": 5.00,
    "logs_per_gb_ingested": 0.50,
    "custom_metric_month": 0.30,  # CloudWatch custom metrics (EMF, API Gateway detailed metrics), first 10k
    "alarm_metric_month": 0.10,  # a standard alarm, per metric it evaluates
    "nat_gateway_hour": 0.045,
    "nat_gateway_per_gb": 0.045,
    "public_ipv4_hour": 0.005,
    "interface_endpoint_hour": 0.01,  # per endpoint per AZ
    "interface_endpoint_per_gb": 0.01,
    "secret_month": 0.40,
    "secret_per_10k_calls": 0.05,
    "ec2_t4g_nano_hour": 0.0042,
    "ebs_gp3_per_gb_month": 0.08,
    "internet_egress_per_gb": 0.09,  # data transfer out to the internet, first 10 TB (after 100 GB free)
    "cross_az_per_gb": 0.02,  # $0.01 out of one AZ and $0.01 into the other
}
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# Assumptions (bench/README.md states them): a warm request of the API and the authorizer, a no-op
# job's share of a worker invocation, the jobs one scheduled worker run takes.
API_MS, AUTHORIZER_MS, API_MB = 40, 20, 512
WORKER_MS_PER_JOB, WORKER_MB = 25, 1024
JOBS_PER_WORKER_INVOCATION = 100
ECPU_PER_COMMAND = 2  # a Lua script over a few small keys; a plain command is 1 ECPU per KB moved
LOG_KB_PER_REQUEST = 1.5  # access log + the two functions' START/END/REPORT and request lines
LOG_KB_PER_JOB = 0.5  # the worker's per-job line
# X-Ray's default sampling rule: the first request each second, then 5% of the rest.
XRAY_RESERVOIR_PER_SECOND, XRAY_RATE = 1, 0.05


@dataclass(frozen=True)
class PerJob:
    """Requests one job makes (enqueue + claim + complete) and one API request adds."""

    ddb_writes: float
    ddb_reads: float
    redis_commands: float
    auth_reads_per_request: float = 1  # the authorizer's token GetItem (consistent; caching off)
    rate_limit_per_request: float = 1  # the API's rate-limit script


# Measured by bench.queue_core.round_trips (python -m bench.cost_model checks these figures).
PER_JOB = PerJob(ddb_writes=3.0, ddb_reads=0.0, redis_commands=2.12)


def traces(requests: float) -> float:
    """Traces X-Ray records for ``requests`` spread evenly over a month."""
    reservoir = min(requests, XRAY_RESERVOIR_PER_SECOND * SECONDS_PER_MONTH)
    return reservoir + XRAY_RATE * (requests - reservoir)


def usage_cost(
    jobs: float, api_requests: float, worker_seconds: float, per_job: PerJob = PER_JOB, *, tracing: bool = True
) -> dict[str, float]:
    """USD per line item for a month's usage beyond the fixed floor (``tracing``: X-Ray records traces)."""
    worker_invocations = jobs / JOBS_PER_WORKER_INVOCATION
    api_gb_seconds = api_requests * (API_MS + AUTHORIZER_MS) / 1000 * API_MB / 1024
    gb_seconds = api_gb_seconds + worker_seconds * WORKER_MB / 1024
    reads = jobs * per_job.ddb_reads + api_requests * per_job.auth_reads_per_request
    commands = jobs * per_job.redis_commands + api_requests * per_job.rate_limit_per_request
    log_gb = (api_requests * LOG_KB_PER_REQUEST + jobs * LOG_KB_PER_JOB) / 1024**2
    return {
        "API Gateway (REST)": api_requests / 1e6 * PRICES["apigw_rest_per_million"],
        "Lambda requests (API + authorizer + worker)": (2 * api_requests + worker_invocations)
        / 1e6
        * PRICES["lambda_per_million_requests"],
        "Lambda duration": gb_seconds * PRICES["lambda_per_gb_second"],
        "DynamoDB writes": jobs * per_job.ddb_writes / 1e6 * PRICES["ddb_per_million_wru"],
        "DynamoDB reads": reads / 1e6 * PRICES["ddb_per_million_rru"],
        "Redis ECPUs": commands * ECPU_PER_COMMAND / 1e6 * PRICES["valkey_per_million_ecpu"],
        "X-Ray traces": tracing * traces(api_requests + worker_invocations) / 1e6 * PRICES["xray_per_million_traces"],
        "CloudWatch Logs": log_gb * PRICES["logs_per_gb_ingested"],
    }


@dataclass(frozen=True)
class CostEstimate:
    profile: str
    floor_usd: float
    jobs: int
    worker_seconds: float
    usage_usd: float
    lines: Mapping[str, float]

    @property
    def total_usd(self) -> float:
        return self.floor_usd + self.usage_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "floor_usd": round(self.floor_usd, 2),
            "usage_usd": round(self.usage_usd, 2),
            "total_usd": round(self.total_usd, 2),
            "jobs": self.jobs,
            "worker_seconds": round(self.worker_seconds, 1),
            "lines": {name: round(usd, 4) for name, usd in self.lines.items()},
            "basis": "the profile's monthly floor plus the jobs and worker time counted since the counters "
            "started, one API request a job, us-east-1 list prices",
        }


def cost_estimate(broker: RedisBroker, settings: Settings) -> CostEstimate:
    """The month's cost: the profile's floor plus the usage the worker counters hold (every
    finished attempt and its duration, from ``record_jobs.lua``), one API request a job."""
    counters: Mapping[str, str] = broker.conn.hgetall(broker.keys.named("metrics", "counters"))  # type: ignore[assignment]
    jobs = 0
    worker_seconds = 0.0
    for field, raw in counters.items():
        kind = field.partition("|")[0]
        if kind in OUTCOME_METRICS:
            jobs += int(raw)
        elif kind == "duration_sum":  # seconds
            worker_seconds += float(raw)
    lines = usage_cost(jobs, jobs, worker_seconds, tracing=settings.cost_profile != "lean")
    return CostEstimate(
        settings.cost_profile, settings.cost_floor_usd, jobs, worker_seconds, sum(lines.values()), lines
    )
