"""Redis unavailable, through the handlers: the API refuses creates with the contract's 503 and
writes no record, /health says unhealthy, the worker answers with the error instead of crashing,
and once redis-server is back (AOF) the next scheduled run processes what was waiting. The
trigger's fallback to ``mode: "deferred"`` is proved in test_cron_handler.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.moto_server import MotoServer
from devstack.redis_server import RedisServer
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.domain.models import NewJob
from tests.support.api_flow import Gateway


@pytest.fixture
def own_redis(lambda_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    monkeypatch.setenv("QUEUE_REDIS_URL", server.url)
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.3")
    reset_container()
    yield server
    server.stop()


def job_records(moto_server: MotoServer) -> int:
    count: int = moto_server.client("dynamodb").scan(TableName="it-jobs", Select="COUNT")["Count"]
    return count


def test_redis_down_then_back(
    own_redis: RedisServer, moto_server: MotoServer, caplog: pytest.LogCaptureFixture
) -> None:
    api: ModuleType = load_handler("api")
    gw = Gateway(api, load_handler("authorizer"))
    worker: Any = load_handler("worker")
    token = container().tokens.create("admin", "full").token
    waiting = [
        gw.request("POST", "/jobs", token=token, json_body={"type": "echo", "payload": {"n": n}}) for n in range(3)
    ]
    assert [a.status for a in waiting] == [201, 201, 201]
    assert job_records(moto_server) == 3

    own_redis.stop()
    for body in ({"type": "echo"}, {"type": "echo", "delay": 30}, {"type": "echo", "queue": "other"}):
        refused = gw.request("POST", "/jobs", token=token, json_body=body)
        assert (refused.status, refused.body) == (
            503,
            {
                "code": "redis_unavailable",
                "message": "The queue backend (Redis) is unavailable. Try again later.",
                "data": {"status": 503},
            },
        )
    assert job_records(moto_server) == 3  # no orphan record
    health = gw.request("GET", "/health", token=token)
    assert health.status == 200 and health.body["status"] == "unhealthy" and health.body["success"] is False
    assert health.body["data"]["redis_connected"] is False
    assert gw.request("GET", "/health", token=token, query={"strict": "1"}).status == 503

    event = json.loads((ROOT / "events" / "worker" / "schedule.json").read_text()) | {"queues": ["default"]}
    caplog.set_level(logging.ERROR)
    answer = worker.handler(event, FakeLambdaContext())
    assert answer == {
        "code": "redis_unavailable",
        "message": "The queue backend (Redis) is unavailable. Try again later.",
        "data": {"status": 503},
    }
    assert "Redis is unavailable" in caplog.text

    own_redis.start()  # same port and data folder: the AOF brings the queued jobs back
    summary = worker.handler(event, FakeLambdaContext())
    assert summary["processed"] == 3 and summary["successful"] == 3
    service = container().jobs
    assert {service.get(a.body["job_id"]).status for a in waiting} == {"completed"}
    assert gw.request("GET", "/health", token=token, query={"strict": "1"}).status == 200
    assert gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}).status == 201
    assert service.create(NewJob(type="echo")).status == "queued"
