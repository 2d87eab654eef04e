"""The built-in job types against moto (SES, S3) and a local HTTP server: what they send or
write, and how each failure ends (failed at once, or retried)."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from PIL import Image

from devstack.http_recorder import FakeApi
from relayq.aws import AwsClients
from relayq.domain.clock import to_text
from relayq.domain.errors import InvalidInput
from relayq.domain.models import NewJob
from relayq.domain.registry import JobRegistry
from relayq.job_types import BUILT_IN
from relayq.job_types.email import EmailJob
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


def test_a_bulk_sends_every_good_message_and_counts_the_bad_ones(service: JobService, ses: Any) -> None:
    """The plugin's bulk: one entry with an invalid address, one SES refuses (an unverified sender)
    and one missing its message are counted as failed; the two good ones are still sent."""
    emails = [
        {"to": "ada@example.org", "subject": "One", "message": "first"},
        {"to": "not-an-address", "subject": "Two", "message": "second"},
        {"to": "bob@example.org", "subject": "Three", "message": "third", "headers": ["From: x@stranger.net"]},
        {"to": "cy@example.org", "subject": "Four"},
        {"to": "dee@example.org", "subject": "Five", "message": "fifth"},
    ]
    job = run_one(service, NewJob(type="email", payload={"type": "bulk", "emails": emails}))
    assert job.status == "completed", job.error_message
    result = job.result
    assert (result["email_type"], result["total"], result["sent"], result["failed"]) == ("bulk", 5, 2, 3)
    assert [f["to"] for f in result["failures"]] == ["not-an-address", "bob@example.org", "cy@example.org"]
    assert "valid email address" in result["failures"][0]["reason"]
    assert "MessageRejected" in result["failures"][1]["reason"]
    assert "message" in result["failures"][2]["reason"]
    assert [(m.subject, m.destinations["ToAddresses"]) for m in sent_messages()] == [
        ("One", ["ada@example.org"]),
        ("Five", ["dee@example.org"]),
    ]
    assert result["message_ids"] == [m.id for m in sent_messages()]


def test_a_bulk_that_sent_nothing_because_ses_was_unreachable_is_retried(
    service: JobService, registry: JobRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing went out, so a retry sends nothing twice: the job waits for its next attempt."""
    from devstack.redis_server import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", f"http://127.0.0.1:{free_port()}")
    registry.aws = AwsClients(Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1))
    registry.register(EmailJob)
    payload = {"type": "bulk", "to": ["ada@example.org", "bob@example.org"], "subject": "Hi", "message": "Body"}
    job = run_one(service, NewJob(type="email", payload=payload))
    assert (job.status, job.attempts, job.result) == ("queued", 1, None)
    assert (job.error_message or "").startswith("no message was sent: SES send_email failed")


def test_a_bulk_stops_sending_near_its_timeout_and_reports_the_rest(service: JobService, ses: Any) -> None:
    """A timeout would retry the whole bulk and send its first messages twice; so the job stops
    5 s before its deadline (here: at once, the timeout is 5 s) and completes with the counts."""
    payload = {"type": "bulk", "to": ["ada@example.org", "bob@example.org"], "subject": "Hi", "message": "Body"}
    job = run_one(service, NewJob(type="email", payload=payload, timeout=5))
    assert job.status == "completed", job.error_message
    assert (job.result["sent"], job.result["failed"]) == (0, 2)
    assert {f["reason"] for f in job.result["failures"]} == {"not sent: the job's timeout was reached"}
    assert sent_messages() == []


def test_a_bulk_without_entries_sends_the_message_to_each_address_alone(service: JobService, ses: Any) -> None:
    payload = {"email_type": "bulk", "to": "ada@example.org, bob@example.org", "subject": "Hi", "message": "Body"}
    job = run_one(service, NewJob(type="email", payload=payload))
    assert (job.result["total"], job.result["sent"], job.result["failed"]) == (2, 2, 0)
    assert [m.destinations["ToAddresses"] for m in sent_messages()] == [["ada@example.org"], ["bob@example.org"]]


def test_a_newsletter_is_personalised_per_subscriber(service: JobService, ses: Any) -> None:
    subscribers = [{"email": "ada@example.org", "name": "Ada"}, "bob@example.org", {"email": "nope"}]
    payload = {"type": "newsletter", "subject": "News", "message": "Dear {name} ({email})", "subscribers": subscribers}
    job = run_one(service, NewJob(type="email", payload=payload))
    assert job.status == "completed", job.error_message
    assert {k: job.result[k] for k in ("email_type", "total", "sent", "failed", "subject")} == {
        "email_type": "newsletter",
        "total": 3,
        "sent": 2,
        "failed": 1,
        "subject": "News",
    }
    assert job.result["failures"][0]["to"] == "nope"
    assert [m.body for m in sent_messages()] == ["Dear Ada (ada@example.org)", "Dear bob@example.org (bob@example.org)"]


