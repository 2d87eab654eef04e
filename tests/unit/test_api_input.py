"""Request bodies as the plugin accepts them, and errors that name the field."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from api_input import WorkerTriggerRequest, new_job, parse_body, parse_form

from relayq.domain.errors import InvalidInput, PayloadTooLarge
from relayq.http.errors import error_body
from relayq.http.validation import validate

LIMIT = 10_000


def test_json_and_form_bodies() -> None:
    assert parse_body('{"type":"x"}', "application/json", max_bytes=LIMIT) == {"type": "x"}
    assert parse_body('{"type":"x"}', None, max_bytes=LIMIT) == {"type": "x"}
    assert parse_body("", "application/json", max_bytes=LIMIT) == {}
    assert parse_body(None, None, max_bytes=LIMIT) == {}
    form = parse_body("type=x&priority=5", "application/x-www-form-urlencoded; charset=UTF-8", max_bytes=LIMIT)
    assert form == {"type": "x", "priority": "5"}
    assert parse_body("eyJ0eXBlIjoieCJ9", "application/json", is_base64=True, max_bytes=LIMIT) == {"type": "x"}


def test_form_brackets() -> None:
    assert parse_form("queues[]=a&queues[]=b&max_jobs=5") == {"queues": ["a", "b"], "max_jobs": "5"}
    assert parse_form("payload[to]=a%40b.c&payload[meta][k]=v") == {"payload": {"to": "a@b.c", "meta": {"k": "v"}}}
    curl = quote('payload[{"to":"admin@example.com","subject":"Hi"}]')
    assert parse_form(f"type=email&{curl}") == {"type": "email", "payload": '{"to":"admin@example.com","subject":"Hi"}'}
    with pytest.raises(InvalidInput):
        parse_form("queues[]=a&queues[x]=b")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("{bad", "invalid JSON"), ("[1]", "must be a JSON object"), ('"text"', "must be a JSON object")],
)
def test_bad_bodies(body: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_body(body, "application/json", max_bytes=LIMIT)


@pytest.mark.parametrize("body", ["\x80abc", "not base64!", "/w=="])  # non-ASCII, not base64, not UTF-8
def test_bad_base64_bodies_are_invalid_input(body: str) -> None:
    """Found by the fuzzing in tests/integration/test_security.py: these escaped as a 500."""
    with pytest.raises(InvalidInput, match="body"):
        parse_body(body, "application/json", is_base64=True, max_bytes=LIMIT)


def test_body_size_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_body('{"a":"' + "x" * LIMIT + '"}', "application/json", max_bytes=LIMIT)


def test_new_job_payload_forms_and_errors() -> None:
    assert new_job({"type": "echo", "payload": '{"a": 1}'}).payload == {"a": 1}
    assert new_job({"type": "echo", "payload": ""}).payload == {}
    assert new_job({"type": "echo", "priority": "7"}).priority == 7
    with pytest.raises(InvalidInput) as error:
        new_job({"type": "echo", "payload": "[1]"})
    assert error.value.data["params"] == {"payload": "Input should be a valid dictionary"}
    with pytest.raises(InvalidInput) as error:
        new_job({"priority": "high"})
    body = error_body(error.value)
    assert body["code"] == "rest_invalid_param" and body["data"]["status"] == 400
    assert set(body["data"]["params"]) == {"type", "priority"}
    assert "type (Field required)" in body["message"]


def test_trigger_request_defaults_and_bounds() -> None:
    assert validate(WorkerTriggerRequest, {}) == WorkerTriggerRequest(queues=["default"], max_jobs=10)
    with pytest.raises(InvalidInput, match="max_jobs"):
        validate(WorkerTriggerRequest, {"max_jobs": 101})
