"""A job type whose side effect outlives the worker that ran it: ``tally`` appends one line per run
(job id, attempt, wall time) to the file its payload names, so a test counts how often each job
really ran, whatever became of the process. Loaded through ``QUEUE_JOB_MODULES`` (test processes
only: the local stack never registers a type that writes where its payload says)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from relayq.domain.registry import JobContext, JobRegistry, JobType


class TallyPayload(BaseModel):
    file: str


class Tally(JobType):
    name = "tally"
    payload_model = TallyPayload

    def handle(self, payload: dict[str, Any], context: JobContext) -> Any:
        # One short write() in append mode: lines of concurrent workers never interleave.
        with Path(payload["file"]).open("a") as tally:
            tally.write(f"{context.job.id} {context.attempt} {time.time():.6f}\n")
        return None


def runs(file: Path) -> tuple[Counter[str], list[float]]:
    """How often each job ran, and the wall times of the runs in order."""
    counts: Counter[str] = Counter()
    times: list[float] = []
    if file.exists():
        for line in file.read_text().splitlines():
            job_id, _, at = line.split()
            counts[job_id] += 1
            times.append(float(at))
    return counts, sorted(times)


def register(registry: JobRegistry) -> None:
    registry.register(Tally)
