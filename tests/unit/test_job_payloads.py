"""The payload models of ``email`` and ``api_sync``: the plugin's field names and forms (and the
admin page's) read into our fields, wp_mail's headers applied, and what goes on the wire."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from relayq.job_types.api_sync import ApiSyncPayload
from relayq.job_types.email import EmailPayload, Subscriber, build_message, fields_of, personalise


def test_the_admin_forms_email_names_and_wp_mails_forms() -> None:
    mail = EmailPayload.model_validate(
        {
            "email_type": "bulk",
            "to": "ada@example.org, bob@example.org",
            "subject": "Hi",
            "message": "Body",
            "headers": {"Reply-To": "help@example.com"},
            "attachments": ["docs/a.pdf", {"key": "docs/b.txt", "filename": "notes.txt"}],
        }
    )
    assert mail.type == "bulk"
    assert mail.to == ["ada@example.org", "bob@example.org"]
    assert mail.headers == ["Reply-To: help@example.com"]
    assert [(a.key, a.filename) for a in mail.attachments] == [("docs/a.pdf", None), ("docs/b.txt", "notes.txt")]
    assert EmailPayload.model_validate({"to": "a@b.co", "headers": "X-A: 1\nX-B: 2\n"}).headers == ["X-A: 1", "X-B: 2"]
    assert EmailPayload.model_validate({}).type == "single"


def test_wp_mail_headers_become_the_messages_fields() -> None:
    message = build_message(
        {
            "to": ["ada@example.org"],
            "subject": "s",
            "message": "<b>hi</b>",
            "headers": [
                "From: Shop <shop@example.com>",
                "Cc: bob@example.org, cy@example.org",
                "Bcc: dee@example.org",
                "Reply-To: help@example.com",
                "Content-Type: text/html; charset=UTF-8",
                "X-Campaign: march",
            ],
        }
    )
    assert message.sender == "shop@example.com"
    assert message.recipients == ["ada@example.org", "bob@example.org", "cy@example.org", "dee@example.org"]
    assert message.reply_to == ["help@example.com"]
    assert (message.message, message.html) == (None, "<b>hi</b>")
    assert message.headers == [("X-Campaign", "march")]
    assert (
        build_message(
            {"to": "a@b.co", "subject": "s", "message": "m", "from": "me@x.co", "headers": ["From: o@x.co"]}
        ).sender
        == "me@x.co"
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (["To: x@example.org"], "To is set by the message itself"),
        (["X-A: one\r\nBcc: evil@example.org"], "line break"),
        (["Bad Name: v"], "not a 'Name: value' header"),
        (["Cc: not-an-address"], "cc.0"),
    ],
)
def test_bad_headers_name_the_header(headers: list[str], reason: str) -> None:
    with pytest.raises((ValueError, ValidationError), match=reason):
        build_message({"to": ["a@example.org"], "subject": "s", "message": "m", "headers": headers})


def test_empty_fields_never_hide_a_default() -> None:
    entry = EmailPayload.model_validate({"type": "bulk", "to": "a@b.co", "subject": "s", "cc": []})
    assert fields_of(entry) == {"to": ["a@b.co"], "subject": "s"}
    assert fields_of(entry, without_to=True) == {"subject": "s"}


def test_the_plugins_placeholders() -> None:
    ada = Subscriber.model_validate({"ID": 1, "user_email": "ada@example.org", "display_name": "Ada"})
    assert (ada.id, ada.email, ada.name) == (1, "ada@example.org", "Ada")
    assert personalise("Dear {name} <{email}>", ada) == "Dear Ada <ada@example.org>"
    assert personalise("Dear {name}", Subscriber.model_validate("bob@example.org")) == "Dear bob@example.org"
    assert personalise(None, ada) is None


def test_the_admin_forms_api_names() -> None:
    call = ApiSyncPayload.model_validate(
        {"operation": "social_media_post", "api_url": "https://httpbin.org/post", "data": '{"message": "Test"}'}
    )
    assert (call.type, str(call.url), call.method, call.data) == (
        "social_media",
        "https://httpbin.org/post",
        "POST",
        {"message": "Test"},
    )
    assert call.request_body() == (b'{"message": "Test"}', "application/json")
    assert ApiSyncPayload.model_validate({"operation": "crm_sync", "api_url": "https://x.example"}).type == "crm"
    assert ApiSyncPayload.model_validate({"url": "https://x.example", "data": " "}).data is None


@pytest.mark.parametrize(
    ("given", "method"),
    [("generic", "GET"), ("analytics", "GET"), ("webhook", "POST"), ("social_media", "POST"), ("crm", "POST")],
)
def test_each_type_has_the_plugins_default_method(given: str, method: str) -> None:
    assert ApiSyncPayload.model_validate({"type": given, "url": "https://x.example"}).method == method


def test_data_goes_as_the_query_string_of_a_get_and_as_the_json_body_of_a_post() -> None:
    get = ApiSyncPayload.model_validate({"url": "https://x.example/a?b=1", "data": {"q": "x y", "f": [1, None]}})
    assert get.request_url() == "https://x.example/a?b=1&q=x+y&f=1&f=null"
    assert get.request_body() == (None, None)
    post = ApiSyncPayload.model_validate({"url": "https://x.example/a", "method": "PUT", "data": [1, 2]})
    assert (post.request_url(), post.request_body()) == ("https://x.example/a", (b"[1, 2]", "application/json"))
    raw = ApiSyncPayload.model_validate({"url": "https://x.example/a", "method": "POST", "body": "plain"})
    assert raw.request_body() == (b"plain", None)
