"""The local stack as a child process, started as a user starts it (``python -m devstack``, what
``make run`` runs) on free ports with its own data folder, and a small HTTP client of its API.
The e2e tests, the load bench and anyone scripting against a throwaway stack use it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from devstack.template import ROOT
from devstack.tokens import read_env_file

# Rate schedules run this many times faster, so the scheduled worker is seen within seconds.
SCHEDULE_SCALE = 10
# The test machine runs other suites at the same time: slower than Lambda by far.
TIMEOUT_SCALE = 5
START_TIMEOUT_S = 120
READY = "ready (Ctrl-C stops)"


class StackProcess:
    def __init__(
        self, data_dir: Path, outbound_allow: Sequence[str] = (), ports: Mapping[str, int] | None = None
    ) -> None:
        """``outbound_allow``: the ``host:port`` of local servers its jobs may call (demos);
        ``ports``: ``api``, ``lambda``, ``moto``, ``redis`` ports to use (any free one otherwise)."""
        self.data_dir = data_dir
        self.outbound_allow = tuple(outbound_allow)
        self.ports = {"api": 0, "lambda": 0, "moto": 0, "redis": 0, **(ports or {})}
        self.log_path = data_dir / "stack.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self._offset = 0

    def launch(self) -> StackProcess:
        """Start the process without waiting for it to be ready. In a session of its own, as a
        terminal's foreground job: ``interrupt()`` is a Ctrl-C in that terminal."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        ports = [arg for name, port in self.ports.items() for arg in (f"--{name}-port", str(port))]
        command = [sys.executable, "-m", "devstack", "--data-dir", str(self.data_dir), *ports]
        command += ["--schedule-scale", str(SCHEDULE_SCALE), "--timeout-scale", str(TIMEOUT_SCALE)]
        if self.outbound_allow:
            command += ["--outbound-allow", ",".join(self.outbound_allow)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "queue"), str(ROOT)])}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def start(self) -> StackProcess:
        self.launch()
        if not self.wait_for_output(READY, START_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"the local stack did not start:\n{self.log_tail()}")
        self.env = read_env_file(self.data_dir / "env")
        return self

    @property
    def output(self) -> str:
        """What this run of the process printed so far."""
        return self.log_path.read_text(errors="replace")[self._offset :]

    def wait_for_output(self, text: str, timeout: float) -> bool:
        """Whether ``text`` was printed before the process ended or ``timeout`` passed."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                return text in self.output
            time.sleep(0.2)
        return True

    def wait(self, timeout: float) -> int:
        """The exit status; subprocess.TimeoutExpired if it still runs after ``timeout``."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def interrupt(self, signum: int = signal.SIGINT) -> None:
        """A signal to the process group, as Ctrl-C (SIGINT) in a terminal sends it."""
        assert self.process is not None
        os.killpg(self.process.pid, signum)

    def stop(self, signum: int = signal.SIGINT) -> int | None:
        """Ctrl-C, as a user stops it (or ``signum``); the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.interrupt(signum)
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
