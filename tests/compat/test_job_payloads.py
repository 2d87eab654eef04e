"""Every ``email`` and ``api_sync`` payload shape of the redis-queue plugin (its job classes and
its admin page's test forms, ../shared/notes/plugin-source-facts.md), sent over HTTP to the local
stack as JSON and as the admin page's jQuery form encoding: the job is accepted, runs in the queue
the plugin's job class names (or the admin page's ``default``), completes, and its result has the
fields the plugin's result has."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devstack.stack import LOCAL_BUCKET
from tests.e2e.test_jobs import aws, finished
from tests.support.jquery_param import param
from tests.support.receiver import Receiver, receiver
from tests.support.stack import Api, StackProcess

__all__ = ["receiver"]  # the fixture

ENCODINGS = ("json", "form")
# What the admin page's submitTestJob adds to its form's fields.
ADMIN = {"priority": 10, "queue": "default"}


def send(api: Api, encoding: str, request: dict[str, Any]) -> dict[str, Any]:
    """POST /jobs as a client sends it; the finished job as GET /jobs/{id} shows it."""
    if encoding == "json":
        answer = api.post("/jobs", json=request)
    else:
        answer = api.post("/jobs", data=param(request), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["success"] is True and answer.json()["job_id"]
    return finished(api, answer.json()["job_id"])


def completed(job: dict[str, Any], queue: str) -> dict[str, Any]:
    assert job["status"] == "completed", job
    assert job["queue"] == queue, job
    return job["result"]  # type: ignore[no-any-return]


def address(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


# --- email: the job class's shapes -------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_single_email_with_headers_and_an_attachment(api: Api, stack: StackProcess, encoding: str) -> None:
    key = f"attachments/{uuid.uuid4().hex}.txt"
    aws(stack, "s3").put_object(Bucket=LOCAL_BUCKET, Key=key, Body=b"the attached notes")
    to = address("single")
    payload = {
        "type": "single",
        "to": to,
        "subject": "Single",
        "message": "<p>Hello</p>",
        "headers": ["Content-Type: text/html; charset=UTF-8", f"Cc: {address('cc')}", "X-Campaign: compat"],
        "attachments": [key],
    }
    job = send(api, encoding, {"type": "email", "payload": payload})
    assert (job["priority"], job["timeout"]) == (20, 120)  # the plugin's Email_Job defaults
    result = completed(job, "email")
    assert result["sent"] is True and result["to"] == [to]
    assert result["message_id"] and result["recipients"] == 2


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_bulk_with_a_bad_entry_sends_the_others(api: Api, encoding: str) -> None:
    first, second = address("bulk1"), address("bulk2")
    emails = [
        {"to": first, "subject": "One", "message": "first", "headers": ["X-Batch: 1"]},
        {"to": "not-an-address", "subject": "Two", "message": "second"},
        {"to": second, "subject": "Three", "message": "third"},
    ]
    result = completed(send(api, encoding, {"type": "email", "payload": {"type": "bulk", "emails": emails}}), "email")
    assert {k: result[k] for k in ("total", "sent", "failed")} == {"total": 3, "sent": 2, "failed": 1}
    assert [failure["to"] for failure in result["failures"]] == ["not-an-address"]
    assert result["failures"][0]["reason"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_newsletter_to_all_subscribers_and_to_some(api: Api, encoding: str) -> None:
    """The local deployment's subscriber list (devstack.stack.LOCAL_SUBSCRIBERS) has two users."""
    newsletter = {"type": "newsletter", "subject": "News", "message": "Dear {name}", "headers": ["X-List: news"]}
    everyone = completed(send(api, encoding, {"type": "email", "payload": newsletter}), "email")
    assert {k: everyone[k] for k in ("total", "sent", "failed", "failures")} == {
        "total": 2,
        "sent": 2,
        "failed": 0,
        "failures": [],
    }
    some = {**newsletter, "subscriber_ids": [2]}
    chosen = completed(send(api, encoding, {"type": "email", "payload": some}), "email")
    assert (chosen["total"], chosen["sent"], chosen["failed"], chosen["subject"]) == (1, 1, 0, "News")


