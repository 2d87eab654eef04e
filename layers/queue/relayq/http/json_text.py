"""JSON from a request, within limits: how deep it nests and how long its numbers are.

``json.loads`` recurses in C once per level (a body nested 100,000 deep raises RecursionError)
and converts integers with ``int()`` (5,000 digits raise ValueError past
``sys.get_int_max_str_digits()``): both would be a 500. The depth is counted before parsing,
without recursion, from the brackets outside strings; numbers are checked as the parser meets
them. What JSON cannot hold (``NaN``, ``Infinity``, a float that overflows) is refused too: the
value would come back out of the API as invalid JSON."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Any

from relayq.settings import Settings

# A JSON string (escapes included), or an unterminated one to the end of the text (possessive, so
# the scan stays linear whatever the quotes and backslashes). The parser meets every quote outside
# a string where this does, so the brackets left are the ones it would nest into, up to its
# first error.
_STRING = re.compile(r'"(?:[^"\\]++|\\.?)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonRefused(ValueError):
    """Valid JSON syntax that is refused: too deep, a number too long, or no JSON number."""


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int
    max_number_digits: int

    @classmethod
    def of(cls, settings: Settings) -> JsonLimits:
        return cls(settings.api_max_json_depth, settings.api_max_json_number_digits)

    def inner(self) -> JsonLimits:
        """For a JSON text that sits one level inside a body (a ``payload`` sent as a string), so
        its nesting counts the same as sent as an object."""
        return replace(self, max_depth=self.max_depth - 1)


def depth(text: str) -> int:
    """How deep ``text`` nests: the most brackets open at once, strings left out."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def loads(text: str, limits: JsonLimits) -> Any:
    """``json.loads`` within ``limits``; JsonRefused past them, json.JSONDecodeError for bad syntax."""
    if depth(text) > limits.max_depth:
        raise JsonRefused(f"nested deeper than {limits.max_depth} levels")

    def number(token: str) -> None:
        if sum(ch.isdigit() for ch in token) > limits.max_number_digits:
            raise JsonRefused(f"a number longer than {limits.max_number_digits} digits")

    def parse_int(token: str) -> int:
        number(token)
        return int(token)

    def parse_float(token: str) -> float:
        number(token)
        value = float(token)
        if not math.isfinite(value):
            raise JsonRefused(f"the number {token[:20]} is out of range")
        return value

    def parse_constant(name: str) -> float:
        raise JsonRefused(f"{name} is not a JSON value")

    return json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
