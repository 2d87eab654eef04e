"""What the dashboard's browser tests need around the local stack.

``StageProxy``: until the API serves ``/dashboard`` itself, it serves the dashboard's files under
``/v1/dashboard`` and forwards every other ``/v1/...`` request to the stack's API unchanged, so the
page runs under a stage path, as on AWS, and talks to the real API. ``Target``: an HTTP endpoint for
api_sync jobs and cron runs to call."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from dashboard_files import dashboard_file

from devstack.redis_server import free_port

DASHBOARD_ROOT = Path(__file__).resolve().parents[2] / "functions" / "api" / "dashboard"
STAGE = "/v1"
PASSED_HEADERS = ("content-type", "x-wp-total", "x-wp-totalpages", "retry-after", "x-ratelimit-limit")


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output shows failures, not every request."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        rest = path.removeprefix(STAGE)
        if rest == "/dashboard" or rest.startswith("/dashboard/"):
            found = dashboard_file(DASHBOARD_ROOT, rest[len("/dashboard") :])
            if found is None:
                self._send(404, b"not found", "text/plain")
            else:
                self._send(200, found.body, found.content_type)
            return
        length = int(self.headers.get("Content-Length") or 0)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept")}
        answer = requests.request(
            self.command,
            self.server.upstream + rest + (f"?{query}" if query else ""),
            headers=headers,
            data=self.rfile.read(length) if length else None,
            timeout=60,
        )
        passed = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_HEADERS}
        self._send(answer.status_code, answer.content, passed.pop("Content-Type", "application/json"), passed)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, upstream: str) -> None:
        super().__init__(("127.0.0.1", port), _ProxyHandler)
        self.upstream = upstream


class StageProxy:
    def __init__(self, upstream: str) -> None:
        self.server = _ProxyServer(free_port(), upstream)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{STAGE}/dashboard"

    def start(self) -> StageProxy:
        threading.Thread(target=self.server.serve_forever, name="stage-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Target:
    """A plain HTTP endpoint the jobs and cron runs of the tests call: answers 200 to anything and
    counts what it got; 500 to a path with ``/fail`` in it; a path with ``/slow`` answers once
    ``release`` is set (a job that stays running while the page looks). ``port``: one the stack
    allow-lists (internal addresses are refused to its jobs otherwise); None: any free one."""

    def __init__(self, port: int | None = None) -> None:
        self.hits: list[str] = []
        self.slow_started = threading.Event()
        self.release = threading.Event()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _ok(self) -> None:
                target.hits.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if "/slow" in self.path:
                    target.slow_started.set()
                    target.release.wait(120)
                failing = "/fail" in self.path
                body = b'{"ok": false}' if failing else b'{"ok": true}'
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _ok

        self.server = ThreadingHTTPServer(("127.0.0.1", port or free_port()), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Target:
        threading.Thread(target=self.server.serve_forever, name="target", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