# --- email: the admin page's test form ---------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("email_type", ["single", "bulk", "newsletter"])
def test_the_admin_pages_email_form(api: Api, encoding: str, email_type: str) -> None:
    form = {
        "email_type": email_type,
        "to": address("admin"),
        "subject": "Test Email from Redis Queue",
        "message": "This is a test email sent through the Redis queue system.",
    }
    result = completed(send(api, encoding, {"type": "email", "payload": form, **ADMIN}), "default")
    assert result["email_type"] == email_type
    if email_type == "single":
        assert result["sent"] is True and result["to"] == [form["to"]]
    else:
        assert (result["total"], result["sent"], result["failed"], result["failures"]) == (1, 1, 0, [])


# --- api_sync: the job class's shapes ----------------------------------------------------------------

DATA = {"order": "42", "note": "from the compat suite"}  # strings: a form sends every value as text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_webhook_posts_its_data_as_the_json_body(api: Api, receiver: Receiver, encoding: str) -> None:
    payload = {"type": "webhook", "url": receiver.url("/hook"), "headers": {"X-Token": "t1"}, "data": DATA}
    job = send(api, encoding, {"type": "api_sync", "payload": payload})
    assert (job["priority"], job["timeout"]) == (40, 300)  # the plugin's API_Sync_Job defaults
    result = completed(job, "api")
    assert (result["url"], result["method"], result["response_code"]) == (receiver.url("/hook"), "POST", 200)
    assert json.loads(result["response_body"]) == {"stored": True}
    [request] = receiver.requests_to("/hook")
    assert (request["method"], request["body"], request["content_type"], request["token"]) == (
        "POST",
        DATA,
        "application/json",
        "t1",
    )


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_generic_call_gets_with_its_data_as_the_query(api: Api, receiver: Receiver, encoding: str) -> None:
    payload = {"url": receiver.url("/items"), "method": "GET", "headers": {"X-Token": "t2"}, "data": {"page": "2"}}
    result = completed(send(api, encoding, {"type": "api_sync", "payload": payload}), "api")
    assert (result["method"], result["response_code"], result["url"]) == ("GET", 200, receiver.url("/items?page=2"))
    [request] = receiver.requests_to("/items")
    assert (request["method"], request["query"], request["body"], request["token"]) == ("GET", "page=2", None, "t2")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_generic_post_sends_its_data(api: Api, receiver: Receiver, encoding: str) -> None:
    payload = {"type": "generic", "url": receiver.url("/sync"), "method": "POST", "data": DATA}
    result = completed(send(api, encoding, {"type": "api_sync", "payload": payload}), "api")
    assert (result["method"], result["response_code"]) == ("POST", 200)
    assert [r["body"] for r in receiver.requests_to("/sync")] == [DATA]


# --- api_sync: the admin page's test form ------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("operation", ["social_media_post", "crm_sync", "webhook"])
def test_the_admin_pages_api_form(api: Api, receiver: Receiver, encoding: str, operation: str) -> None:
    form = {
        "operation": operation,
        "api_url": receiver.url("/post"),
        "data": '{"message": "Test API sync from Redis Queue"}',
    }
    result = completed(send(api, encoding, {"type": "api_sync", "payload": form, **ADMIN}), "default")
    assert (result["url"], result["method"], result["response_code"]) == (receiver.url("/post"), "POST", 200)
    assert result["response_body"]
    [request] = receiver.requests_to("/post")
    assert request["body"] == {"message": "Test API sync from Redis Queue"}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_unknown_field_is_refused_by_name(api: Api, encoding: str) -> None:
    request = {"type": "email", "payload": {"to": "a@example.org", "subject": "s", "message": "m", "bcc_list": "x"}}
    if encoding == "json":
        answer = api.post("/jobs", json=request)
    else:
        answer = api.post("/jobs", data=param(request), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "rest_invalid_param" and "bcc_list" in answer.json()["message"]
