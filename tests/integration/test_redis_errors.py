"""Errors that say what happened, through the handlers: a Redis outage (503 `redis_unavailable`,
with Retry-After), Redis out of memory (507 `redis_out_of_memory`) and a command Redis refuses
(500 `redis_error`) each answer with their own code, write no job record, and log the cause that
the answer leaves out. Each on a redis-server of its own, provoked for real."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from devstack.apigw import proxy_event
from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from devstack.sites import LambdaInvokeRecorder
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.domain.errors import RedisOutOfMemory
from relayq.domain.models import NewJob
from tests.support.api_flow import Gateway, HttpResult


def own_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra_args: str) -> RedisServer:
    server = RedisServer(tmp_path / "redis", extra_args=extra_args).start()
    monkeypatch.setenv("QUEUE_REDIS_URL", server.url)
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.3")
    reset_container()
    return server


@pytest.fixture
def plain_redis(lambda_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = own_server(tmp_path, monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def full_redis(lambda_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """A redis-server at its memory limit that evicts nothing: every write is refused (OOM)."""
    server = own_server(tmp_path, monkeypatch, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    client = redis.Redis.from_url(server.url)
    filled = 0
    for size in (65_536, 1024, 16):  # big values first, then ever smaller ones fill what is left
        try:
            while True:
                client.set(f"filler:{filled}", b"x" * size)
                filled += 1
        except redis.exceptions.OutOfMemoryError:
            pass
    client.close()
    yield server
    server.stop()


@pytest.fixture
def token(gw: Gateway) -> str:
    return container().tokens.create("admin", "full").token


def job_records(moto_server: MotoServer) -> int:
    count: int = moto_server.client("dynamodb").scan(TableName="it-jobs", Select="COUNT")["Count"]
    return count


def create(gw: Gateway, token: str) -> HttpResult:
    return gw.request("POST", "/jobs", token=token, json_body={"type": "echo", "payload": {"to": "x"}})


def test_outage_is_503_redis_unavailable_with_retry_after(
    plain_redis: RedisServer, gw: Gateway, token: str, moto_server: MotoServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert create(gw, token).status == 201
    plain_redis.stop()
    caplog.set_level(logging.WARNING)
    answer = create(gw, token)
    assert (answer.status, answer.body) == (
        503,
        {
            "code": "redis_unavailable",
            "message": "The queue backend (Redis) is unavailable. Try again later.",
            "data": {"status": 503},
        },
    )
    assert answer.headers["Retry-After"] == "5"
    assert job_records(moto_server) == 1
    assert "Redis unavailable (redis_unavailable): ConnectionError" in caplog.text


def test_out_of_memory_is_507_and_leaves_no_record(
    full_redis: RedisServer, gw: Gateway, token: str, moto_server: MotoServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    answer = create(gw, token)
    assert (answer.status, answer.body) == (
        507,
        {
            "code": "redis_out_of_memory",
            "message": "The queue backend (Redis) is out of memory and accepts no new work.",
            "data": {"status": 507},
        },
    )
    assert "Retry-After" not in answer.headers
    assert job_records(moto_server) == 0
    assert "Redis refused the command (redis_out_of_memory): OutOfMemoryError" in caplog.text
    assert "maxmemory" in caplog.text  # the server's own words, for the operator
    # The bulk create (the cron batches) takes its records back as well.
    with pytest.raises(RedisOutOfMemory):
        container().jobs.create_many([NewJob(type="echo"), NewJob(type="echo", queue="other")])
    assert job_records(moto_server) == 0


def test_a_script_redis_refuses_is_500_redis_error_without_its_text(
    plain_redis: RedisServer, gw: Gateway, token: str, moto_server: MotoServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The job metadata hash is a string now: the enqueue script's first write raises WRONGTYPE.
    redis.Redis.from_url(plain_redis.url).set("{rq}:meta", "not a hash")
    caplog.set_level(logging.WARNING)
    answer = create(gw, token)
    assert (answer.status, answer.body) == (
        500,
        {
            "code": "redis_error",
            "message": "The queue backend (Redis) refused the command.",
            "data": {"status": 500},
        },
    )
    assert "Retry-After" not in answer.headers
    assert job_records(moto_server) == 0
    assert "Redis refused the command (redis_error): ResponseError: WRONGTYPE" in caplog.text


def test_the_worker_answers_a_refusal_as_such(
    plain_redis: RedisServer, gw: Gateway, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's services wrap any Redis failure as unavailable: the answer follows the cause."""
    assert create(gw, token).status == 201
    # The set of leased jobs is a string now: the worker's first script on it raises WRONGTYPE.
    redis.Redis.from_url(plain_redis.url).set("{rq}:processing", "not a sorted set")
    event = json.loads((ROOT / "events" / "worker" / "schedule.json").read_text()) | {"queues": ["default"]}
    caplog.set_level(logging.WARNING)
    answer: dict[str, Any] = load_handler("worker").handler(event, FakeLambdaContext())
    assert answer == {
        "code": "redis_error",
        "message": "The queue backend (Redis) refused the command.",
        "data": {"status": 500},
    }
    assert "Redis refused the command (redis_error): ResponseError: WRONGTYPE" in caplog.text


def test_a_deferred_cron_run_that_redis_refuses_falls_back_to_self_invocation(
    plain_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with Redis down: the run is deferred by an asynchronous self-invocation instead."""
    recorder = LambdaInvokeRecorder()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", recorder.url)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "relayq-local-cron")
    monkeypatch.setenv("QUEUE_CRON_SITES", "https://a.example/")
    reset_container()
    redis.Redis.from_url(plain_redis.url).set("{rq}:meta", "not a hash")  # the run's job cannot be queued
    try:
        event = proxy_event(
            "GET", "/run", query={"defer": "1"}, authorizer={"principalId": "tok_1", "token_id": "tok_1"}
        )
        answer: dict[str, Any] = load_handler("cron").handler(event, FakeLambdaContext())
    finally:
        recorder.stop()
    assert answer["statusCode"] == 202 and json.loads(answer["body"])["mode"] == "deferred"
    assert [(i["function"], i["type"]) for i in recorder.invocations] == [("relayq-local-cron", "Event")]
