"""Prometheus text from what workers record: counters, p50/p95 per type, queue depth and the age
of the oldest waiting job (not the next one to run)."""

from __future__ import annotations

import pytest

from relayq.domain.models import Job, NewJob
from relayq.domain.outcomes import Outcome
from relayq.redis.broker import RedisBroker
from relayq.redis.connection import RedisConnection
from relayq.redis.worker_status import KEEP_DURATIONS, WorkerStatus
from relayq.services.jobs import JobService
from relayq.services.metrics import percentile, prometheus_text, queue_depths
from tests.support.clock import FakeClock

# The Redis matrix (tests/conftest.py): every test here runs on each engine (unless marked redis_engines).
pytestmark = pytest.mark.redis_matrix


def outcome(job: Job, status: str, ms: float) -> Outcome:
    return Outcome(job.id, status, duration_ms=ms, job=job)


def test_percentiles_and_counters(service: JobService, broker: RedisBroker) -> None:
    job = service.create(NewJob(type="echo", queue="api"))
    status = WorkerStatus(broker, 3600)
    status.record([outcome(job, "completed", ms) for ms in range(1, 101)])
    status.record([outcome(job, "retry", 5), outcome(job, "failed", 5)])  # 102 durations: 1..100, 5, 5
    text = prometheus_text(broker)
    assert 'relayq_jobs_processed_total{queue="api",type="echo"} 102' in text
    assert 'relayq_jobs_completed_total{queue="api",type="echo"} 100' in text
    assert 'relayq_jobs_retried_total{queue="api",type="echo"} 1' in text
    assert 'relayq_jobs_failed_total{queue="api",type="echo"} 1' in text
    assert 'relayq_job_duration_seconds{type="echo",quantile="0.5"} 0.049' in text
    assert 'relayq_job_duration_seconds{type="echo",quantile="0.95"} 0.095' in text
    assert 'relayq_job_duration_seconds_count{type="echo"} 102' in text


def test_durations_kept_are_bounded(service: JobService, broker: RedisBroker, redis_conn: RedisConnection) -> None:
    job = service.create(NewJob(type="echo"))
    WorkerStatus(broker, 3600).record([outcome(job, "completed", 1)] * (KEEP_DURATIONS + 50))
    assert redis_conn.llen("{rq}:durations:echo") == KEEP_DURATIONS


def test_oldest_waiting_job_across_priorities(service: JobService, broker: RedisBroker, clock: FakeClock) -> None:
    service.create(NewJob(type="echo", queue="q", priority=50))
    clock.advance(30)
    service.create(NewJob(type="echo", queue="q", priority=10))  # runs first, but is younger
    service.create(NewJob(type="echo", queue="q", priority=90))
    clock.advance(10)
    [depth] = queue_depths(broker, ["q"])
    assert (depth.pending, depth.oldest_age_s) == (3, 40.0)
    assert 'relayq_queue_oldest_job_age_seconds{queue="q"} 40' in prometheus_text(broker)
    assert queue_depths(broker, ["empty"])[0].oldest_age_s is None


def test_percentile_nearest_rank() -> None:
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
