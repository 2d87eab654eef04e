"""The queue over TLS (``rediss://``), its server's certificate verified against a CA the test
made (``QUEUE_REDIS_CA_FILE``), on a plain server and on a cluster whose nodes speak TLS to each
other too. A certificate the client does not trust (another CA, or the default trust store that
knows no private CA) fails at connect, and says so: /health names the TLS failure and why OpenSSL
refused it, and an API call answers 503 with a message naming TLS, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.redis_cluster import RedisClusterServers
from devstack.redis_server import RedisServer
from devstack.tls import TlsFiles, make_tls_files
from relayq.container import container
from relayq.container import reset as reset_container
from tests.integration.test_cluster import worker_run
from tests.support.api_flow import Gateway, HttpResult


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("other-ca"), "another CA")


@pytest.fixture
def tls_redis(tls: TlsFiles, tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", tls=tls).start()
    yield server
    server.stop()


@pytest.fixture
def token(gw: Gateway) -> str:
    return container().tokens.create("admin", "full").token  # DynamoDB only: before Redis is pointed at


def use_redis(monkeypatch: pytest.MonkeyPatch, url: str, ca_file: Path | None, *, cluster: bool = False) -> None:
    monkeypatch.setenv("QUEUE_REDIS_URL", url)
    monkeypatch.setenv("QUEUE_REDIS_CLUSTER", "true" if cluster else "false")
    if ca_file is None:
        monkeypatch.delenv("QUEUE_REDIS_CA_FILE", raising=False)
    else:
        monkeypatch.setenv("QUEUE_REDIS_CA_FILE", str(ca_file))
    reset_container()


def lifecycle(gw: Gateway, token: str) -> None:
    """Create, claim and complete a job; /health healthy."""
    created = gw.request("POST", "/jobs", token=token, json_body={"type": "echo", "payload": {"n": 1}})
    assert created.status == 201, created.body
    summary = worker_run()
    assert (summary["processed"], summary["successful"]) == (1, 1)
    job = gw.request("GET", f"/jobs/{created.body['job_id']}", token=token).body
    assert job["status"] == "completed"
    health = gw.request("GET", "/health", token=token).body
    assert health["status"] == "healthy" and health["data"]["redis_connected"] is True


def assert_refused_for_tls(answer: HttpResult) -> None:
    assert (answer.status, answer.code) == (503, "redis_unavailable")
    assert "TLS" in answer.body["message"] and "certificate" in answer.body["message"]


def test_the_queue_works_over_tls_with_the_certificate_verified(
    tls_redis: RedisServer, tls: TlsFiles, gw: Gateway, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_redis(monkeypatch, tls_redis.url, tls.ca)
    assert tls_redis.url.startswith("rediss://127.0.0.1:")  # the certificate names the address
    lifecycle(gw, token)


@pytest.mark.parametrize("trust", ["another CA", "the default trust store"])
def test_a_certificate_the_client_does_not_trust_fails_clearly(
    tls_redis: RedisServer, other_ca: TlsFiles, gw: Gateway, token: str, monkeypatch: pytest.MonkeyPatch, trust: str
) -> None:
    use_redis(monkeypatch, tls_redis.url, other_ca.ca if trust == "another CA" else None)
    health = gw.request("GET", "/health", token=token).body
    assert health["status"] == "unhealthy" and health["data"]["redis_connected"] is False
    why = "self-signed certificate in certificate chain"  # OpenSSL's words: the chain ends at a CA it does not know
    assert health["data"]["errors"] == [
        f"redis: TLS certificate verify failed: {why} ({tls_redis.host}:{tls_redis.port})"
    ]
    assert_refused_for_tls(gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}))


def test_the_queue_works_on_a_tls_cluster(
    tls: TlsFiles, other_ca: TlsFiles, gw: Gateway, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = RedisClusterServers(tmp_path / "cluster", tls=tls).start()  # --tls-cluster: the bus too
    try:
        use_redis(monkeypatch, cluster.url, tls.ca, cluster=True)
        lifecycle(gw, token)
        use_redis(monkeypatch, cluster.url, other_ca.ca, cluster=True)
        # The cluster client connects when it is built, so no route gets as far as its work: /health
        # answers the error too, not its report.
        assert_refused_for_tls(gw.request("GET", "/health", token=token))
        assert_refused_for_tls(gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}))
    finally:
        cluster.stop()
