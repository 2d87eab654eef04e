"""A request body as the admin page's jQuery sends it: ``$.param`` of an object, which writes
nested objects and arrays PHP style (``payload[to]=..``, ``payload[emails][0][to]=..``,
``payload[headers][]=..``) for WordPress to read back into arrays."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode


def _pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _pairs(f"{prefix}[{key}]", item)]
    if isinstance(value, list):
        # jQuery keeps the index only for objects and arrays inside an array.
        return [
            pair
            for index, item in enumerate(value)
            for pair in _pairs(f"{prefix}[{index if isinstance(item, dict | list) else ''}]", item)
        ]
    if value is None:
        return [(prefix, "")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


def param(data: dict[str, Any]) -> str:
    """``jQuery.param(data)``: the body of ``$.ajax({type: "POST", data})``."""
    return urlencode([pair for key, value in data.items() for pair in _pairs(key, value)])
