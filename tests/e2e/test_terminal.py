"""What a user of ``make run`` (``python -m devstack``) sees in its terminal and gets from it: a
busy port named with the option that changes it (and an exit, not a hang), Ctrl-C and SIGTERM
ending the stack cleanly at any phase, one short line per request, no traceback for a refused
token, the function logs in a file of the data folder, the dashboard's URL in the banner."""

from __future__ import annotations

import json
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.stack import StackProcess, keep_log

pytestmark = pytest.mark.e2e

# Long enough to tell a stack that exits from one that hangs; not a measure of speed.
EXITS_WITHIN_S = 120
READY = "ready (Ctrl-C stops)"
REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S* -> \d{3} \(\d+ ms\)$", re.MULTILINE)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def ended(stack: StackProcess) -> int:
    """Its exit status (the test fails if it is still running after EXITS_WITHIN_S)."""
    try:
        return stack.wait(EXITS_WITHIN_S)
    finally:
        stack.stop()  # only a hung one is left to stop


def processes_using(folder: Path) -> list[str]:
    """Command lines of the processes still running with ``folder`` in their arguments (the
    stack's redis-server has its data folder there)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:  # ended meanwhile
            continue
        if any(str(folder) in arg for arg in args):
            found.append(" ".join(args))
    return found


@pytest.mark.parametrize("port", ["api", "lambda", "moto", "redis"])
def test_a_busy_port_is_named_with_its_option_and_the_stack_exits(tmp_path: Path, taken_port: int, port: str) -> None:
    stack = StackProcess(tmp_path, ports={port: taken_port}).launch()

    code = ended(stack)

    assert code != 0
    out = stack.output
    assert f"port {taken_port}" in out
    assert f"--{port}-port" in out
    assert f"RELAYQ_{port.upper()}_PORT=" in out
    assert "Traceback" not in out
    assert READY not in out
    assert not processes_using(tmp_path)


def test_sigterm_during_startup_stops_the_stack_without_a_traceback(tmp_path: Path) -> None:
    stack = StackProcess(tmp_path).launch()
    try:
        assert stack.wait_for_output("starting", EXITS_WITHIN_S), stack.output
        assert stack.process is not None
        stack.process.send_signal(signal.SIGTERM)
        code = ended(stack)
    finally:
        stack.stop()

    assert code == 0, stack.output
    assert "Traceback" not in stack.output
    assert READY not in stack.output
    assert "stopped" in stack.output
    assert not processes_using(tmp_path)


def ports_of(stack: StackProcess) -> dict[str, int]:
    env = stack.env
    urls = {
        "api": env["QUEUE_API_URL"],
        "lambda": env["AWS_ENDPOINT_URL_LAMBDA"],
        "moto": env["AWS_ENDPOINT_URL"],
        "redis": env["QUEUE_REDIS_URL"],
    }
    return {name: int(urlsplit(url).port or 0) for name, url in urls.items()}


@pytest.mark.parametrize(
    ("how", "signum"),
    [("ctrl-c", signal.SIGINT), ("sigterm", signal.SIGTERM)],
)
def test_a_session_in_the_terminal(tmp_path: Path, how: str, signum: int) -> None:
    """Start, a second `make run` beside it, calls with a good and a refused token, then a stop
    as a user makes it: Ctrl-C in the terminal (SIGINT to the whole foreground group, children
    included) or `kill PID` (SIGTERM to the stack alone)."""
    stack = StackProcess(tmp_path / "first").start()
    try:
        second = StackProcess(tmp_path / "first", ports=ports_of(stack)).launch()
        assert ended(second) != 0
        ours = stack.output  # the second one writes to the same stack.log: the part before it is ours
        assert f"port {ports_of(stack)['api']}" in second.output
        same_folder = StackProcess(tmp_path / "first").launch()
        assert ended(same_folder) != 0
        assert "--data-dir" in same_folder.output
        assert str(tmp_path / "first") in same_folder.output

        assert stack.client().get("/health").status_code == 200
        assert stack.client("rq_not-a-token").get("/jobs").status_code == 403  # a Deny: no exception
        assert requests.get(f"{stack.url}/run", timeout=30).status_code == 401  # the authorizer raises Unauthorized
        if how == "ctrl-c":
            stack.interrupt(signal.SIGINT)
        else:
            assert stack.process is not None
            stack.process.send_signal(signum)
        code = ended(stack)
    finally:
        stack.stop()
        keep_log(stack, f"terminal-{how}")

    out = stack.output
    assert code == 0, out
    assert "Traceback" not in out
    assert "KeyboardInterrupt" not in out
    assert f"  dashboard      {stack.url}/dashboard" in ours
    request_lines = REQUEST_LINE.findall(out)
    assert "GET" in request_lines
    assert re.search(r"^GET /jobs -> 403 \(\d+ ms\)$", out, re.MULTILINE)
    assert re.search(r"^GET /run -> 401 \(\d+ ms\)$", out, re.MULTILINE)
    assert not [line for line in out.splitlines() if re.match(r"^\[\w[\w-]*\] \{", line)], "JSON on the terminal"
    function_log = (tmp_path / "first" / "functions.log").read_text()
    assert str(tmp_path / "first" / "functions.log") in ours
    records = [json.loads(line.split("] ", 1)[1]) for line in function_log.splitlines() if "] {" in line]
    assert any(r.get("route") == "/v1/jobs" and r.get("status") == 403 for r in records)
    assert any(r.get("route") == "/v1/run" and r.get("status") == 401 for r in records)
    assert any(r.get("route") == "/v1/health" and r.get("status") == 200 for r in records)
    assert not processes_using(tmp_path)