def test_a_newsletter_reads_its_subscribers_from_the_configured_list(
    service: JobService, registry: JobRegistry, ses: Any, s3: Any
) -> None:
    """The list as ``wp user list --fields=ID,user_email,display_name --format=json`` prints it."""
    users = [
        {"ID": 1, "user_email": "ada@example.org", "display_name": "Ada"},
        {"ID": 2, "user_email": "bob@example.org", "display_name": "Bob"},
    ]
    s3.put_object(Bucket=BUCKET, Key="lists/subscribers.json", Body=json.dumps(users).encode())
    registry.settings = registry.settings.model_copy(update={"email_subscribers_key": "lists/subscribers.json"})
    registry.register(EmailJob)
    everyone = run_one(
        service, NewJob(type="email", payload={"type": "newsletter", "subject": "S", "message": "Hi {name}"})
    )
    assert (everyone.result["total"], everyone.result["sent"]) == (2, 2)
    assert [m.body for m in sent_messages()] == ["Hi Ada", "Hi Bob"]
    chosen = run_one(
        service,
        NewJob(type="email", payload={"type": "newsletter", "subject": "S", "message": "Hi", "subscriber_ids": [2, 9]}),
    )
    assert (chosen.result["total"], chosen.result["sent"], chosen.result["failed"]) == (2, 1, 1)
    assert chosen.result["failures"] == [{"to": None, "reason": "No subscriber with id 9"}]
    assert sent_messages()[-1].destinations["ToAddresses"] == ["bob@example.org"]


def test_wp_mail_headers_and_an_attachment_from_the_bucket(service: JobService, ses: Any, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="docs/invoice.pdf", Body=b"%PDF-1.4 invoice")
    payload = {
        "to": "ada@example.org",
        "subject": "Invoice",
        "message": "<p>Your invoice</p>",
        "headers": ["Content-Type: text/html; charset=UTF-8", "Cc: bob@example.org", "X-Campaign: march"],
        "attachments": ["docs/invoice.pdf"],
    }
    job = run_one(service, NewJob(type="email", payload=payload))
    assert job.status == "completed", job.error_message
    assert (job.result["sent"], job.result["to"], job.result["recipients"]) == (True, ["ada@example.org"], 2)
    [raw] = sent_messages()
    assert raw.id == job.result["message_id"]
    mime = email.message_from_string(raw.raw_data, policy=email.policy.default)
    assert (mime["To"], mime["Cc"], mime["X-Campaign"], mime["Subject"]) == (
        "ada@example.org",
        "bob@example.org",
        "march",
        "Invoice",
    )
    body = mime.get_body(("html",))
    assert body is not None and "<p>Your invoice</p>" in body.get_content()
    [attached] = list(mime.iter_attachments())
    assert (attached.get_filename(), attached.get_content_type()) == ("invoice.pdf", "application/pdf")
    assert attached.get_content() == b"%PDF-1.4 invoice"


