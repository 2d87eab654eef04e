"""What relayq costs a month, per samconfig environment (cost profile): the fixed floor priced from
template.yaml resource by resource, and the per-job costs at 10k, 1M and 100M jobs a month,
beside SQS + Lambda for the same work (both with their floors).

    PYTHONPATH=layers/queue:. .venv/bin/python -m bench.cost_model [--env lean] [--no-measure]

The template is read with each environment's ``parameter_overrides`` over the parameters'
defaults, its conditions evaluated (devstack.template.Deployment): only the resources that
environment creates are priced. Every resource type is either priced here (``FLOOR``: billed by
the hour or month; ``USAGE``: billed per request or GB, in the per-job lines) or listed as free
(``FREE``); tests/unit/test_cost_model.py fails on a type in none of them.

The per-job request counts are measured (bench.queue_core.round_trips: enqueue + claim + complete
of no-op jobs on a real redis-server and moto's server) unless ``--no-measure``; the run fails
when they drift from relayq.services.cost.PER_JOB, which the API's estimate uses.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.template import Deployment, load, samconfig_environments
from relayq.services.cost import (
    HOURS_PER_MONTH,
    PER_JOB,
    PRICES,
    WORKER_MB,
    WORKER_MS_PER_JOB,
    PerJob,
    traces,
    usage_cost,
)

# Assumptions of the floor (bench/README.md): the cache holds less than its billed minimum; a
# scheduled worker run that finds nothing takes 50 ms and logs ~1 KB (START/END/REPORT, EMF).
REDIS_MIN_GB = 0.1
IDLE_RUN_MS, IDLE_RUN_LOG_KB = 50, 1.0
DETAILED_METRICS_PER_ROUTE = 5  # Count, 4XXError, 5XXError, Latency, IntegrationLatency
JOB_VOLUMES = (10_000, 1_000_000, 100_000_000)
SQS_BATCH = 10  # Lambda's SQS event source: up to 10 messages an invocation
SQS_IDLE_POLLS = 5 * 3 * 60 * 24 * 30  # 5 pollers long-polling 20 s, all month
READS = {"GetItem", "Query", "Scan", "BatchGetItem"}

# No charge of their own: what they do is billed where it happens (a role, a route, a subnet).
FREE = {
    "AWS::Serverless::LayerVersion": "layer storage is within Lambda's code storage (75 GB)",
    "AWS::IAM::Role": "IAM",
    "AWS::IAM::ManagedPolicy": "IAM",
    "AWS::ApiGateway::Account": "a setting of the account",
    "AWS::EC2::VPC": "no charge",
    "AWS::EC2::Subnet": "no charge",
    "AWS::EC2::RouteTable": "no charge",
    "AWS::EC2::Route": "no charge",
    "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::InternetGateway": "no charge (its traffic is egress, per GB)",
    "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EC2::SecurityGroup": "no charge",
    "AWS::EC2::SecurityGroupIngress": "no charge",
    "AWS::EC2::SecurityGroupEgress": "no charge",
    "AWS::EC2::NetworkInterface": "no charge (its public address is the EIP's line)",
    "AWS::EC2::EIPAssociation": "no charge (the address is the EIP's line)",
    "AWS::EC2::LaunchTemplate": "no charge (its volume is priced with the instance)",
    "AWS::ElastiCache::User": "no charge",
    "AWS::ElastiCache::UserGroup": "no charge",
    "AWS::Lambda::EventInvokeConfig": "no charge",
    "AWS::SNS::Topic": "per publish; alarm notifications are a few a month (first 1,000 e-mails free)",
    "AWS::SNS::Subscription": "no charge",
}
# Billed per request or GB only: the per-job lines (relayq.services.cost.usage_cost) price them.
USAGE = {
    "AWS::Serverless::Api": "API Gateway (REST) per request",
    "AWS::DynamoDB::Table": "DynamoDB writes and reads per request; storage and PITR per GB (empty tables: 0)",
    "AWS::Logs::LogGroup": "CloudWatch Logs per GB ingested",
    "AWS::SQS::Queue": "SQS per request (the DLQ is only written when an invocation fails twice)",
}


@dataclass
class Floor:
    """An environment's fixed monthly floor, line by line."""

    name: str
    lines: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def add(self, line: str, usd: float) -> None:
        if usd:
            self.lines[line] = self.lines.get(line, 0.0) + usd


