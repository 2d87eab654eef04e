"""Lambda's Invoke API on a local port (``POST /2015-03-31/functions/<name>/invocations``), so
boto3's ``lambda.invoke`` in the functions works unchanged through ``AWS_ENDPOINT_URL_LAMBDA``:
RequestResponse answers the payload, Event runs in the background and answers 202, DryRun 204."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from devstack.containers import FunctionPool, Invocation, Log, Output
from devstack.functions import FunctionSpec

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
# A name, a full or partial ARN, each with an optional :qualifier.
FUNCTION_REF = re.compile(r"^(?:arn:aws:lambda:[^:]+:\d{12}:function:|\d{12}:function:)?(?P<name>[^:]+)(?::[^:]+)?$")


class UnknownFunction(LookupError):
    pass


class LambdaService:
    """The functions of the stack and their container pools."""

    def __init__(
        self, specs: Mapping[str, FunctionSpec], environment: dict[str, str], log: Log, output: Output
    ) -> None:
        """``log``: the service's own lines; ``output``: what the functions print."""
        self.pools = {name: FunctionPool(spec, environment, log, output) for name, spec in specs.items()}
        self._log = log
        self._background: set[threading.Thread] = set()

    def pool(self, function: str) -> FunctionPool:
        match = FUNCTION_REF.match(function)
        pool = self.pools.get(match.group("name")) if match else None
        if pool is None:
            raise UnknownFunction(function)
        return pool

    def invoke(self, function: str, event: Any) -> Invocation:
        return self.pool(function).invoke(event)

    def invoke_async(self, function: str, event: Any) -> None:
        """Queue an invocation and return at once (InvocationType=Event). A failure is logged."""
        pool = self.pool(function)

        def run() -> None:
            try:
                result = pool.invoke(event)
            except RuntimeError as error:  # stopped while queued
                self._log(f"async invocation of {pool.spec.name} dropped: {error}")
                return
            finally:
                self._background.discard(threading.current_thread())
            # One that the stop ended is no failure (an interrupted worker's jobs are reconciled on restart).
            if result.function_error and not pool.stopped:
                self._log(f"async invocation of {pool.spec.name} failed: {result.payload.get('errorMessage')}")

        thread = threading.Thread(target=run, name=f"event-{pool.spec.name}", daemon=True)
        self._background.add(thread)
        thread.start()

    def warm(self) -> None:
        """Start one container per function; they import their handlers meanwhile."""
        for pool in self.pools.values():
            pool.warm()

    def stop(self) -> None:
        threads = [threading.Thread(target=pool.stop) for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class _InvokeHandler(BaseHTTPRequestHandler):
    server: LambdaApiServer

    def do_POST(self) -> None:
        match = INVOKE_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._error(404, "UnknownOperationException", f"no such operation: POST {self.path}")
            return
        name = unquote(match.group("name"))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event = json.loads(raw) if raw.strip() else {}
        except ValueError:
            self._error(400, "InvalidRequestContentException", "Could not parse request body into json")
            return
        service = self.server.service
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        try:
            service.pool(name)
        except UnknownFunction:
            self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return
        if invocation_type == "DryRun":
            self._reply(204, b"", {})
        elif invocation_type == "Event":
            service.invoke_async(name, event)
            self._reply(202, b"", {})
        elif invocation_type == "RequestResponse":
            result = service.invoke(name, event)
            headers = {"X-Amz-Executed-Version": "$LATEST"}
            if result.function_error:
                headers["X-Amz-Function-Error"] = result.function_error
            self._reply(200, result.body, headers)
        else:
            self._error(400, "InvalidParameterValueException", f"unknown InvocationType {invocation_type}")

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        self._reply(status, body, {"x-amzn-ErrorType": error_type})

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the functions' own logs say what happened."""


class LambdaApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: LambdaService) -> None:
        self.service = service
        super().__init__(address, _InvokeHandler)
