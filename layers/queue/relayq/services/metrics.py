"""Worker metrics, two ways: CloudWatch EMF lines (Powertools Metrics) printed by the worker after
each batch, and Prometheus text rendered from what ``record_jobs.lua`` keeps in Redis plus the
live queue depths. The two report the same numbers."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from relayq.domain.models import is_job_id
from relayq.domain.outcomes import Outcome
from relayq.redis.broker import RedisBroker

# Outcome status -> the metric (and Prometheus counter) it counts toward, besides "processed".
OUTCOME_METRICS = {"completed": "JobsCompleted", "failed": "JobsFailed", "retry": "JobsRetried"}
QUANTILES = (0.5, 0.95)


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    pending: int
    oldest_age_s: float | None


def queue_depths(broker: RedisBroker, names: Sequence[str] | None = None) -> list[QueueDepth]:
    """Pending jobs and the age of the oldest waiting job, per queue (one round trip)."""
    names = list(names) if names is not None else broker.queue_names()
    now = broker.clock()
    depths = []
    for name, (pending, oldest) in broker.oldest(names).items():
        age = max(0.0, (now - int(oldest[4:16], 16)) / 1000) if oldest and is_job_id(oldest) else None
        depths.append(QueueDepth(name, pending, age))
    return depths


def emit_emf(outcomes: Iterable[Outcome], depths: Iterable[QueueDepth]) -> None:
    """One EMF document per (queue, type) with counts and durations, one per queue with depth."""
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.job is not None and outcome.status in OUTCOME_METRICS:
            groups[(outcome.job.queue, outcome.job.type)].append(outcome)
    for (queue_name, job_type), group in sorted(groups.items()):
        metrics = EphemeralMetrics()
        metrics.add_dimension("queue", queue_name)
        metrics.add_dimension("type", job_type)
        metrics.add_metric("JobsProcessed", MetricUnit.Count, len(group))
        for status, name in OUTCOME_METRICS.items():
            metrics.add_metric(name, MetricUnit.Count, sum(o.status == status for o in group))
        for outcome in group:
            metrics.add_metric("JobDuration", MetricUnit.Milliseconds, outcome.duration_ms)
        if metrics.metric_set:  # Powertools already printed it at 100 values (EMF's limit per metric)
            metrics.flush_metrics()
    for depth in depths:
        metrics = EphemeralMetrics()
        metrics.add_dimension("queue", depth.queue)
        metrics.add_metric("QueueDepth", MetricUnit.Count, depth.pending)
        if depth.oldest_age_s is not None:
            metrics.add_metric("OldestJobAge", MetricUnit.Seconds, depth.oldest_age_s)
        metrics.flush_metrics()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self.lines += [f"{name}{labels} {_number(value)}" for labels, value in samples]


def finished_counts(broker: RedisBroker) -> dict[str, int]:
    """The counters of finished attempts summed over queues and types: completed, failed, retry
    (what the Prometheus text's ``relayq_jobs_*_total`` families add up to), one HGETALL."""
    counters: Mapping[str, str] = broker.conn.hgetall(broker.keys.named("metrics", "counters"))  # type: ignore[assignment]
    totals = dict.fromkeys(OUTCOME_METRICS, 0)
    for field, raw in counters.items():
        kind = field.partition("|")[0]
        if kind in totals:
            totals[kind] += int(raw)
    return totals


def prometheus_text(broker: RedisBroker) -> str:
    """The metrics in Prometheus' text exposition format (version 0.0.4)."""
    keys = broker.keys
    counters: Mapping[str, str] = broker.conn.hgetall(keys.named("metrics", "counters"))  # type: ignore[assignment]
    per_outcome: dict[str, list[tuple[str, float]]] = defaultdict(list)
    processed: dict[tuple[str, str], int] = defaultdict(int)
    duration_sum: dict[str, float] = {}
    duration_count: dict[str, int] = {}
    for field, raw in sorted(counters.items()):
        kind, _, rest = field.partition("|")
        if kind == "duration_sum":
            duration_sum[rest] = float(raw)
        elif kind == "duration_count":
            duration_count[rest] = int(raw)
        elif kind in OUTCOME_METRICS:
            queue_name, _, job_type = rest.partition("|")
            per_outcome[kind].append((_labels(queue=queue_name, type=job_type), int(raw)))
            processed[(queue_name, job_type)] += int(raw)
    types = sorted(duration_count)
    pipe = broker.conn.pipeline(transaction=False)
    for job_type in types:
        pipe.lrange(keys.named("durations", job_type), 0, -1)
    recent_durations = dict(zip(types, pipe.execute(), strict=True))
    lengths = broker.lengths()
    depths = queue_depths(broker, list(lengths.pending))

    out = _Text()
    out.family(
        "relayq_jobs_processed_total",
        "counter",
        "Job attempts finished by workers (completed, failed or retried), by queue and type.",
        [(_labels(queue=q, type=t), n) for (q, t), n in sorted(processed.items())],
    )
    helps = {
        "completed": "Jobs completed.",
        "failed": "Jobs failed for good (no attempts left or a permanent error).",
        "retry": "Failed attempts that will be retried.",
    }
    for status, help_text in helps.items():
        name = {"completed": "completed", "failed": "failed", "retry": "retried"}[status]
        out.family(f"relayq_jobs_{name}_total", "counter", help_text, per_outcome[status])
    samples: list[tuple[str, float]] = []
    for job_type in types:
        values = [float(v) / 1000 for v in recent_durations[job_type]]
        if values:
            samples += [(_labels(type=job_type, quantile=str(q)), percentile(values, q)) for q in QUANTILES]
        samples.append((f"_sum{_labels(type=job_type)}", duration_sum.get(job_type, 0.0)))
        samples.append((f"_count{_labels(type=job_type)}", duration_count[job_type]))
    out.family(
        "relayq_job_duration_seconds",
        "summary",
        "Run time of job attempts by type; quantiles over the last 1000 attempts of the type.",
        samples,
    )
    out.family(
        "relayq_queue_depth",
        "gauge",
        "Jobs waiting in the queue (due now).",
        [(_labels(queue=d.queue), d.pending) for d in depths],
    )
    out.family(
        "relayq_queue_oldest_job_age_seconds",
        "gauge",
        "Age of the oldest job waiting in the queue.",
        [(_labels(queue=d.queue), d.oldest_age_s) for d in depths if d.oldest_age_s is not None],
    )
    out.family("relayq_delayed_jobs", "gauge", "Jobs waiting for a later time.", [("", lengths.delayed)])
    out.family("relayq_processing_jobs", "gauge", "Jobs leased by workers now.", [("", lengths.processing)])
    return "\n".join(out.lines) + "\n"
