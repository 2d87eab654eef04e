"""Idle-queue kick: a job enqueued into a queue no worker is running on starts a worker for that
queue at once (an asynchronous Lambda invoke), instead of waiting for the next scheduled run.

``kick.lua`` makes it cheap and burst-proof: no invoke while a worker runs on the queue (it will
see the job), and one invoke per debounce window otherwise, so a burst of enqueues starts one
worker, not thousands. A worker that starts clears the kick of its queues (``worker_begin.lua``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import boto3
from botocore.config import Config

from relayq.domain.hooks import Hooks
from relayq.domain.models import Job
from relayq.redis.broker import RedisBroker
from relayq.settings import Settings

logger = logging.getLogger(__name__)

# The kick runs inside an API request: fail fast, the schedule is the fallback.
KICK_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=2)


class Kicker:
    def __init__(self, broker: RedisBroker, settings: Settings) -> None:
        self.broker = broker
        self.settings = settings
        self._client: Any = None

    def _lambda(self) -> Any:
        """Made on the first kick (``AWS_ENDPOINT_URL_LAMBDA`` points it at a local stand-in)."""
        if self._client is None:
            self._client = boto3.session.Session().client("lambda", config=KICK_CLIENT_CONFIG)
        return self._client

    def function_for(self, queue_name: str) -> str | None:
        """The worker function of a queue: its own entry, else ``*``, else none (no kick)."""
        routes = self.settings.kick_functions
        return routes.get(queue_name) or routes.get("*")

    def kick(self, queue_name: str) -> bool:
        """Start a worker for ``queue_name`` unless one runs or was just started; True if invoked."""
        function = self.function_for(queue_name)
        if function is None:
            return False
        keys = [self.broker.keys.named("running", queue_name), self.broker.keys.named("kick", queue_name)]
        if not self.broker.scripts.run("kick", keys, [self.broker.clock(), self.settings.kick_debounce_ms]):
            return False
        payload = {"queues": [queue_name], "max_jobs": self.settings.kick_max_jobs, "source": "kick"}
        try:
            self._lambda().invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode())
        except Exception:
            self.broker.conn.delete(keys[1])  # no worker is coming: let the next job try again
            raise
        return True

    def kick_queues(self, queue_names: Iterable[str]) -> list[str]:
        """Kick each queue once; a failed invoke is logged and the schedule picks the jobs up."""
        kicked = []
        for name in dict.fromkeys(queue_names):
            try:
                if self.kick(name):
                    kicked.append(name)
            except Exception:  # the job is safely queued either way; the next scheduled run takes it
                logger.exception("idle-queue kick of %s failed", name)
        return kicked

    # --- hook subscribers ----------------------------------------------------------------------

    def subscribe(self, hooks: Hooks) -> None:
        """Kick on job creation, on a retry and on a delayed job made due (the container subscribes
        its kicker to its hooks once): a retried job waits again like a new one, so it gets a
        worker as soon; one run now gets a worker now."""
        hooks.on("job_created", self.on_job_created)
        hooks.on("job_retried", self.on_job_due)
        hooks.on("job_due", self.on_job_due)
        hooks.on("jobs_created", self.on_jobs_created)

    def on_job_created(self, job: Job, **_: Any) -> None:
        # A delayed job is not due yet; the worker run that promotes it kicks its queue.
        if job.delay_until is None:
            self.kick_queues([job.queue])

    def on_jobs_created(self, jobs: Iterable[Job], **_: Any) -> None:
        self.kick_queues(job.queue for job in jobs if job.delay_until is None)

    def on_job_due(self, job: Job, **_: Any) -> None:
        # Due at once (retried, or run now) whatever delay it was first created with.
        self.kick_queues([job.queue])
