"""The built-in job types against moto (SES, S3) and a local HTTP server: what they send or
write, and how each failure ends (failed at once, or retried)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from PIL import Image

from devstack.http_recorder import FakeApi
from relayq.domain.clock import to_text
from relayq.domain.errors import InvalidInput
from relayq.domain.models import NewJob
from relayq.domain.registry import JobRegistry
from relayq.job_types import BUILT_IN
from relayq.services.jobs import JobService
from tests.support.clock import FakeClock
from tests.support.outbound import allow_api_sync

SENDER = "queue@example.com"
BUCKET = "relayq-images"


@pytest.fixture(autouse=True)
def _built_in(registry: JobRegistry) -> Iterator[None]:
    # The built-in types read these settings (QUEUE_EMAIL_FROM, ...) from their registry's.
    overrides = {"email_from": SENDER, "images_bucket": BUCKET, "api_sync_max_response_bytes": 1000}
    registry.settings = registry.settings.model_copy(update=overrides)
    for cls in BUILT_IN:
        registry.register(cls)
    yield


def run_one(service: JobService, request: NewJob) -> Any:
    job = service.create(request)
    service.process([job.queue], 1)
    return service.get(job.id)


# --- email ---------------------------------------------------------------------------------------


@pytest.fixture
def ses(aws: None) -> Any:
    client = boto3.client("ses")
    client.verify_email_identity(EmailAddress=SENDER)
    return client


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_email_is_sent_through_ses(service: JobService, ses: Any) -> None:
    payload = {
        "to": "ada@example.org",
        "cc": ["bob@example.org"],
        "bcc": "eve@example.org",
        "reply_to": "help@example.com",
        "subject": "Welcome",
        "message": "Hello Ada",
        "html": "<p>Hello Ada</p>",
    }
    job = run_one(service, NewJob(type="email", payload=payload))
    assert job.status == "completed", job.error_message
    assert job.result["from"] == SENDER and job.result["recipients"] == 3
    [message] = sent_messages()
    assert message.id == job.result["message_id"]
    assert message.source == SENDER and message.subject == "Welcome"
    assert message.destinations == {
        "ToAddresses": ["ada@example.org"],
        "CcAddresses": ["bob@example.org"],
        "BccAddresses": ["eve@example.org"],
    }
    assert ses.get_send_quota()["SentLast24Hours"] == 3


def test_email_with_an_unverified_sender_fails_at_once(service: JobService, ses: Any) -> None:
    job = run_one(
        service,
        NewJob(
            type="email",
            payload={"to": "a@example.org", "subject": "s", "message": "m", "from": "stranger@example.net"},
        ),
    )
    assert job.status == "failed" and job.attempts == 1
    assert "MessageRejected" in (job.error_message or "")
    assert sent_messages() == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"to": "not-an-address", "subject": "s", "message": "m"}, "to.0"),
        ({"to": "a@example.org", "subject": "s"}, "message"),
        ({"to": [], "subject": "s", "message": "m"}, "to"),
        ({"to": "a@example.org", "subject": "s", "message": "m", "cc": ["x@"]}, "cc.0"),
    ],
)
def test_bad_email_payloads_are_refused_at_enqueue(service: JobService, payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        service.create(NewJob(type="email", payload=payload))
    assert service.lengths().pending == {}


# --- image_processing ----------------------------------------------------------------------------


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 30, 30, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_variants_are_written_back_to_s3(service: JobService, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="photos/cat.png", Body=png(800, 600))
    variants = [
        {"name": "thumb", "width": 100, "height": 100, "mode": "crop", "format": "JPEG"},
        {"name": "small", "width": 400, "height": 400},
    ]
    job = run_one(service, NewJob(type="image_processing", payload={"key": "photos/cat.png", "variants": variants}))
    assert job.status == "completed", job.error_message
    assert job.result["source"] == {"key": "photos/cat.png", "width": 800, "height": 600, "format": "PNG"}
    thumb, small = job.result["variants"]
    assert (thumb["key"], thumb["width"], thumb["height"]) == ("photos/cat-thumb.jpg", 100, 100)
    assert (small["key"], small["width"], small["height"]) == ("photos/cat-small.png", 400, 300)
    for variant in (thumb, small):
        stored = s3.get_object(Bucket=BUCKET, Key=variant["key"])
        assert stored["ContentType"] == variant["content_type"]
        data = stored["Body"].read()
        assert len(data) == variant["bytes"]
        assert Image.open(io.BytesIO(data)).size == (variant["width"], variant["height"])


def test_default_variants(service: JobService, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="a.png", Body=png(2000, 1000))
    job = run_one(service, NewJob(type="image_processing", payload={"key": "a.png"}))
    sizes = {v["name"]: (v["width"], v["height"]) for v in job.result["variants"]}
    # The plugin's default: WordPress' four sizes (medium_large: 768 wide, any height).
    assert sizes == {"thumbnail": (150, 150), "medium": (300, 150), "medium_large": (768, 384), "large": (1024, 512)}


def test_a_missing_image_fails_at_once(service: JobService, s3: Any) -> None:
    job = run_one(service, NewJob(type="image_processing", payload={"key": "nope.png"}))
    assert job.status == "failed" and job.attempts == 1
    assert job.error_message == f"Image not found: s3://{BUCKET}/nope.png"


def test_a_file_that_is_not_an_image_fails_at_once(service: JobService, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="notes.png", Body=b"this is text, not a picture")
    job = run_one(service, NewJob(type="image_processing", payload={"key": "notes.png"}))
    assert job.status == "failed" and job.attempts == 1
    assert "is not a readable image" in (job.error_message or "")


def test_a_missing_bucket_fails_at_once(service: JobService, s3: Any) -> None:
    job = run_one(service, NewJob(type="image_processing", payload={"key": "a.png", "bucket": "no-such-bucket"}))
    assert job.status == "failed" and "not found" in (job.error_message or "")


def test_bad_image_payloads_are_refused_at_enqueue(service: JobService) -> None:
    with pytest.raises(InvalidInput, match=r"variants\.0\.width"):
        service.create(
            NewJob(
                type="image_processing",
                payload={"key": "a.png", "variants": [{"name": "x", "width": 9999, "height": 5}]},
            )
        )


# --- api_sync ------------------------------------------------------------------------------------


@pytest.fixture
def api(registry: JobRegistry) -> Iterator[FakeApi]:
    server = FakeApi().start()
    allow_api_sync(registry, server.url)  # internal addresses are refused unless allow-listed
    yield server
    server.stop()


def test_api_call_records_status_and_json_body(service: JobService, api: FakeApi) -> None:
    payload = {"url": f"{api.url}/ok", "method": "POST", "headers": {"X-Token": "t1"}, "body": {"n": 1}}
    job = run_one(service, NewJob(type="api_sync", payload=payload))
    assert job.status == "completed", job.error_message
    assert job.result["status"] == 200 and job.result["truncated"] is False
    assert job.result["body"] == {"method": "POST", "body": '{"n": 1}', "token": "t1"}
    assert api.requests[0]["headers"]["Content-Type"] == "application/json"


def test_a_large_response_is_cut_to_the_limit(service: JobService, api: FakeApi) -> None:
    job = run_one(service, NewJob(type="api_sync", payload={"url": f"{api.url}/big"}))
    assert job.result["truncated"] is True and job.result["body"] == "x" * 1000


def test_a_4xx_answer_fails_at_once(service: JobService, api: FakeApi) -> None:
    job = run_one(service, NewJob(type="api_sync", payload={"url": f"{api.url}/missing"}))
    assert job.status == "failed" and job.attempts == 1
    assert "HTTP 404" in (job.error_message or "") and "no such thing" in (job.error_message or "")


def test_a_5xx_answer_is_retried_after_its_retry_after(service: JobService, api: FakeApi, clock: FakeClock) -> None:
    job = run_one(service, NewJob(type="api_sync", payload={"url": f"{api.url}/busy"}))
    assert job.status == "queued" and job.attempts == 1
    assert job.delay_until == to_text(clock() + 7000)
    assert "HTTP 503" in (job.error_message or "")


def test_a_429_with_a_far_http_date_is_retried_within_a_day(
    service: JobService, api: FakeApi, clock: FakeClock
) -> None:
    job = run_one(service, NewJob(type="api_sync", payload={"url": f"{api.url}/throttled"}))
    assert job.status == "queued" and job.delay_until == to_text(clock() + 86_400_000)


def test_a_timeout_is_retried(service: JobService, api: FakeApi) -> None:
    job = run_one(service, NewJob(type="api_sync", payload={"url": f"{api.url}/slow", "timeout": 0.2}))
    assert job.status == "queued" and job.attempts == 1
    assert "Timeout" in (job.error_message or "")


def test_an_unreachable_host_is_retried(service: JobService, registry: JobRegistry) -> None:
    from devstack.redis_server import free_port

    url = f"http://127.0.0.1:{free_port()}/x"
    allow_api_sync(registry, url)
    job = run_one(service, NewJob(type="api_sync", payload={"url": url}))
    assert job.status == "queued" and job.attempts == 1


def test_bad_api_payloads_are_refused_at_enqueue(service: JobService) -> None:
    with pytest.raises(InvalidInput, match="url"):
        service.create(NewJob(type="api_sync", payload={"url": "ftp://example.com/x"}))
    with pytest.raises(InvalidInput, match="method"):
        service.create(NewJob(type="api_sync", payload={"url": "https://example.com", "method": "BREW"}))
