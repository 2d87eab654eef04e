"""Small job types for tests and benchmarks, registered into a registry of the caller's."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from relayq.domain.registry import JobContext, JobRegistry, JobType, PermanentJobError, RetryableJobError


class SleepPayload(BaseModel):
    seconds: float = Field(ge=0, le=60)


class Echo(JobType):
    name = "echo"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        return {"echo": payload, "attempt": context.attempt}


class Noop(JobType):
    name = "noop"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        return None


class Flaky(JobType):
    """Fails until attempt ``succeed_on`` (payload), then succeeds."""

    name = "flaky"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        if context.attempt < int(payload.get("succeed_on", 10**6)):
            raise RuntimeError(f"flaky failure on attempt {context.attempt}")
        return {"ok": context.attempt}


class Broken(JobType):
    name = "broken"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        raise PermanentJobError("cannot ever work")


class RetryAfter(JobType):
    name = "retry_after"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        raise RetryableJobError("upstream busy", retry_after=float(payload["after"]))


class Sleep(JobType):
    name = "sleep"
    payload_model = SleepPayload

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        time.sleep(payload["seconds"])
        return {"slept": payload["seconds"]}


class Unserialisable(JobType):
    name = "unserialisable"

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        return {"value": object()}


TEST_TYPES: tuple[type[JobType], ...] = (Echo, Noop, Flaky, Broken, RetryAfter, Sleep, Unserialisable)


def register_test_types(registry: JobRegistry) -> JobRegistry:
    for cls in TEST_TYPES:
        registry.register(cls)
    return registry
