"""`make sam-local` and `make sam-local-api` against local services. `make sam-local`: every
function of template.yaml with every sample event of its folder under events/
(events/<folder>/*.json, the folder named after the function's CodeUri ``functions/<folder>``),
through one `sam local start-lambda` whose containers stay warm (one per function, as Lambda
keeps an execution environment between invocations), each answer checked against the sample's
expected outcome (devstack/events.py ``Case.expect``). The image settings come from
samconfig.toml; the endpoints, which change every run, from the command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devstack import events, samples
from devstack.redis_server import free_port
from devstack.samlocal.commands import SetupError
from devstack.samlocal.stack import LocalStack, local_stack
from devstack.template import ROOT, resources

SAM = Path(sys.executable).with_name("sam")
SAMCONFIG = ROOT / "samconfig.toml"
# Seconds for one invocation: a function's first one starts its container (SAM layers the image
# with the function's layer first) on a machine shared with other jobs.
INVOKE_TIMEOUT = 180
START_TIMEOUT = 120  # seconds for `sam local start-lambda` to listen
# What sam and the functions printed during the last `make sam-local` (kept after the run).
LOG = ROOT / "test-artifacts" / "sam-local" / "start-lambda.log"


@dataclass(frozen=True)
class Invocation:
    """One sample event's invocation: what it answered and whether that is what the sample expects."""

    function: str
    case: events.Case
    wall_s: float
    result: Any
    error: str | None  # the function error's message, or why nothing answered
    got: int | str | None  # the answer in the terms of Case.expect (samples.observed)

    @property
    def matches(self) -> bool:
        return self.got == self.case.expect

    def line(self) -> str:
        verdict = "ok" if self.matches else "MISMATCH"
        text = f"{self.function:20} {self.case.path:36} expected {_show(self.case.expect):12} got {_show(self.got):12}"
        text += f" {self.wall_s:5.1f} s  {verdict}"
        if not self.matches:
            text += f"\n    {self.detail()}"
        return text

    def detail(self) -> str:
        """What explains a mismatch: the error, or the body the function answered."""
        if self.error is not None:
            return self.error[:300]
        if isinstance(self.result, Mapping) and "body" in self.result:
            return str(self.result["body"])[:300]
        return json.dumps(self.result)[:300]


def _show(outcome: int | str | None) -> str:
    if outcome is None:
        return "a result"
    return f"HTTP {outcome}" if isinstance(outcome, int) else outcome


def function_folders() -> dict[str, str]:
    """events/ folder name -> logical id (the folder is named after the function's CodeUri)."""
    functions = resources("AWS::Serverless::Function")
    return {Path(f["Properties"]["CodeUri"]).name: logical_id for logical_id, f in functions.items()}


def function_events(root: Path = ROOT) -> list[tuple[str, Path]]:
    """(logical id, event file) for every function and every event of its folder. An events
    folder that names no function is an error: its events would never be invoked."""
    folders = function_folders()
    strays = sorted(d.name for d in (root / "events").iterdir() if d.is_dir() and d.name not in folders)
    if strays:
        raise SetupError(f"events/{{{','.join(strays)}}} match no function of template.yaml ({', '.join(folders)})")
    return [(folders[f], event) for f in folders for event in sorted((root / "events" / f).glob("*.json"))]


def sample_events(root: Path = ROOT) -> list[tuple[str, events.Case, Path]]:
    """(logical id, its case in devstack/events.py, event file) for every event file, in the
    order devstack/events.py lists the cases. The invocations share one deployment's data, and
    that order is a session's: a job read before it is cancelled, deferred cron triggers run by
    the queue processing before a synchronous run (409 while one is queued, 429 in the cooldown
    after it), sites added before one is removed."""
    cases = {case.path: case for case in events.cases()}
    pairs = function_events(root)
    unknown = [str(path.relative_to(root)) for _, path in pairs if _case_path(path) not in cases]
    if unknown:
        raise SetupError(f"{', '.join(unknown)}: not built by devstack/events.py (run `make events`)")
    order = {path: index for index, path in enumerate(cases)}
    found = [(function, cases[_case_path(path)], path) for function, path in pairs]
    return sorted(found, key=lambda item: order[item[1].path])


def _case_path(event: Path) -> str:
    return f"{event.parent.name}/{event.name}"


def sam_environment(api_env: dict[str, str]) -> dict[str, str]:
    """The environment `sam` runs with: the Docker API, the venv first on PATH (`sam build` uses
    its python3.11), dummy credentials for the stand-ins, no telemetry."""
    env = {**os.environ, **api_env, "SAM_CLI_TELEMETRY": "0", "PATH": f"{SAM.parent}:{os.environ['PATH']}"}
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        env.setdefault(key, value)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    return env


@contextmanager
def sam_local_session(work_dir: Path) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    """A container runtime's Docker API and the local services, for one run."""
    from devstack.samlocal.runtime import bridge_gateway, docker_api, engine, unavailable_reason

    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"sam local cannot run: {reason}")
    with docker_api(engine()) as api_env:
        env = sam_environment(api_env)
        with local_stack(work_dir, bridge_gateway(api_env)) as stack:
            yield stack, env


