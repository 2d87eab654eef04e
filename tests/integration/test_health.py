"""/health on a plain Redis that hangs (paused: it accepts connections and answers nothing): the
probe gives up after the health timeout, not after the queue's socket timeout three times over,
and the call is not held up by the rate limiter's own Redis call either."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.redis_server import RedisServer
from relayq.container import container
from relayq.container import reset as reset_container
from tests.support.api_flow import Gateway

# Far above the health timeout (1 s) and below the 6 s the queue's connection takes (2 s, three
# times): a bound that tells the two apart, not a measurement.
SOON_S = 5.0


@pytest.fixture
def hung_redis(lambda_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    monkeypatch.setenv("QUEUE_REDIS_URL", server.url)
    reset_container()
    yield server
    server.stop()


def test_health_of_a_hung_redis_answers_soon(hung_redis: RedisServer, gw: Gateway) -> None:
    token = container().tokens.create("admin", "full").token
    assert gw.request("GET", "/health", token=token).status == 200
    hung_redis.pause()
    started = time.monotonic()
    answer = gw.request("GET", "/health", token=token, query={"strict": "1"})
    elapsed = time.monotonic() - started
    assert elapsed < SOON_S
    assert answer.status == 503 and answer.body["data"]["redis_connected"] is False
    assert answer.body["data"]["errors"] == [f"redis: TimeoutError ({hung_redis.host}:{hung_redis.port})"]
    hung_redis.resume()
    assert gw.request("GET", "/health", token=token).status == 200
