"""`sam local invoke` / `sam local start-api` against local services: every function of
template.yaml with every event of its folder under events/ (events/<folder>/*.json, the folder
named after the function's CodeUri ``functions/<folder>``). The image settings come from
samconfig.toml; the endpoints, which change every run, from the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.samlocal.commands import SetupError
from devstack.samlocal.stack import LocalStack, local_stack
from devstack.template import ROOT, resources

SAM = Path(sys.executable).with_name("sam")
SAMCONFIG = ROOT / "samconfig.toml"
INVOKE_TIMEOUT = 180  # seconds for one `sam local invoke`, cold container and image layering included
_REPORT = re.compile(r"REPORT RequestId: \S+\s+Init Duration: [\d.]+ ms\s+Duration: ([\d.]+) ms")


@dataclass(frozen=True)
class Invocation:
    function: str
    event: Path
    wall_s: float
    duration_ms: float | None  # what the emulator measured around the handler
    result: Any
    error: str | None

    @property
    def outcome(self) -> str:
        if self.error:
            return f"FAILED: {self.error}"
        if isinstance(self.result, dict) and "statusCode" in self.result:
            return f"HTTP {self.result['statusCode']}"
        return json.dumps(self.result)[:160]


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


def sam_environment(api_env: dict[str, str]) -> dict[str, str]:
    """The environment `sam` runs with: the Docker API, the venv first on PATH (`sam build` uses
    its python3.11), dummy credentials for the stand-ins, no telemetry."""
    env = {**os.environ, **api_env, "SAM_CLI_TELEMETRY": "0", "PATH": f"{SAM.parent}:{os.environ['PATH']}"}
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        env.setdefault(key, value)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    return env


def invoke(
    function: str,
    event: Path,
    stack: LocalStack,
    env: dict[str, str],
    *,
    template: Path | None = None,
    timeout: float = INVOKE_TIMEOUT,
) -> Invocation:
    args = [str(SAM), "local", "invoke", function, "--event", str(event), "--config-file", str(SAMCONFIG)]
    args += ["--env-vars", str(stack.env_vars_file), "--parameter-overrides", " ".join(stack.parameter_overrides())]
    if template:
        args += ["--template", str(template)]
    started = time.monotonic()
    try:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Invocation(function, event, time.monotonic() - started, None, None, f"no answer within {timeout:.0f}s")
    wall = time.monotonic() - started
    report = _REPORT.search(done.stderr)
    duration = float(report.group(1)) if report else None
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    error = None
    if done.returncode != 0 or not lines:
        error = f"sam exited {done.returncode}: " + " | ".join(done.stderr.strip().splitlines()[-5:])
    elif isinstance(result, dict) and "errorType" in result:
        error = f"{result['errorType']}: {result.get('errorMessage', '')}"
    return Invocation(function, event, wall, duration, result, error)


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


def invoke_all(work_dir: Path) -> int:
    """`make sam-local`: build, then every function with every event; 1 when any failed."""
    pairs = function_events()
    failures = 0
    with sam_local_session(work_dir) as (stack, env):
        build(env)
        print(f"redis {stack.redis.url}, moto {stack.moto.url}; {len(pairs)} invocations", flush=True)
        for function, event in pairs:
            call = invoke(function, event, stack, env)
            failures += call.error is not None
            duration = f"{call.duration_ms:.0f} ms" if call.duration_ms is not None else "-"
            rel = event.relative_to(ROOT)
            print(
                f"{function:20} {rel!s:40} wall {call.wall_s:5.1f} s  handler {duration:>8}  {call.outcome}", flush=True
            )
    print(f"{len(pairs) - failures}/{len(pairs)} invocations answered without a function error")
    return 1 if failures else 0


def start_api(work_dir: Path, port: int) -> int:
    """`make sam-local-api`: `sam local start-api` until Ctrl-C, against the local services."""
    with sam_local_session(work_dir) as (stack, env):
        build(env)
        args = [str(SAM), "local", "start-api", "--port", str(port), "--config-file", str(SAMCONFIG)]
        args += ["--env-vars", str(stack.env_vars_file), "--parameter-overrides", " ".join(stack.parameter_overrides())]
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
