"""JSON within limits: depth counted without recursion (strings and escapes left out), numbers
checked as they are parsed, and syntax errors left to ``json``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayq.http.json_text import JsonLimits, JsonRefused, depth, loads
from relayq.settings import Settings

LIMITS = JsonLimits(max_depth=5, max_number_digits=25)


def nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@given(values)
def test_depth_is_the_nesting_of_the_value(value: Any) -> None:
    assert depth(json.dumps(value)) == nesting(value)
    assert depth(json.dumps(value, indent=2, ensure_ascii=False)) == nesting(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [{}]}', 3),
        ('["[[[", "}}}"]', 1),
        (r'["\"[[", "\\", {"\\\"": "]"}]', 2),
        ('"' + "[" * 10, 0),  # an unterminated string: the parser fails there, nothing nests after it
        ('[[["\\', 3),
    ],
)
def test_brackets_inside_strings_do_not_count(text: str, expected: int) -> None:
    assert depth(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * 50_000 + "]" * 50_000,
        "[" * 100_000,  # unclosed too: refused for its depth before the parser sees it
        '{"a": [[[[[1]]]]]}',
    ],
)
def test_too_deep_is_refused_before_the_parser_recurses(text: str) -> None:
    with pytest.raises(JsonRefused, match="nested deeper than 5 levels"):
        loads(text, LIMITS)


def test_a_pathological_string_is_scanned_in_linear_time() -> None:
    """Every escaped quote could start a new string scan; the possessive pattern never rescans."""
    text = '"' + '\\"' * 300_000
    assert depth(text) == 0


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("9" * 5000, "longer than 25 digits"),
        ("-" + "9" * 26, "longer than 25 digits"),
        ("1." + "0" * 30, "longer than 25 digits"),
        ("1e400", "out of range"),
        ("-1e400", "out of range"),
        ("NaN", "not a JSON value"),
        ("Infinity", "not a JSON value"),
        ("-Infinity", "not a JSON value"),
    ],
)
def test_numbers_past_the_limit_are_refused(number: str, reason: str) -> None:
    with pytest.raises(JsonRefused, match=reason):
        loads(f'{{"n": [{number}]}}', LIMITS)


def test_values_within_the_limits_parse_as_json_does() -> None:
    text = '{"a": [[[{"n": -1234567890123456789012345, "f": 1.5e300, "s": "[[[[[[[[", "t": true}]]]}'
    assert loads(text, LIMITS) == json.loads(text)
    assert loads(" 7 ", LIMITS) == 7


def test_syntax_errors_stay_json_errors() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads('{"a": ', LIMITS)


def test_a_text_inside_a_body_has_one_level_less() -> None:
    assert LIMITS.inner() == JsonLimits(max_depth=4, max_number_digits=25)
    defaults = JsonLimits.of(Settings())
    assert (defaults.max_depth, defaults.max_number_digits) == (32, 100)