def test_a_missing_attachment_fails_at_once(service: JobService, ses: Any, s3: Any) -> None:
    payload = {"to": "ada@example.org", "subject": "s", "message": "m", "attachments": [{"key": "gone.pdf"}]}
    job = run_one(service, NewJob(type="email", payload=payload))
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error_message == f"Attachment not found: s3://{BUCKET}/gone.pdf"
    assert sent_messages() == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"to": "a@example.org", "subject": "s", "message": "m", "priority": 1}, "priority: Extra inputs"),
        ({"type": "bulk", "emails": [{"to": "a@example.org", "sujet": "s"}]}, "emails.0.sujet: Extra inputs"),
        ({"type": "bulk", "subject": "s"}, "a bulk needs 'emails'"),
        ({"type": "newsletter", "subject": "s"}, "needs a 'subject' and a 'message'"),
        ({"type": "newsletter", "subject": "s", "message": "m"}, "subscribers: required"),
        ({"email_type": "weekly", "to": "a@example.org"}, "type: Input should be 'single', 'bulk' or 'newsletter'"),
        ({"to": "a@example.org", "subject": "s", "message": "m", "headers": ["Subject: x"]}, "headers: Subject"),
        ({"to": "a@example.org", "subject": "s", "message": "m", "headers": ["no colon"]}, "'Name: value'"),
    ],
)
def test_bad_plugin_shaped_email_payloads_are_refused_naming_the_field(
    service: JobService, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        service.create(NewJob(type="email", payload=payload))


# --- per-type defaults (the plugin's job classes) --------------------------------------------------


@pytest.mark.parametrize(
    ("job_type", "payload", "defaults"),
    [
        ("email", {"to": "a@example.org", "subject": "s", "message": "m"}, ("email", 20, 120)),
        ("image_processing", {"key": "a.png"}, ("media", 30, 600)),
        ("api_sync", {"url": "https://example.com/"}, ("api", 40, 300)),
    ],
)
def test_each_type_has_the_plugins_queue_priority_and_timeout(
    service: JobService, job_type: str, payload: dict[str, Any], defaults: tuple[str, int, int]
) -> None:
    job = service.create(NewJob(type=job_type, payload=payload))
    assert (job.queue, job.priority, job.timeout) == defaults
    assert service.lengths().pending == {defaults[0]: 1}
    named = service.create(NewJob(type=job_type, payload=payload, queue="default", priority=10, timeout=60))
    assert (named.queue, named.priority, named.timeout) == ("default", 10, 60)


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


def test_a_webhook_posts_its_data_as_the_json_body(service: JobService, api: FakeApi) -> None:
    payload = {"type": "webhook", "url": f"{api.url}/ok", "headers": {"X-Token": "t2"}, "data": {"order": 42}}
    job = run_one(service, NewJob(type="api_sync", payload=payload))
    assert job.status == "completed", job.error_message
    [request] = api.requests
    assert (request["method"], json.loads(request["body"]), request["headers"]["Content-Type"]) == (
        "POST",
        {"order": 42},
        "application/json",
    )
    assert {k: job.result[k] for k in ("url", "method", "response_code", "sync_type")} == {
        "url": f"{api.url}/ok",
        "method": "POST",
        "response_code": 200,
        "sync_type": "webhook",
    }
    assert json.loads(job.result["response_body"]) == {"method": "POST", "body": '{"order": 42}', "token": "t2"}


def test_a_generic_get_sends_its_data_as_the_query_string(service: JobService, api: FakeApi) -> None:
    payload = {"url": f"{api.url}/ok?page=1", "data": {"q": "a b", "tags": ["x", "y"], "n": 3, "on": True}}
    job = run_one(service, NewJob(type="api_sync", payload=payload))
    assert job.status == "completed", job.error_message
    [request] = api.requests
    assert (request["method"], request["path"], request["body"]) == (
        "GET",
        "/ok?page=1&q=a+b&tags=x&tags=y&n=3&on=true",
        b"",
    )
    assert (job.result["method"], job.result["request_data"]["q"]) == ("GET", "a b")


def test_the_admin_pages_api_form_posts_its_json_text(service: JobService, api: FakeApi) -> None:
    for operation in ("webhook", "social_media_post", "crm_sync"):
        payload = {"operation": operation, "api_url": f"{api.url}/ok", "data": '{"message": "Test API sync"}'}
        job = run_one(service, NewJob(type="api_sync", payload=payload))
        assert job.status == "completed", job.error_message
        assert (api.requests[-1]["method"], json.loads(api.requests[-1]["body"])) == (
            "POST",
            {"message": "Test API sync"},
        )
        assert job.result["response_code"] == 200


def test_an_answer_outside_2xx_that_is_not_retryable_fails_the_webhook(service: JobService, api: FakeApi) -> None:
    job = run_one(service, NewJob(type="api_sync", payload={"type": "webhook", "url": f"{api.url}/missing"}))
    assert (job.status, job.attempts) == ("failed", 1)
    assert "POST" in (job.error_message or "") and "HTTP 404" in (job.error_message or "")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"url": "https://example.com", "colour": "red"}, "colour: Extra inputs"),
        ({"operation": "fax", "api_url": "https://example.com"}, "operation: 'fax' is not one of"),
        ({"operation": "webhook", "type": "crm", "url": "https://example.com"}, "disagree"),
        ({"type": "crm", "crm_system": "hubspot", "url": "https://example.com"}, "crm_system: the plugin's built-in"),
        ({"url": "https://example.com", "data": "{not json"}, "data: not valid JSON text"),
        ({"url": "https://example.com", "data": [1, 2]}, "data: a GET request sends it as its query string"),
        ({"url": "https://example.com", "method": "POST", "data": {}, "body": "x"}, "not both"),
        ({"type": "webhook"}, "url: Field required"),
    ],
)
def test_bad_plugin_shaped_api_payloads_are_refused_naming_the_field(
    service: JobService, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        service.create(NewJob(type="api_sync", payload=payload))


def test_bad_api_payloads_are_refused_at_enqueue(service: JobService) -> None:
    with pytest.raises(InvalidInput, match="url"):
        service.create(NewJob(type="api_sync", payload={"url": "ftp://example.com/x"}))
    with pytest.raises(InvalidInput, match="method"):
        service.create(NewJob(type="api_sync", payload={"url": "https://example.com", "method": "BREW"}))
