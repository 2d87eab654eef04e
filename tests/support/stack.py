"""The local stack started as a user starts it (``python -m devstack``, what ``make run`` runs),
on free ports with its own data folder so a developer's stack is untouched, and driven over HTTP
with a real client (``devstack.process``). Fixtures of the suites that drive it (tests/e2e and
tests/compat), registered once in tests/conftest.py so that one pytest process starts one stack."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.process import Api, StackProcess, wait_for
from devstack.redis_server import free_port
from devstack.template import ROOT

__all__ = ["Api", "DemoPorts", "StackProcess", "api", "api_token", "demo_ports", "keep_log", "stack", "wait_for"]


@dataclass(frozen=True)
class DemoPorts:
    """Where the tests' local servers listen: the stack allow-lists exactly these (internal
    addresses are refused to its jobs otherwise), never its own moto, Redis or API."""

    receiver: int  # the api_sync endpoint (tests.support.receiver.Receiver)
    sites: int  # the cron demo's sites (devstack.sites.SiteFarm)
    dashboard: int  # what the dashboard's api_sync jobs and cron runs call (dashboard_site.Target)

    @property
    def allow(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in (self.receiver, self.sites, self.dashboard)]


@pytest.fixture(scope="session")
def demo_ports() -> DemoPorts:
    return DemoPorts(receiver=free_port(), sites=free_port(), dashboard=free_port())


def keep_log(stack: StackProcess, name: str) -> None:
    """The stack's output, kept where CI collects artifacts (the temp folder is gone after the run)."""
    artifacts = ROOT / "test-artifacts" / "e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    shutil.copyfile(stack.log_path, artifacts / f"{name}-{worker}.log")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, demo_ports: DemoPorts) -> Iterator[StackProcess]:
    running = StackProcess(tmp_path_factory.mktemp("localstack"), outbound_allow=demo_ports.allow).start()
    yield running
    code = running.stop()
    keep_log(running, "stack")
    assert code in (0, None), running.log_tail()


@pytest.fixture(scope="session")
def api_token(stack: StackProcess) -> str:
    """A full-scope token of these tests' own, with a rate limit no test reaches: the tests that
    share the stack (the dashboard's too) do not use up each other's calls per minute."""
    created = stack.client().post("/tokens", json={"name": "e2e", "scope": "full", "rate_limit": 100_000})
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


@pytest.fixture
def api(stack: StackProcess, api_token: str) -> Api:
    return stack.client(api_token)
