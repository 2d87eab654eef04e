"""Lambda's execution model on one machine: each function runs in containers (child processes
running runtime.py) that keep their imports and connections between invocations, one invocation
at a time each; a busy function gets another container, an invocation past the function's timeout
loses its container, as in Lambda."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from devstack.functions import FunctionSpec, layer_dirs

RUNTIME = Path(__file__).with_name("runtime.py")
# Concurrent containers of a function without reserved concurrency; past it, invocations wait.
MAX_CONTAINERS = 10
# Lambda gives the init phase 10 s; a busy development machine needs more to import the handler.
INIT_TIMEOUT_S = 120.0

Log = Callable[[str], None]
# Where the lines a function prints go: (function name, line).
Output = Callable[[str, str], None]


@dataclass(frozen=True)
class Invocation:
    """What Lambda's Invoke API answers: the payload and, when the function failed, its error type."""

    payload: Any
    function_error: str | None = None

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


class Container:
    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: Log, output: Output) -> None:
        self.spec = spec
        request_read, self._request_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        env = {
            **environment,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "RELAYQ_LOCAL_FUNCTION_ARN": spec.arn,
            "_HANDLER": spec.handler,
            "PYTHONUNBUFFERED": "1",
        }
        layers = os.pathsep.join(str(d) for d in layer_dirs())
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(RUNTIME), str(spec.code_dir), layers, str(request_read), str(reply_write)],
            env=env,
            pass_fds=(request_read, reply_write),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # A group of its own: Ctrl-C in a terminal signals the whole foreground group, and
            # the stack stops its containers itself, in order (a container interrupted at once
            # prints a KeyboardInterrupt traceback and drops its invocation).
            process_group=0,
        )
        os.close(request_read)
        os.close(reply_write)
        self._requests = os.fdopen(self._request_write, "w", encoding="utf-8")
        self._replies = os.fdopen(self._reply_read, "r", encoding="utf-8")
        self._ready = False
        self._log = log
        threading.Thread(target=self._relay_logs, args=(self.process.stdout, output), daemon=True).start()

    def _relay_logs(self, stream: IO[bytes] | None, output: Output) -> None:
        assert stream is not None
        for line in stream:
            output(self.spec.name, line.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _initialized(self) -> bool:
        """Wait for the end of the init phase (imports), which Lambda does not count as run time."""
        if self._ready:
            return True
        ready, _, _ = select.select([self._replies], [], [], INIT_TIMEOUT_S)
        self._ready = bool(ready) and json.loads(self._replies.readline() or "{}").get("ready", False)
        return self._ready

    def invoke(self, event: Any, request_id: str) -> Invocation:
        try:
            if not self._initialized():
                return self._exited()
        except (OSError, ValueError):
            return self._exited()
        deadline_ms = int((time.time() + self.spec.timeout) * 1000)
        try:
            self._requests.write(json.dumps({"id": request_id, "event": event, "deadline_ms": deadline_ms}) + "\n")
            self._requests.flush()
        except OSError:
            return self._exited()
        try:
            ready, _, _ = select.select([self._replies], [], [], self.spec.timeout)
        except (OSError, ValueError):  # stopped meanwhile
            return self._exited()
        if not ready:
            self.stop()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            message = f"{stamp} {request_id} Task timed out after {self.spec.timeout:.2f} seconds"
            self._log(f"[{self.spec.name}] {message} (a slow machine? see --timeout-scale)")
            return Invocation({"errorMessage": message, "errorType": "Sandbox.Timedout"}, "Unhandled")
        try:
            line = self._replies.readline()
        except (OSError, ValueError):
            line = ""
        if not line:
            return self._exited()
        reply = json.loads(line)
        if reply["ok"]:
            return Invocation(reply["result"])
        return Invocation(reply["error"], "Unhandled")

    def _exited(self) -> Invocation:
        self.stop()
        return Invocation({"errorMessage": "Runtime exited", "errorType": "Runtime.ExitError"}, "Unhandled")

    def terminate(self) -> None:
        if self.alive:
            self.process.terminate()

    def stop(self) -> None:
        self.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                stream.close()


class FunctionPool:
    """The warm containers of one function."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: Log, output: Output) -> None:
        self.spec = spec
        self._environment = environment
        self._log = log
        self._output = output
        self._idle: list[Container] = []
        self._all: set[Container] = set()
        self._available = threading.Condition()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def warm(self) -> None:
        self._release(self._acquire())

    def invoke(self, event: Any) -> Invocation:
        container = self._acquire()
        try:
            return container.invoke(event, str(uuid.uuid4()))
        finally:
            self._release(container)

    def _acquire(self) -> Container:
        with self._available:
            while True:
                if self._stopped:
                    raise RuntimeError(f"{self.spec.name} is stopped")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < (self.spec.reserved_concurrency or MAX_CONTAINERS):
                    break
                self._available.wait()
            container = Container(self.spec, self._environment, self._log, self._output)
            self._all.add(container)
            return container

    def _release(self, container: Container) -> None:
        with self._available:
            if container.alive and not self._stopped:
                self._idle.append(container)
            else:
                container.stop()
                self._all.discard(container)
            self._available.notify()

    def stop(self) -> None:
        with self._available:
            self._stopped = True
            containers, self._idle = list(self._all), []
            self._available.notify_all()
        for container in containers:  # busy ones too: their invocations end as "Runtime exited"
            container.terminate()
        for container in containers:
            container.stop()
