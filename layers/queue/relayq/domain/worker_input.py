"""What a worker invocation is asked to do: the input of each EventBridge schedule."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from relayq.domain.models import QueueName


class WorkerInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    queues: list[QueueName] = Field(default_factory=lambda: ["default"], min_length=1, max_length=50)
    max_jobs: int = Field(default=100, ge=1, le=10_000)
