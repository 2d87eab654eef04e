"""An HTTP endpoint for the api_sync jobs of the tests that drive the local stack (tests/e2e,
tests/compat), on the port the stack allow-lists for it (``DemoPorts.receiver``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.stack import DemoPorts


class Receiver:
    """The external API of api_sync jobs: records each request (method, path, query, body,
    content type, ``X-Token``) and answers JSON, on the port the stack allow-lists for it."""

    def __init__(self, port: int) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    {
                        "method": self.command,
                        "path": urlsplit(self.path).path,
                        "query": urlsplit(self.path).query,
                        "body": json.loads(body) if body else None,
                        "content_type": self.headers.get("Content-Type"),
                        "token": self.headers.get("X-Token"),
                    }
                )
                reply = b'{"stored": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


@pytest.fixture
def receiver(demo_ports: DemoPorts) -> Iterator[Receiver]:
    server = Receiver(demo_ports.receiver)
    yield server
    server.server.shutdown()
    server.server.server_close()  # the next test binds the same port