def build(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(SAM), "build", "--cached"], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise SetupError(f"sam build failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _service_args(stack: LocalStack) -> list[str]:
    return ["--env-vars", str(stack.env_vars_file), "--parameter-overrides", " ".join(stack.parameter_overrides())]


@dataclass(frozen=True)
class LambdaEndpoint:
    """`sam local start-lambda`'s Lambda Invoke API."""

    url: str
    log: Path

    def invoke(self, function: str, case: events.Case, event: dict[str, Any]) -> Invocation:
        config = Config(
            signature_version=UNSIGNED, connect_timeout=10, read_timeout=INVOKE_TIMEOUT, retries={"max_attempts": 0}
        )
        client = boto3.client("lambda", endpoint_url=self.url, region_name="us-east-1", config=config)
        started = time.monotonic()
        try:
            response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
            payload = response["Payload"].read()
        except (BotoCoreError, ClientError) as failure:
            silence = f"no answer from sam local: {failure}"
            return Invocation(function, case, time.monotonic() - started, None, silence, silence)
        wall = time.monotonic() - started
        try:
            result = json.loads(payload) if payload else None
        except json.JSONDecodeError:
            result = payload.decode(errors="replace")
        error: str | None = None
        # SAM CLI 1.148 sets X-Amz-Function-Error only for a body of no more keys than errorMessage,
        # errorType, stackTrace, cause; awslambdaric 4 adds requestId, so the body's shape decides
        # (a handler's own answer never has errorType and errorMessage).
        raised = isinstance(result, dict) and {"errorType", "errorMessage"} <= result.keys()
        if response.get("FunctionError") or raised:
            error = str(result.get("errorMessage", result)) if isinstance(result, dict) else str(result)
        return Invocation(function, case, wall, result, error, samples.observed(case, event, result, error))


@contextmanager
def lambda_endpoint(
    stack: LocalStack,
    env: dict[str, str],
    log: Path,
    functions: Sequence[str] = (),
    *,
    template: Path | None = None,
) -> Iterator[LambdaEndpoint]:
    """`sam local start-lambda` for ``functions`` (all: empty) with the run's services, its
    output (and the functions' logs) in ``log``, stopped on exit (Ctrl-C's way: sam removes its
    warm containers then)."""
    port = free_port()
    args = [str(SAM), "local", "start-lambda", *functions, "--host", "127.0.0.1", "--port", str(port)]
    args += ["--config-file", str(SAMCONFIG), *_service_args(stack)]
    if template:
        args += ["--template", str(template)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        server = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        _wait_for_port(port, server, log)
        yield LambdaEndpoint(f"http://127.0.0.1:{port}", log)
    finally:
        _stop(server)


def _wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupError(f"sam local start-lambda exited ({server.returncode}): {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SetupError(f"sam local start-lambda did not listen within {START_TIMEOUT}s: {log.read_text()[-2000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


def invoke_all(work_dir: Path) -> int:
    """`make sam-local`: build, mint the run's tokens and seed what the samples refer to, then
    every function with every sample event (a copy with the tokens in it); 1 unless every answer
    is the one the sample expects."""
    pairs = sample_events()
    started = time.monotonic()
    calls: list[Invocation] = []
    with sam_local_session(work_dir) as (stack, env):
        built = time.monotonic()
        build(env)
        print(f"sam build --cached: {time.monotonic() - built:.0f} s", flush=True)
        with stack.host_container() as app:
            tokens = samples.mint_tokens(app.tokens)
            samples.seed(app)
            functions = list(dict.fromkeys(function for function, _, _ in pairs))
            print(f"redis {stack.redis.url}, moto {stack.moto.url}; {len(pairs)} invocations", flush=True)
            with lambda_endpoint(stack, env, LOG, functions) as endpoint:
                for function, case, path in pairs:
                    samples.seed_case(app, case)
                    copy = work_dir / "events" / case.path
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    copy.write_text(samples.with_tokens(path.read_text(), tokens))
                    call = endpoint.invoke(function, case, json.loads(copy.read_text()))
                    calls.append(call)
                    print(call.line(), flush=True)
    print(f"sam local start-lambda's output and the functions' logs: {LOG.relative_to(ROOT)}")
    return summary(calls, time.monotonic() - started)


def summary(calls: Sequence[Invocation], elapsed_s: float) -> int:
    """Prints the mismatches again (expected vs got) and the count; 0 when every call matched."""
    mismatches = [call for call in calls if not call.matches]
    for call in mismatches:
        print(f"MISMATCH {call.case.path}: expected {_show(call.case.expect)}, got {_show(call.got)}: {call.detail()}")
    matched = len(calls) - len(mismatches)
    print(f"sam local: {matched}/{len(calls)} invocations answered as expected in {elapsed_s:.0f} s")
    return 1 if mismatches else 0


def start_api(work_dir: Path, port: int) -> int:
    """`make sam-local-api`: `sam local start-api` until Ctrl-C, against the local services."""
    with sam_local_session(work_dir) as (stack, env):
        build(env)
        args = [str(SAM), "local", "start-api", "--port", str(port), "--config-file", str(SAMCONFIG)]
        args += _service_args(stack)
        print(f"API on http://127.0.0.1:{port} (Ctrl-C stops it, the services and the podman API)", flush=True)
        server = subprocess.Popen(args, cwd=ROOT, env=env)
        try:
            return server.wait()
        except KeyboardInterrupt:
            # sam got the Ctrl-C too and removes its warm containers: let it finish before the
            # podman API goes away.
            try:
                return server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.terminate()
                return server.wait(timeout=30)
