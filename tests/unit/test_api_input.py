"""Request bodies as the plugin accepts them, and errors that name the field."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from api_input import WorkerTriggerRequest, new_job, parse_body, parse_form

from relayq.domain.errors import InvalidInput, PayloadTooLarge
from relayq.http.errors import error_body
from relayq.http.json_text import JsonLimits
from relayq.http.validation import validate

LIMIT = 10_000
LIMITS = JsonLimits(max_depth=4, max_number_digits=30)
FORM = "application/x-www-form-urlencoded"


def body_of(text: str | None, content_type: str | None = "application/json", **options: bool) -> dict[str, object]:
    return parse_body(text, content_type, max_bytes=2 * 1024 * 1024, limits=LIMITS, **options)


def test_json_and_form_bodies() -> None:
    assert body_of('{"type":"x"}') == {"type": "x"}
    assert body_of('{"type":"x"}', None) == {"type": "x"}
    assert body_of("") == {}
    assert body_of(None, None) == {}
    assert body_of("type=x&priority=5", f"{FORM}; charset=UTF-8") == {"type": "x", "priority": "5"}
    assert body_of("eyJ0eXBlIjoieCJ9", is_base64=True) == {"type": "x"}


def test_form_brackets() -> None:
    assert parse_form("queues[]=a&queues[]=b&max_jobs=5", 4) == {"queues": ["a", "b"], "max_jobs": "5"}
    nested = parse_form("payload[to]=a%40b.c&payload[meta][k]=v", 4)
    assert nested == {"payload": {"to": "a@b.c", "meta": {"k": "v"}}}
    curl = quote('payload[{"to":"admin@example.com","subject":"Hi"}]')
    expected = {"type": "email", "payload": '{"to":"admin@example.com","subject":"Hi"}'}
    assert parse_form(f"type=email&{curl}", 4) == expected
    with pytest.raises(InvalidInput):
        parse_form("queues[]=a&queues[x]=b", 4)


def test_the_admin_pages_jquery_form_fields_nest_as_php_reads_them() -> None:
    """jQuery's $.param writes an array of objects with indexes (``emails[0][to]``); PHP reads
    index keys 0..n-1 as a list, so a bulk sent by the admin page's code has ``emails`` as a list."""
    form = (
        "type=email&payload[type]=bulk&payload[emails][0][to]=a%40b.c&payload[emails][0][subject]=A"
        "&payload[emails][1][to]=c%40d.e&payload[emails][1][subject]=C&payload[headers][]=X-A%3A+1"
        "&payload[meta][0x]=v&priority=10&queue=default"
    )
    assert parse_form(form, 8) == {
        "type": "email",
        "payload": {
            "type": "bulk",
            "emails": [{"to": "a@b.c", "subject": "A"}, {"to": "c@d.e", "subject": "C"}],
            "headers": ["X-A: 1"],
            "meta": {"0x": "v"},
        },
        "priority": "10",
        "queue": "default",
    }
    assert parse_form("payload[ids][1]=a&payload[ids][0]=b", 8) == {"payload": {"ids": {"1": "a", "0": "b"}}}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("{bad", "invalid JSON"), ("[1]", "must be a JSON object"), ('"text"', "must be a JSON object")],
)
def test_bad_bodies(body: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        body_of(body)


@pytest.mark.parametrize("body", ["\x80abc", "not base64!", "/w=="])  # non-ASCII, not base64, not UTF-8
def test_bad_base64_bodies_are_invalid_input(body: str) -> None:
    """Found by the fuzzing in tests/integration/test_security.py: these escaped as a 500."""
    with pytest.raises(InvalidInput, match="body"):
        body_of(body, is_base64=True)


def test_body_size_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_body('{"a":"' + "x" * LIMIT + '"}', "application/json", max_bytes=LIMIT, limits=LIMITS)


def test_new_job_payload_forms_and_errors() -> None:
    assert new_job({"type": "echo", "payload": '{"a": 1}'}, LIMITS).payload == {"a": 1}
    assert new_job({"type": "echo", "payload": ""}, LIMITS).payload == {}
    assert new_job({"type": "echo", "priority": "7"}, LIMITS).priority == 7
    with pytest.raises(InvalidInput) as error:
        new_job({"type": "echo", "payload": "[1]"}, LIMITS)
    assert error.value.data["params"] == {"payload": "Input should be a valid dictionary"}
    with pytest.raises(InvalidInput) as error:
        new_job({"priority": "high"}, LIMITS)
    body = error_body(error.value)
    assert body["code"] == "rest_invalid_param" and body["data"]["status"] == 400
    assert set(body["data"]["params"]) == {"type", "priority"}
    assert "type (Field required)" in body["message"]


# Depth 4: the body, payload, a, b. One more level is refused, in every way a body nests.
@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ('{"payload": {"a": {"b": {"c": {}}}}}', "application/json"),
        ('{"payload": {"a": [[[1]]]}}', "application/json"),
        ("payload[a][b][c][d]=1", FORM),
        ("payload[a][b][c][]=1", FORM),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "application/json"),
        ("[" * 50_000 + "]" * 50_000, "application/json"),
        ("payload" + "[a]" * 50_000 + "=1", FORM),
    ],
)
def test_bodies_nested_past_the_limit_are_invalid_input(text: str, content_type: str) -> None:
    with pytest.raises(InvalidInput, match="nested deeper than 4 levels"):
        body_of(text, content_type)


