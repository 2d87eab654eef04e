"""Jobs through the REST API of the running stack: every built-in type created over HTTP and run by
the workers, listing with filters and pages, cancel, clear, stats and health."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from PIL import Image

from devstack.stack import LOCAL_BUCKET
from tests.support.receiver import Receiver, receiver
from tests.support.stack import Api, StackProcess, wait_for

__all__ = ["receiver"]  # the fixture

FINISHED = ("completed", "failed", "cancelled")


def finished(api: Api, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        job: dict[str, Any] = api.get(f"/jobs/{job_id}").json()
        return job if job["status"] in FINISHED else None

    job = wait_for(check, timeout)
    assert job, f"{job_id} did not finish"
    return job  # type: ignore[no-any-return]


def create(api: Api, **request: Any) -> str:
    answer = api.post("/jobs", json=request)
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["success"] is True
    return str(answer.json()["job_id"])


def aws(stack: StackProcess, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.env["AWS_ENDPOINT_URL"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_health_and_stats(api: Api) -> None:
    health = api.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    assert health.json()["data"]["redis_connected"] is True and health.json()["data"]["database_status"] is True
    stats = api.get("/stats")
    assert stats.status_code == 200 and stats.json()["success"] is True
    assert set(stats.json()["data"]["database"]) >= {"total", "queued", "completed", "failed"}


def test_the_contracts_email_example_is_sent(api: Api, stack: StackProcess) -> None:
    ses = aws(stack, "ses")
    sent_before = ses.get_send_quota()["SentLast24Hours"]
    job_id = create(
        api, type="email", payload={"to": "admin@example.com", "subject": "Hi", "message": "Body"}, priority=10
    )
    job = finished(api, job_id)
    assert job["status"] == "completed", job
    assert job["result"]["message_id"]
    assert ses.get_send_quota()["SentLast24Hours"] == sent_before + 1


def test_the_contracts_form_example_creates_the_job(api: Api) -> None:
    """curl -d 'type=email&priority=10&queue=default' --data-urlencode 'payload[{...}]'"""
    payload = json.dumps({"to": "admin@example.com", "subject": "Hi", "message": "Body"})
    body = "type=email&priority=10&queue=default&" + quote(f"payload[{payload}]", safe="")
    answer = api.post("/jobs", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 201, answer.text
    job = api.get(f"/jobs/{answer.json()['job_id']}").json()
    assert (job["type"], job["priority"], job["queue"]) == ("email", 10, "default")
    assert (job["payload"]["to"], job["payload"]["subject"], job["payload"]["message"]) == (
        ["admin@example.com"],
        "Hi",
        "Body",
    )


def test_an_image_is_resized_into_its_variants(api: Api, stack: StackProcess) -> None:
    s3 = aws(stack, "s3")
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(picture, format="PNG")
    key = f"uploads/{uuid.uuid4().hex}.png"
    s3.put_object(Bucket=LOCAL_BUCKET, Key=key, Body=picture.getvalue(), ContentType="image/png")
    job = finished(api, create(api, type="image_processing", payload={"key": key}))
    assert job["status"] == "completed", job
    listed = s3.list_objects_v2(Bucket=LOCAL_BUCKET)["Contents"]
    assert len([o for o in listed if o["Key"] != key]) >= 1  # the variants were written next to it


def test_an_api_sync_job_calls_the_endpoint(api: Api, receiver: Receiver) -> None:
    payload = {"url": receiver.url("/hook"), "method": "POST", "body": {"order": 42}}
    job = finished(api, create(api, type="api_sync", queue="api", payload=payload))
    assert job["status"] == "completed", job
    assert [(r["path"], r["body"]) for r in receiver.received] == [("/hook", {"order": 42})]


def test_api_sync_cannot_reach_the_stacks_own_services(api: Api, stack: StackProcess) -> None:
    """Issue 13: api_sync read the AWS stand-in, Redis and the API itself. Only the demos' ports are
    allow-listed; the stack's own services are refused even on the same host."""
    redis_port = urlsplit(stack.env["QUEUE_REDIS_URL"]).port
    for url, reason in (
        (f"{stack.env['AWS_ENDPOINT_URL']}/", "the deployment's own AWS endpoint (AWS_ENDPOINT_URL)"),
        (f"http://127.0.0.1:{redis_port}/", "the deployment's own Redis (QUEUE_REDIS_URL)"),
        (f"{stack.url}/health", "listed in QUEUE_OUTBOUND_DENY"),
        ("http://169.254.169.254/latest/meta-data/", "link-local (instance metadata) address"),
    ):
        job = finished(api, create(api, type="api_sync", queue="api", payload={"url": url}))
        assert (job["status"], job["attempts"]) == ("failed", 1), job
        assert reason in job["error_message"] and job["result"] is None, job


def test_a_delayed_job_is_run_by_the_scheduled_worker(api: Api, receiver: Receiver) -> None:
    """Nothing kicks a worker when the job becomes due: the schedule of template.yaml runs it."""
    job_id = create(api, type="api_sync", payload={"url": receiver.url("/hook"), "method": "POST", "body": {}}, delay=2)
    assert api.get(f"/jobs/{job_id}").json()["status"] == "queued"
    job = finished(api, job_id)
    assert job["status"] == "completed", job
    assert len(receiver.received) == 1


def test_list_filter_and_page(api: Api) -> None:
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    ids = [
        create(api, type="api_sync", queue=queue, payload={"url": "http://127.0.0.1:9/"}, delay=3600) for _ in range(5)
    ]
    page = api.get("/jobs", params={"queue": queue, "per_page": "2", "page": "2"})
    assert page.status_code == 200
    assert page.headers["X-WP-Total"] == "5" and page.headers["X-WP-TotalPages"] == "3"
    assert [job["id"] for job in page.json()] == list(reversed(ids))[2:4]  # newest first
    queued = api.get("/jobs", params={"queue": queue, "status": "queued", "per_page": "100"}).json()
    assert sorted(job["id"] for job in queued) == sorted(ids)
    assert api.get("/jobs", params={"queue": queue, "status": "completed"}).json() == []


def test_cancel_then_cancel_again(api: Api) -> None:
    job_id = create(api, type="api_sync", payload={"url": "http://127.0.0.1:9/"}, delay=3600)
    cancelled = api.delete(f"/jobs/{job_id}")
    assert cancelled.status_code == 200
    assert cancelled.json() == {"success": True, "job_id": job_id, "message": "Job cancelled successfully."}
    assert api.get(f"/jobs/{job_id}").json()["status"] == "cancelled"
    again = api.delete(f"/jobs/{job_id}")
    assert again.status_code == 404 and again.json()["code"] == "job_not_found_or_not_cancellable"


def test_clear_a_queue(api: Api) -> None:
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    ids = [
        create(api, type="api_sync", queue=queue, payload={"url": "http://127.0.0.1:9/"}, delay=3600) for _ in range(3)
    ]
    cleared = api.post(f"/queues/{queue}/clear")
    assert cleared.status_code == 200
    assert cleared.json()["message"] == f'Queue "{queue}" cleared successfully.'
    assert {api.get(f"/jobs/{job_id}").json()["status"] for job_id in ids} == {"cancelled"}
