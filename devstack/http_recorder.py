"""Small local HTTP servers for tests: one that records Lambda ``Invoke`` calls (the idle-queue
kick, exactly as boto3 sends them to AWS), one that plays an external API for ``api_sync``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote


@dataclass
class Invocation:
    function: str
    invocation_type: str
    payload: dict[str, Any]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout under test) is expected


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.server = _QuietServer(("127.0.0.1", 0), self.handler)
        self.server.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _InvokeHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        # POST /2015-03-31/functions/{FunctionName}/invocations
        owner: LambdaRecorder = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        function = unquote(self.path.split("/functions/", 1)[1].split("/", 1)[0])
        with owner.lock:
            owner.calls.append(
                Invocation(function, self.headers.get("X-Amz-Invocation-Type", "RequestResponse"), json.loads(body))
            )
        self.send_response(owner.status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if owner.on_invoke is not None:
            # As Lambda does for InvocationType=Event: accept first, run afterwards.
            threading.Thread(target=owner.on_invoke, args=(owner.calls[-1],), daemon=True).start()


class LambdaRecorder(_Server):
    """Answers Lambda's Invoke API with 202 (accepted, as for ``InvocationType=Event``)."""

    handler = _InvokeHandler

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Invocation] = []
        self.lock = threading.Lock()
        self.status = 202
        self.on_invoke: Callable[[Invocation], None] | None = None


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        owner: FakeApi = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length) if length else b""
        owner.requests.append({"method": self.command, "path": self.path, "body": body, "headers": dict(self.headers)})
        path = self.path.split("?", 1)[0]
        if path == "/ok":
            echo = {"method": self.command, "body": body.decode(), "token": self.headers.get("X-Token")}
            self._answer(200, json.dumps(echo).encode(), {"Content-Type": "application/json"})
        elif path == "/big":
            self._answer(200, b"x" * 100_000, {"Content-Type": "text/plain"})
        elif path == "/missing":
            self._answer(404, b'{"error":"no such thing"}', {"Content-Type": "application/json"})
        elif path == "/busy":
            self._answer(503, b"try later", {"Retry-After": "7"})
        elif path == "/throttled":
            self._answer(429, b"slow down", {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
        elif path == "/slow":
            time.sleep(2)
            self._answer(200, b"late")
        else:
            self._answer(500, b"boom")

    do_GET = do_POST = do_PUT = do_DELETE = _route


class FakeApi(_Server):
    """``/ok`` echoes JSON, ``/big`` is 100 kB, ``/missing`` 404, ``/busy`` 503 + Retry-After: 7,
    ``/throttled`` 429 + an HTTP-date Retry-After, ``/slow`` answers after 2 s, else 500."""

    handler = _ApiHandler

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
