"""sam local smoke test: the worker as `sam build` packages it runs in a Lambda-like container
(Docker, or podman with the locally built base image), invoked through `sam local start-lambda`
as `make sam-local` invokes every sample, and processes a job enqueued here.

Skipped, with the reason, when no container runtime is set up (`make sam-local-setup` sets one up;
`make test` and `.ci/run` do it first)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from devstack import events
from devstack.job_types import register_test_types
from devstack.samlocal.invoke import build, lambda_endpoint, sam_local_session
from devstack.samlocal.runtime import unavailable_reason
from devstack.samlocal.stack import TABLE_NAMES, LocalStack
from devstack.template import ROOT
from relayq.aws import AwsClients
from relayq.domain.hooks import Hooks
from relayq.domain.models import NewJob
from relayq.domain.registry import JobRegistry
from relayq.dynamodb.jobs import JobStore
from relayq.redis.broker import RedisBroker
from relayq.services.jobs import JobService
from relayq.settings import Settings

# A custom job-types module, registered the documented way (QUEUE_JOB_MODULES), so the container
# knows the test's `echo` type.
SMOKE_JOBS = "from job_types import Echo\n\n\ndef register(registry):\n    registry.register(Echo)\n"


@pytest.fixture(scope="module")
def sam_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict[str, str], Path]]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"sam local smoke test skipped: {reason}")
    with sam_local_session(tmp_path_factory.mktemp("sam-local")) as (stack, env):
        build(env)
        yield stack, env, worker_with_test_jobs(ROOT / ".aws-sam" / "build", tmp_path_factory.mktemp("build"))


def worker_with_test_jobs(build_dir: Path, out: Path) -> Path:
    """A copy of the built template whose worker also loads the test job types."""
    template: dict[str, Any] = yaml.safe_load((build_dir / "template.yaml").read_text())
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = str(build_dir / props[key])
    worker_dir = out / "WorkerFunction"
    shutil.copytree(build_dir / "WorkerFunction", worker_dir)
    shutil.copy(ROOT / "devstack" / "job_types.py", worker_dir / "job_types.py")
    (worker_dir / "smoke_jobs.py").write_text(SMOKE_JOBS)
    worker = template["Resources"]["WorkerFunction"]["Properties"]
    worker["CodeUri"] = str(worker_dir)
    worker.setdefault("Environment", {}).setdefault("Variables", {})["QUEUE_JOB_MODULES"] = "smoke_jobs"
    path = out / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


def host_queue(stack: LocalStack) -> JobService:
    """The same queue, seen from the test process."""
    settings = Settings(
        redis_url=stack.redis.url,
        jobs_table=TABLE_NAMES["jobs_table"],
        tokens_table=TABLE_NAMES["tokens_table"],
        idempotency_table=TABLE_NAMES["idempotency_table"],
    )
    conn = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    store = JobStore(stack.moto.client("dynamodb"), settings.jobs_table)
    return JobService(
        RedisBroker(conn, settings.key_prefix),
        store,
        settings,
        registry=register_test_types(JobRegistry(settings, AwsClients())),
        hooks=Hooks(),
    )


def test_worker_in_a_container_processes_an_enqueued_job(
    sam_local: tuple[LocalStack, dict[str, str], Path], tmp_path: Path
) -> None:
    stack, env, template = sam_local
    queue = host_queue(stack)
    job = queue.create(NewJob(type="echo", queue="smoke", payload={"hello": "container"}))
    case = next(case for case in events.cases() if case.path == "worker/schedule.json")
    event = json.loads((ROOT / "events" / case.path).read_text())

    with lambda_endpoint(stack, env, tmp_path / "start-lambda.log", ["WorkerFunction"], template=template) as endpoint:
        call = endpoint.invoke("WorkerFunction", case, {**event, "queues": ["smoke"]})

    assert call.matches, call.line()
    assert call.result["processed"] == 1 and call.result["successful"] == 1, call.result
    stored = queue.get(job.id)
    assert stored.status == "completed"
    assert stored.result == {"echo": {"hello": "container"}, "attempt": 1}
