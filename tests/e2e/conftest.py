"""The local stack started as a user starts it (``python -m tests.support.localstack``, what
``make run`` runs), on free ports with its own data folder so a developer's stack is untouched,
and driven over HTTP with a real client."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.localstack.tokens import read_env_file
from tests.support.template import ROOT

pytestmark = pytest.mark.e2e

# Rate schedules run this many times faster, so the scheduled worker is seen within seconds.
SCHEDULE_SCALE = 10
# The test machine runs other suites at the same time: slower than Lambda by far.
TIMEOUT_SCALE = 5
START_TIMEOUT_S = 120


class StackProcess:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "stack.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    def start(self) -> StackProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        ports = [arg for name in ("api", "lambda", "moto", "redis") for arg in (f"--{name}-port", "0")]
        command = [sys.executable, "-m", "tests.support.localstack", "--data-dir", str(self.data_dir), *ports]
        command += ["--schedule-scale", str(SCHEDULE_SCALE), "--timeout-scale", str(TIMEOUT_SCALE)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "queue"), str(ROOT)])}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "ready (Ctrl-C stops)" not in self.log_path.read_text(errors="replace")[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local stack did not start:\n{self.log_tail()}")
            time.sleep(0.2)
        self.env = read_env_file(self.data_dir / "env")
        return self

    def stop(self) -> int | None:
        """Ctrl-C, as a user stops it; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def restart(self) -> StackProcess:
        assert self.stop() == 0, self.log_tail()
        return self.start()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def url(self) -> str:
        return self.env["QUEUE_API_URL"]

    def client(self, token: str | None = None) -> Api:
        return Api(self.url, token if token is not None else self.env["QUEUE_API_TOKEN"])


class Api(requests.Session):
    """A client of the REST API: paths relative to the base URL, the token as a Bearer header."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__()
        self.base_url = base_url
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return super().request(method, f"{self.base_url}{url!s}", *args, **kwargs)


def wait_for(check: Any, timeout: float = 60.0, interval: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; its last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def keep_log(stack: StackProcess, name: str) -> None:
    """The stack's output, kept where CI collects artifacts (the temp folder is gone after the run)."""
    artifacts = ROOT / "test-artifacts" / "e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    shutil.copyfile(stack.log_path, artifacts / f"{name}-{worker}.log")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = StackProcess(tmp_path_factory.mktemp("localstack")).start()
    yield running
    code = running.stop()
    keep_log(running, "stack")
    assert code in (0, None), running.log_tail()


@pytest.fixture
def api(stack: StackProcess) -> Api:
    return stack.client()