def _month(hourly: float, count: float = 1) -> float:
    return hourly * HOURS_PER_MONTH * count


def _rate_per_month(expression: str) -> float:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        raise ValueError(f"schedule {expression!r}: only rate() expressions are priced")
    minutes = {"minute": 1, "hour": 60, "day": 1440}[match[2].removesuffix("s")] * int(match[1])
    return HOURS_PER_MONTH * 60 / minutes


def _cache(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    floor.add(
        f"{name}: ElastiCache Serverless storage minimum ({REDIS_MIN_GB} GB)",
        _month(REDIS_MIN_GB * PRICES["valkey_per_gb_hour"]),
    )
    days = int(props.get("SnapshotRetentionLimit", 0))
    floor.add(
        f"{name}: {days} daily snapshots of {REDIS_MIN_GB} GB",
        days * REDIS_MIN_GB * PRICES["valkey_snapshot_per_gb_month"],
    )


def _nat_gateway(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    floor.add(f"{name}: NAT gateway hours", _month(PRICES["nat_gateway_hour"]))


def _address(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    floor.add(f"{name}: public IPv4 address", _month(PRICES["public_ipv4_hour"]))


def _instance(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    kind = props["InstanceType"]
    floor.add(f"{name}: EC2 {kind} hours", _month(PRICES[f"ec2_{kind.replace('.', '_')}_hour"]))
    template_name = props["LaunchTemplate"]["LaunchTemplateId"].strip("<>")
    data = deployment.resources()[template_name]["Properties"]["LaunchTemplateData"]
    gb = sum(m["Ebs"]["VolumeSize"] for m in data["BlockDeviceMappings"])
    floor.add(f"{name}: EBS gp3 {gb} GB", gb * PRICES["ebs_gp3_per_gb_month"])


def _endpoint(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    if props["VpcEndpointType"] == "Interface":
        zones = len(props["SubnetIds"])
        floor.add(f"{name}: interface endpoint x {zones} AZ", _month(PRICES["interface_endpoint_hour"], zones))


def _secret(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    floor.add(f"{name}: Secrets Manager secret", PRICES["secret_month"])


def _alarm(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    # Priced per metric it evaluates: a metric-math alarm pays for each metric it reads.
    metrics = sum("MetricStat" in m for m in props.get("Metrics", [])) or 1
    floor.add("CloudWatch alarms ($0.10 per metric each evaluates)", metrics * PRICES["alarm_metric_month"])


def _function(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    """Scheduled runs happen whether or not a job waits: requests, duration, traces, logs, and the
    queue-depth metric a worker emits for each queue it serves."""
    memory = int(props.get("MemorySize", deployment.function_globals().get("MemorySize", 128)))
    variables = _environment(deployment, props)
    for event in props.get("Events", {}).values():
        if event["Type"] != "Schedule":
            continue
        runs = _rate_per_month(event["Properties"]["Schedule"])
        usd = runs / 1e6 * PRICES["lambda_per_million_requests"]
        usd += runs * IDLE_RUN_MS / 1000 * memory / 1024 * PRICES["lambda_per_gb_second"]
        usd += runs * IDLE_RUN_LOG_KB / 1024**2 * PRICES["logs_per_gb_ingested"]
        floor.add(f"{name}: {runs:,.0f} scheduled runs (requests, {IDLE_RUN_MS} ms, logs)", usd)
        if traced(deployment, props):
            floor.add("X-Ray traces of the scheduled runs", traces(runs) / 1e6 * PRICES["xray_per_million_traces"])
        if variables.get("QUEUE_EMF_IDLE_QUEUE_DEPTH", "true") == "true":
            queues = json.loads(event["Properties"].get("Input", "{}")).get("queues", [])
            metrics = len(queues) * PRICES["custom_metric_month"]
            floor.add("EMF QueueDepth metrics (one per queue a schedule serves)", metrics)


def _environment(deployment: Deployment, props: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = deployment.function_globals().get("Environment", {}).get("Variables", {})
    own: dict[str, Any] = props.get("Environment", {}).get("Variables", {})
    return variables | own


def traced(deployment: Deployment, props: dict[str, Any] | None = None) -> bool:
    """Whether the functions record X-Ray traces (Tracing: Active)."""
    return (props or {}).get("Tracing", deployment.function_globals().get("Tracing")) == "Active"


def _api(floor: Floor, name: str, props: dict[str, Any], deployment: Deployment) -> None:
    """Detailed (per-method) metrics are custom metrics, billed for each route called in the month."""
    if not any(setting.get("MetricsEnabled") is True for setting in props.get("MethodSettings", [])):
        return
    routes = sum(
        event["Type"] == "Api"
        for function in deployment.resources().values()
        if function["Type"] == "AWS::Serverless::Function"
        for event in function["Properties"].get("Events", {}).values()
    )
    usd = routes * DETAILED_METRICS_PER_ROUTE * PRICES["custom_metric_month"]
    floor.add(
        f"{name}: detailed metrics, {routes} routes x {DETAILED_METRICS_PER_ROUTE} (each route called in the month)",
        usd,
    )


FLOOR: dict[str, Callable[[Floor, str, dict[str, Any], Deployment], None]] = {
    "AWS::ElastiCache::ServerlessCache": _cache,
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::EC2::EIP": _address,
    "AWS::EC2::Instance": _instance,
    "AWS::EC2::VPCEndpoint": _endpoint,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::Serverless::Function": _function,
    "AWS::Serverless::Api": _api,
}


def floor(name: str, deployment: Deployment) -> Floor:
    result = Floor(name)
    for logical_id, resource in deployment.resources().items():
        kind = resource["Type"]
        if kind in FLOOR:
            FLOOR[kind](result, logical_id, resource["Properties"], deployment)
        elif kind not in FREE and kind not in USAGE:
            raise KeyError(f"{logical_id}: {kind} is neither priced nor listed as free in bench/cost_model.py")
    return result


def environments(template_path: Path | None = None) -> dict[str, Deployment]:
    document = load(template_path) if template_path else None
    return {env: Deployment(overrides, document) for env, overrides in samconfig_environments().items()}


def floors(template_path: Path | None = None) -> dict[str, Floor]:
    return {env: floor(env, deployment) for env, deployment in environments(template_path).items()}


def per_job_usage(jobs: float, per_job: PerJob = PER_JOB, *, tracing: bool = True) -> dict[str, float]:
    """One API request a job, a no-op job's worker time."""
    return usage_cost(jobs, jobs, jobs * WORKER_MS_PER_JOB / 1000, per_job, tracing=tracing)


def sqs_cost(
    jobs: float, *, behind_api: bool = False, tracing: bool = True
) -> tuple[dict[str, float], dict[str, float]]:
    """(floor, usage) of SQS standard + a Lambda consumer (event source mapping), producers calling
    SendMessage, or (``behind_api``) the same REST API + authorizer in front of it."""
    consumer_invocations = jobs / SQS_BATCH
    floor_lines = {"SQS idle long polls (5 pollers)": SQS_IDLE_POLLS / 1e6 * PRICES["sqs_per_million_requests"]}
    usage = {
        "SQS requests": (jobs + 2 * consumer_invocations) / 1e6 * PRICES["sqs_per_million_requests"],
        "Lambda requests (consumer)": consumer_invocations / 1e6 * PRICES["lambda_per_million_requests"],
        "Lambda duration (consumer)": jobs
        * WORKER_MS_PER_JOB
        / 1000
        * WORKER_MB
        / 1024
        * PRICES["lambda_per_gb_second"],
    }
    if behind_api:
        api = usage_cost(0, jobs, 0, tracing=tracing)
        usage |= {k: v for k, v in api.items() if v}
    return floor_lines, usage


def measured_per_job() -> PerJob:
    from bench.queue_core import round_trips
    from bench.stack import bench_stack

    with bench_stack() as stack:
        counts = round_trips(stack)
    ddb = {k[4:-8]: v for k, v in counts.items() if k.startswith("ddb_") and k != "ddb_per_job"}
    return PerJob(
        ddb_writes=sum(v for op, v in ddb.items() if op not in READS),
        ddb_reads=sum(v for op, v in ddb.items() if op in READS),
        redis_commands=counts["redis_per_job"],
    )


def _print_lines(lines: dict[str, float], indent: int = 6) -> None:
    for line, usd in lines.items():
        print(f"{' ' * indent}{line:78} {usd:10.2f}")


def report(env: str, result: Floor, per_job: PerJob, tracing: bool) -> None:
    print(f"\n== {env}: fixed floor ${result.total:.2f} a month (billed whether or not a job runs)")
    _print_lines(dict(sorted(result.lines.items(), key=lambda line: -line[1])))
    for jobs in JOB_VOLUMES:
        usage = per_job_usage(jobs, per_job, tracing=tracing)
        total = result.total + sum(usage.values())
        print(
            f"  {jobs:>11,} jobs: ${total:,.2f} a month = floor ${result.total:.2f} + usage ${sum(usage.values()):,.2f}"
            f" (${sum(usage.values()) / jobs * 1e6:,.2f} per 1M jobs beyond the floor)"
        )


def compare(per_job: PerJob, floor_usd: float, env: str, tracing: bool) -> None:
    print(f"\n== relayq ({env}) against SQS + Lambda, USD a month, floor + usage:")
    print(f"  {'jobs':>11}  {'relayq':>22}  {'SQS + Lambda':>20}  {'SQS + Lambda behind the API':>28}")
    for jobs in JOB_VOLUMES:
        ours = sum(per_job_usage(jobs, per_job, tracing=tracing).values())
        cells = [f"{floor_usd:.2f} + {ours:,.2f}"]
        for behind in (False, True):
            floor_lines, usage = sqs_cost(jobs, behind_api=behind, tracing=tracing)
            cells.append(f"{sum(floor_lines.values()):.2f} + {sum(usage.values()):,.2f}")
        print(f"  {jobs:>11,}  {cells[0]:>22}  {cells[1]:>20}  {cells[2]:>28}")
    print("\n  Usage lines at 1M jobs (relayq):")
    _print_lines(per_job_usage(1e6, per_job, tracing=tracing), indent=4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", help="a samconfig environment (default: every one)")
    parser.add_argument("--template", type=Path, help="price another copy of template.yaml (e.g. an older commit's)")
    parser.add_argument("--no-measure", action="store_true", help="use relayq.services.cost.PER_JOB, start no servers")
    args = parser.parse_args(argv)
    per_job = PER_JOB if args.no_measure else measured_per_job()
    source = "relayq.services.cost.PER_JOB" if args.no_measure else "measured"
    print(
        f"Per job ({source}): {per_job.ddb_writes:.2f} DynamoDB writes, {per_job.ddb_reads:.2f} reads, "
        f"{per_job.redis_commands:.2f} Redis round trips; per API request {per_job.auth_reads_per_request:.0f} "
        f"token read and {per_job.rate_limit_per_request:.0f} rate-limit script"
    )
    deployments = environments(args.template)
    for env in args.env or list(deployments):
        report(env, floor(env, deployments[env]), per_job, traced(deployments[env]))
    for env in args.env or list(deployments):
        compare(per_job, floor(env, deployments[env]).total, env, traced(deployments[env]))
    drift = [
        f
        for f in ("ddb_writes", "ddb_reads", "redis_commands")
        if abs(getattr(per_job, f) - getattr(PER_JOB, f)) > 0.01
    ]
    if drift:
        print(f"\nrelayq.services.cost.PER_JOB is stale ({', '.join(drift)}): set it to {per_job}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
