"""Stopping the stack with Ctrl-C and starting it again keeps the data: job records, waiting jobs,
tokens, the attachment id counter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_jobs import create, finished
from tests.support.receiver import Receiver, receiver
from tests.support.stack import DemoPorts, StackProcess, keep_log

__all__ = ["receiver"]  # the fixture


@pytest.fixture
def own_stack(tmp_path: Path, demo_ports: DemoPorts) -> Iterator[StackProcess]:
    running = StackProcess(tmp_path / "stack", outbound_allow=demo_ports.allow).start()
    yield running
    running.stop()
    keep_log(running, "restart")


def test_data_survives_a_restart(own_stack: StackProcess, receiver: Receiver) -> None:
    api = own_stack.client()
    done = finished(api, create(api, type="api_sync", payload={"url": receiver.url("/hook"), "method": "POST"}))
    waiting = create(api, type="api_sync", queue="later", payload={"url": "http://127.0.0.1:9/"}, delay=3600)
    listed = api.get("/jobs", params={"per_page": "100"}).json()
    tokens = (own_stack.env["QUEUE_API_TOKEN"], own_stack.env["QUEUE_WORKER_TOKEN"])
    upload = {"filename": "a.png", "content_type": "image/png"}
    uploaded = api.post("/uploads", json=upload).json()["attachment_id"]

    own_stack.restart()
    api = own_stack.client()

    assert (own_stack.env["QUEUE_API_TOKEN"], own_stack.env["QUEUE_WORKER_TOKEN"]) == tokens
    assert api.get(f"/jobs/{done['id']}").json() == done
    assert api.get(f"/jobs/{waiting}").json()["status"] == "queued"
    assert api.get("/jobs", params={"per_page": "100"}).json() == listed
    assert api.get("/stats").json()["data"]["delayed"]["pending"] >= 1  # still waiting in Redis
    # and still runnable: cancelling finds it in Redis and in the table
    assert api.delete(f"/jobs/{waiting}").status_code == 200
    # The attachment ids go on above the last one (the sample image, id 1, is seeded again: moto's
    # S3 lives in memory) and the sample is there to process.
    assert api.post("/uploads", json=upload).json()["attachment_id"] > uploaded > 1
    sample = {"operation": "thumbnail", "attachment_id": 1, "sizes": ["thumbnail"]}
    assert finished(api, create(api, type="image_processing", payload=sample))["status"] == "completed"
