"""Local HTTP servers standing in for WordPress sites (one server, many sites by path), and one
that records Lambda ``Invoke`` calls in place of AWS Lambda. Everything stays on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.redis_server import free_port


@dataclass(frozen=True)
class CronCall:
    site: str
    method: str
    user_agent: str
    doing_wp_cron: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


class SiteFarm:
    """Sites ``http://127.0.0.1:<port>/<name>``. The name picks the behaviour: ``fail-*`` answers
    500, ``slow-*`` answers after ``slow_seconds``, ``hang-*`` after ``hang_seconds``, others 200
    after ``delay`` seconds. Every cron call is recorded."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        slow_seconds: float = 0.2,
        hang_seconds: float = 2.0,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        """``port``: 0 for any free one, or one a stack was told it may call (``--outbound-allow``);
        ``host``: another local address (sam local's containers reach the host's bridge address)."""
        self.host = host
        self.delay, self.slow_seconds, self.hang_seconds = delay, slow_seconds, hang_seconds
        self.calls: list[CronCall] = []
        self._lock = threading.Lock()
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                name = parts.path.strip("/").split("/")[0]
                stamp = parse_qs(parts.query).get("doing_wp_cron", [""])[0]
                with farm._lock:
                    farm.calls.append(CronCall(name, "POST", self.headers.get("User-Agent", ""), stamp))
                pause = farm.delay
                if name.startswith("slow-"):
                    pause = farm.slow_seconds
                elif name.startswith("hang-"):
                    pause = farm.hang_seconds
                if pause:
                    time.sleep(pause)
                status = 500 if name.startswith("fail-") else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server((host, port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/{name}"

    def start(self) -> SiteFarm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def called(self) -> set[str]:
        with self._lock:
            return {call.site for call in self.calls}


def down_site() -> str:
    """A site URL where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}/down"


class LambdaInvokeRecorder:
    """Lambda's Invoke API (``POST /2015-03-31/functions/<name>/invocations``), recording each
    call's function name, invocation type and payload; answers 202 as Lambda does for Event."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                name = self.path.split("/functions/")[1].split("/")[0]
                recorder.invocations.append(
                    {
                        "function": name,
                        "type": self.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                        "payload": json.loads(body or b"null"),
                    }
                )
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
