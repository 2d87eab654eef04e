"""Request bodies of the REST API, as the plugin accepts them: JSON or form-encoded, with the
job payload as an object, a JSON string, ``payload[key]=value`` fields, or the contract's curl form
``--data-urlencode 'payload[{...}]'`` (a field named ``payload[<json>]`` with no value). Every way
in keeps to the same nesting and number limits (``JsonLimits``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from json import JSONDecodeError
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field

from relayq.domain.errors import InvalidInput, PayloadTooLarge
from relayq.domain.models import NewJob, QueueName
from relayq.dynamodb.tokens import Scope
from relayq.http.json_text import JsonLimits, JsonRefused, loads
from relayq.http.validation import validate

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_FIELDS = 1000


def _set_nested(data: dict[str, Any], name: str, path: Sequence[str], value: str, max_depth: int) -> None:
    """``name[a][b]=v`` -> data[name][a][b] = v; ``name[]=v`` appends to a list. The body nests as
    deep as the field has names (``name[a]`` is ``{"name": {"a": v}}``, two levels)."""
    keys = [name, *path]
    if len(keys) > max_depth:
        raise InvalidInput(f"Invalid parameter(s): {name} (nested deeper than {max_depth} levels).")
    target: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if last or keys[depth + 1] == "":
            if last:
                target[key] = value
            else:
                existing = target.setdefault(key, [])
                if not isinstance(existing, list):
                    raise InvalidInput(f"Invalid parameter(s): {name} (mixes a list with other values).")
                existing.append(value)
            return
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise InvalidInput(f"Invalid parameter(s): {name} (mixes an object with other values).")


def _php_lists(value: Any) -> Any:
    """Objects keyed ``0``..``n-1`` in order become lists, as PHP's arrays do (jQuery writes an
    array of objects as ``emails[0][to]=..&emails[1][to]=..``)."""
    if not isinstance(value, dict):
        return value
    items = {key: _php_lists(item) for key, item in value.items()}
    if items and list(items) == [str(index) for index in range(len(items))]:
        return list(items.values())
    return items


def parse_form(text: str, max_depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, strict_parsing=False)
    except ValueError:
        raise InvalidInput(f"Invalid parameter(s): body (more than {MAX_FORM_FIELDS} form fields).") from None
    for key, value in pairs:
        name, bracket, rest = key.partition("[")
        if not bracket:
            data[name] = value
            continue
        inner = rest[:-1] if rest.endswith("]") else rest
        if name == "payload" and inner.startswith("{") and value == "":
            data["payload"] = inner  # the contract's curl form: the JSON object is the field name
            continue
        _set_nested(data, name, inner.split("]["), value, max_depth)
    return {key: _php_lists(value) for key, value in data.items()}


def parse_body(
    body: str | None, content_type: str | None, *, is_base64: bool = False, max_bytes: int, limits: JsonLimits
) -> dict[str, Any]:
    """The request body as a dict: JSON object, or form fields for form content types."""
    if is_base64 and body:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:  # bad base64 (binascii.Error), non-ASCII input, or bytes that are not UTF-8
            raise InvalidInput("Invalid parameter(s): body (not valid UTF-8 text).") from None
    if not body or not body.strip():
        return {}
    if len(body.encode()) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in FORM_TYPES:
        return parse_form(body, limits.max_depth)
    try:
        data = loads(body, limits)
    except JSONDecodeError as error:
        raise InvalidInput(f"Invalid parameter(s): body (invalid JSON: {error.msg} at position {error.pos}).") from None
    except JsonRefused as error:
        raise InvalidInput(f"Invalid parameter(s): body ({error}).") from None
    if not isinstance(data, dict):
        raise InvalidInput("Invalid parameter(s): body (must be a JSON object).")
    return data


def new_job(data: Mapping[str, Any], limits: JsonLimits) -> NewJob:
    """A create request from a parsed body; ``payload`` may also be a JSON text of an object."""
    fields = dict(data)
    payload = fields.get("payload")
    if isinstance(payload, str):
        try:
            fields["payload"] = loads(payload, limits.inner()) if payload.strip() else {}
        except JSONDecodeError:
            raise InvalidInput(
                "Invalid parameter(s): payload (not a valid JSON object).", params={"payload": "invalid JSON"}
            ) from None
        except JsonRefused as error:
            raise InvalidInput(f"Invalid parameter(s): payload ({error}).", params={"payload": str(error)}) from None
    return validate(NewJob, fields)


class WorkerTriggerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queues: list[QueueName] = Field(default_factory=lambda: ["default"], min_length=1, max_length=50)
    max_jobs: int = Field(default=10, ge=1, le=100)


class PurgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    older_than_days: int = Field(default=7, ge=1, le=3650, description="Finished jobs older than this are deleted.")


class CreateTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scope: Scope = "worker"
    rate_limit: int | None = Field(default=None, ge=1, le=100_000)


class CreateUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255, description="The file's name, kept as its S3 metadata.")
    content_type: str = Field(min_length=1, max_length=100, description="The file's type, e.g. `image/png`.")
