"""The queue on a real Redis Cluster (3 primaries, devstack.redis_cluster), through the handlers:
the job lifecycle works with every key in one slot, and /health asks the primary that holds that
slot, so with that node paused or stopped it says unhealthy, soon (the health timeout, not the
queue's socket timeout three times over), and after a failover it asks the new primary."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.moto_server import MotoServer
from devstack.redis_cluster import RedisClusterServers
from relayq.container import container
from relayq.container import reset as reset_container
from relayq.redis.keys import Keys
from tests.support.api_flow import Gateway

KEY = Keys("rq").queues  # any key of the deployment: they share one slot
# A bound far above the health timeout (1 s), only to tell "soon" from the 6 s and more of the
# queue's own connection; not a measurement.
SOON_S = 5.0


def start_cluster(path: Path, monkeypatch: pytest.MonkeyPatch, replicas: int = 0) -> RedisClusterServers:
    cluster = RedisClusterServers(path, replicas=replicas).start()
    monkeypatch.setenv("QUEUE_REDIS_URL", cluster.url)
    monkeypatch.setenv("QUEUE_REDIS_CLUSTER", "true")
    reset_container()
    return cluster


@pytest.fixture
def cluster(
    lambda_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RedisClusterServers]:
    cluster = start_cluster(tmp_path / "cluster", monkeypatch)
    yield cluster
    cluster.stop()


@pytest.fixture
def token(gw: Gateway) -> str:
    return container().tokens.create("admin", "full").token


def worker_run() -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "worker" / "schedule.json").read_text()) | {"queues": ["default"]}
    summary: dict[str, Any] = load_handler("worker").handler(event, FakeLambdaContext())
    return summary


def job_records(moto_server: MotoServer) -> int:
    count: int = moto_server.client("dynamodb").scan(TableName="it-jobs", Select="COUNT")["Count"]
    return count


def test_the_job_lifecycle_on_a_cluster(cluster: RedisClusterServers, gw: Gateway, token: str) -> None:
    ids = [gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}).body["job_id"] for _ in range(3)]
    cancelled = gw.request("POST", "/jobs", token=token, json_body={"type": "echo", "delay": 600}).body["job_id"]
    assert gw.request("DELETE", f"/jobs/{cancelled}", token=token).status == 200
    summary = worker_run()  # claim, run, finish
    assert (summary["processed"], summary["successful"]) == (3, 3)
    assert {gw.request("GET", f"/jobs/{i}", token=token).body["status"] for i in ids} == {"completed"}
    stats = gw.request("GET", "/stats", token=token).body["data"]
    assert stats["database"]["completed"] == 3 and stats["delayed"]["pending"] == 0
    # Every key is on the node that holds the slot; the other primaries hold none of them.
    owner = cluster.owner_of(KEY)
    with cluster.client(owner) as client:
        assert client.keys("{rq}:*")
    for node in cluster.nodes:
        if node is not owner:
            with cluster.client(node) as client:
                assert client.dbsize() == 0


def test_health_answers_for_the_node_that_holds_the_keys(cluster: RedisClusterServers, gw: Gateway, token: str) -> None:
    healthy = gw.request("GET", "/health", token=token)
    assert healthy.status == 200 and healthy.body["status"] == "healthy"
    assert healthy.body["data"]["redis_info"]["redis_version"]
    assert healthy.body["data"]["redis_info"]["cluster_mode"] is True
    owner = cluster.owner_of(KEY)
    owner.pause()  # a hung node: connections are accepted, nothing is answered
    started = time.monotonic()
    answer = gw.request("GET", "/health", token=token, query={"strict": "1"})
    elapsed = time.monotonic() - started
    assert answer.status == 503 and answer.body["status"] == "unhealthy" and answer.body["success"] is False
    data = answer.body["data"]
    assert data["redis_connected"] is False and data["database_status"] is True
    assert data["errors"] == [f"redis: TimeoutError ({owner.host}:{owner.port})"]
    assert elapsed < SOON_S
    owner.resume()
    assert gw.request("GET", "/health", token=token).status == 200
    owner.stop()
    down = gw.request("GET", "/health", token=token, query={"strict": "1"})
    assert down.status == 503 and down.body["data"]["errors"] == [f"redis: ConnectionError ({owner.host}:{owner.port})"]


def test_a_cluster_that_does_not_answer_is_503_and_keeps_no_record(
    cluster: RedisClusterServers, gw: Gateway, token: str, moto_server: MotoServer
) -> None:
    assert gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}).status == 201
    for node in cluster.nodes:
        node.stop()
    # The cluster client, finding no node to refresh its slot map from, raises
    # RedisClusterException, which is no RedisError: an outage all the same.
    answer = gw.request("POST", "/jobs", token=token, json_body={"type": "echo"})
    assert (answer.status, answer.body["code"]) == (503, "redis_unavailable")
    assert job_records(moto_server) == 1
    assert gw.request("GET", "/health", token=token, query={"strict": "1"}).status == 503


def test_health_follows_a_failover(
    lambda_env: dict[str, str], gw: Gateway, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = start_cluster(tmp_path / "cluster", monkeypatch, replicas=1)
    try:
        assert gw.request("GET", "/health", token=token).status == 200  # the client knows the slot map now
        owner = cluster.owner_of(KEY)
        owner.pause()
        # Once the others have promoted the replica, every node that answers names it.
        cluster.wait_until(lambda: {n.port for n in cluster.owners_of(KEY).values()} - {owner.port} != set())
        cluster.wait_until(lambda: len(set(cluster.owners_of(KEY).values())) == 1)
        # The client's map still names the paused node: the probe times out there, refreshes the
        # map and asks the new primary, in the same call.
        answer = gw.request("GET", "/health", token=token)
        assert answer.status == 200, answer.body
        assert gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}).status == 201
    finally:
        cluster.stop()