def test_bodies_at_the_depth_limit_are_read() -> None:
    assert body_of('{"payload": {"a": {"b": {"c": 1}}}}') == {"payload": {"a": {"b": {"c": 1}}}}
    assert body_of('{"payload": {"a": ["[[[[", {"b": "]]]"}]}}')["payload"] == {"a": ["[[[[", {"b": "]]]"}]}
    assert body_of("payload[a][b][c]=1", FORM) == {"payload": {"a": {"b": {"c": "1"}}}}
    assert body_of("payload[a][b][]=1", FORM) == {"payload": {"a": {"b": ["1"]}}}


@pytest.mark.parametrize(
    "payload",
    ['{"a": {"b": {"c": {}}}}', '{"a": {"b": [[1]]}}', '{"a":' * 100_000 + "1" + "}" * 100_000],
)
def test_a_payload_sent_as_json_text_nests_as_deep_as_one_sent_as_an_object(payload: str) -> None:
    """The payload sits one level inside the body: its own text may nest one level less."""
    with pytest.raises(InvalidInput, match="nested deeper than 3 levels") as error:
        new_job({"type": "echo", "payload": payload}, LIMITS)
    assert set(error.value.data["params"]) == {"payload"}
    assert new_job({"type": "echo", "payload": '{"a": {"b": {"c": 1}}}'}, LIMITS).payload == {"a": {"b": {"c": 1}}}


@pytest.mark.parametrize(
    "number", ["9" * 5000, "-" + "1" * 31, "0." + "0" * 40 + "1", "1e400", "NaN", "Infinity", "-Infinity"]
)
def test_huge_numbers_are_invalid_input_in_a_body_and_in_a_payload_text(number: str) -> None:
    with pytest.raises(InvalidInput, match="body"):
        body_of('{"type": "echo", "payload": {"n": ' + number + "}}")
    with pytest.raises(InvalidInput, match="payload"):
        new_job({"type": "echo", "payload": '{"n": ' + number + "}"}, LIMITS)


def test_trigger_request_defaults_and_bounds() -> None:
    assert validate(WorkerTriggerRequest, {}) == WorkerTriggerRequest(queues=["default"], max_jobs=10)
    with pytest.raises(InvalidInput, match="max_jobs"):
        validate(WorkerTriggerRequest, {"max_jobs": 101})
