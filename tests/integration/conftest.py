"""Integration fixtures: the real handlers with a real Redis (the test's engine of the matrix) and
moto's server, configured only through the environment, as in Lambda."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from devstack.handlers import load_handler
from devstack.moto_server import MotoServer
from devstack.template import table_environment, table_names
from relayq.container import container
from relayq.container import reset as reset_container
from tests.support.api_flow import Gateway
from tests.support.redis_matrix import RedisBackend

TABLE_NAMES = table_names("it")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    server.create_tables(TABLE_NAMES)
    yield server
    server.stop()


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, redis_backend: RedisBackend, moto_server: MotoServer
) -> Iterator[dict[str, str]]:
    """The environment a deployed function sees, pointing at the local services (Redis empty)."""
    env = {
        "AWS_ENDPOINT_URL": moto_server.url,
        **redis_backend.environment(),
        **table_environment(TABLE_NAMES),
        "QUEUE_RETRY_JITTER": "0",
        # The test job types, registered the way a deployment registers its own, so a fresh
        # container (a reset, a new process) has them too.
        "QUEUE_JOB_MODULES": "tests.support.registered_types",
        "POWERTOOLS_SERVICE_NAME": "relayq",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # moto's server runs in this process, so a test under mock_aws here (the ``aws`` fixture)
    # resets its backends too: the tables come back if it did.
    moto_server.create_tables(TABLE_NAMES)
    _clear_tables(moto_server)  # the tables are shared by the tests of this process
    reset_container()
    yield env
    reset_container()


def _clear_tables(server: MotoServer) -> None:
    dynamodb = server.client("dynamodb")
    for name in TABLE_NAMES.values():
        key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            # 25 deletes a request: a test that stored thousands of items (2,000 sites) clears fast.
            keys = [{"DeleteRequest": {"Key": {k: item[k] for k in key_names}}} for item in page["Items"]]
            for start in range(0, len(keys), 25):
                dynamodb.batch_write_item(RequestItems={name: keys[start : start + 25]})


# --- REST API: the authorizer and the API handler behind API Gateway's behaviour -----------------


@pytest.fixture(scope="session")
def api_handlers() -> tuple[ModuleType, ModuleType]:
    return load_handler("api"), load_handler("authorizer")


@pytest.fixture
def gw(lambda_env: dict[str, str], api_handlers: tuple[ModuleType, ModuleType]) -> Gateway:
    """Requests through authorizer + API handler (the test job types come with ``lambda_env``)."""
    api, authorizer = api_handlers
    return Gateway(api, authorizer)


@pytest.fixture
def full_token(gw: Gateway) -> str:
    return container().tokens.create("admin", "full").token


@pytest.fixture
def worker_token(gw: Gateway) -> str:
    return container().tokens.create("cron", "worker").token
