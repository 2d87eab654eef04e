"""A custom job type living outside the layer, loaded through ``QUEUE_JOB_MODULES`` (the README
shows the same module)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from relayq.domain.registry import JobContext, JobRegistry, JobType


class GreetingPayload(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class Greeting(JobType):
    name = "greeting"
    payload_model = GreetingPayload
    timeout = 30

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        return {"greeting": f"Hello, {payload['name']}!"}


def register(registry: JobRegistry) -> None:
    registry.register(Greeting)
