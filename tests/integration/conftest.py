"""Integration fixtures: the real handlers with a real redis-server and moto's server, configured
only through the environment, as in Lambda."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from relayq import aws, redis_client, service, settings
from relayq.cron.trigger import get_cron
from tests.support.moto_server import MotoServer
from tests.support.redis_server import RedisServer

TABLE_NAMES = {"jobs_table": "it-jobs", "tokens_table": "it-tokens", "idempotency_table": "it-idempotency"}
TABLE_NAMES |= {"sites_table": "it-sites", "runs_table": "it-runs"}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    server.create_tables(TABLE_NAMES)
    yield server
    server.stop()


def reset_caches() -> None:
    """Forget the per-container singletons, as a new Lambda container would."""
    settings.get_settings.cache_clear()
    redis_client.get_redis.cache_clear()
    aws.client.cache_clear()
    service.get_queue.cache_clear()
    get_cron.cache_clear()


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, moto_server: MotoServer
) -> Iterator[dict[str, str]]:
    """The environment a deployed function sees, pointing at the local services."""
    env = {
        "AWS_ENDPOINT_URL": moto_server.url,
        "QUEUE_REDIS_URL": redis_server.url,
        "QUEUE_JOBS_TABLE": TABLE_NAMES["jobs_table"],
        "QUEUE_TOKENS_TABLE": TABLE_NAMES["tokens_table"],
        "QUEUE_IDEMPOTENCY_TABLE": TABLE_NAMES["idempotency_table"],
        "QUEUE_SITES_TABLE": TABLE_NAMES["sites_table"],
        "QUEUE_RUNS_TABLE": TABLE_NAMES["runs_table"],
        "QUEUE_RETRY_JITTER": "0",
        "POWERTOOLS_SERVICE_NAME": "relayq",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    redis.Redis.from_url(redis_server.url).flushall()
    moto_server.client("dynamodb")  # the tables are shared; clear jobs between tests
    _clear_tables(moto_server)
    reset_caches()
    yield env
    reset_caches()


def _clear_tables(server: MotoServer) -> None:
    dynamodb = server.client("dynamodb")
    for name in TABLE_NAMES.values():
        key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            # 25 deletes a request: a test that stored thousands of items (2,000 sites) clears fast.
            keys = [{"DeleteRequest": {"Key": {k: item[k] for k in key_names}}} for item in page["Items"]]
            for start in range(0, len(keys), 25):
                dynamodb.batch_write_item(RequestItems={name: keys[start : start + 25]})
