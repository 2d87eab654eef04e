"""Job types: ``type`` name -> a class that validates a payload and handles it.

A module listed in ``QUEUE_JOB_MODULES`` (the plugin's "new job types" filter) adds its types
with a ``register(registry)`` function, without touching this package. Each type is made once per
container with the settings and the AWS clients it may need.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from relayq.aws import AwsClients
from relayq.domain.errors import InvalidInput, InvalidJobType
from relayq.domain.models import Job, check_type_name
from relayq.settings import Settings


class PermanentJobError(Exception):
    """An error that no retry can fix: the job fails at once."""


class RetryableJobError(Exception):
    """An error worth retrying; ``retry_after`` (seconds) overrides the backoff schedule."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobContext:
    """What a handler may know about the run it is in."""

    job: Job
    attempt: int
    deadline_ms: int


def describe_validation_error(error: ValidationError) -> str:
    """``payload.to: value is not a valid email address; ...``: which field and why."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class JobType(ABC):
    """Base of every job type. Class attributes set per-type defaults (None: the settings'), used
    when a create request names no queue, priority, attempts or timeout (as the plugin's job
    classes set theirs)."""

    name: ClassVar[str]
    payload_model: ClassVar[type[BaseModel] | None] = None
    queue: ClassVar[str | None] = None
    priority: ClassVar[int | None] = None
    max_attempts: ClassVar[int | None] = None
    timeout: ClassVar[int | None] = None
    retry_delays: ClassVar[tuple[int, ...] | None] = None
    # Exclusive jobs never run two at once anywhere (a global lock held while one runs).
    exclusive: ClassVar[bool] = False

    def __init__(self, settings: Settings, aws: AwsClients) -> None:
        self.settings = settings
        self.aws = aws

    def validate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as the handler will see it; raises InvalidInput with the field and reason."""
        if self.payload_model is None:
            return payload
        try:
            return self.payload_model.model_validate(payload).model_dump(mode="json", exclude_none=True)
        except ValidationError as error:
            message = f"Invalid payload for job type '{self.name}': {describe_validation_error(error)}"
            raise InvalidInput(message) from None

    @abstractmethod
    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        """Do the work; return a JSON-serialisable result. Raise to fail the attempt."""


class JobRegistry:
    def __init__(self, settings: Settings, aws: AwsClients) -> None:
        self.settings = settings
        self.aws = aws
        self._types: dict[str, JobType] = {}

    def register(self, cls: type[JobType]) -> type[JobType]:
        """Make ``cls`` (made with the registry's settings and clients) the handler of its type."""
        self.add(cls(self.settings, self.aws))
        return cls

    def add(self, job_type: JobType) -> None:
        """Register a type made by the caller (one that needs more than settings and clients)."""
        self._types[check_type_name(job_type.name)] = job_type

    def unregister(self, name: str) -> None:
        self._types.pop(name, None)

    def get(self, name: str) -> JobType:
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "none"
            raise InvalidJobType(f"Invalid job type '{name}'. Known types: {known}.") from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def load_modules(self, modules: Iterable[str]) -> None:
        """Import each module and let its ``register(registry)`` add its types."""
        for name in modules:
            module = importlib.import_module(name)
            register = getattr(module, "register", None)
            if not callable(register):
                raise ValueError(f"job module {name} has no register(registry) function")
            register(self)
