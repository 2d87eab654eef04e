"""API Gateway's Gateway Responses: the answers API Gateway itself gives (401, 403, 5xx), with the
bodies and headers template.yaml declares for them, rendered as API Gateway renders them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Response type -> (status, default message), and the fallback chain API Gateway applies.
DEFAULTS: dict[str, tuple[int, str | None]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "AUTHORIZER_FAILURE": (500, None),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters"),
    "EXPIRED_TOKEN": (403, "The security token included in the request is expired"),
    "INTEGRATION_FAILURE": (504, None),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "INVALID_SIGNATURE": (403, "Invalid signature"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "RESOURCE_NOT_FOUND": (404, "Not Found"),
    "THROTTLED": (429, "Too Many Requests"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "WAF_FILTERED": (403, "Forbidden"),
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
CONTEXT_VARIABLE = re.compile(r"\$(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_.]+))")


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def render(
    declared: Mapping[str, Any],
    response_type: str,
    *,
    message: str | None,
    context: Mapping[str, Any],
) -> GatewayAnswer:
    """The answer for ``response_type``: the template's declaration for it, else for DEFAULT_4XX /
    DEFAULT_5XX, else API Gateway's default ``{"message": ...}``. ``context`` holds the
    ``$context`` variables (``authorizer`` a dict of the authorizer's context)."""
    status, default_message = DEFAULTS[response_type]
    fallback = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    config = declared.get(response_type) or declared.get(fallback) or {}
    status = int(config.get("StatusCode", status))
    variables = {
        **context,
        "error": {
            "message": message if message is not None else default_message,
            "messageString": json.dumps(message if message is not None else default_message),
            "responseType": response_type,
        },
    }
    template = config.get("ResponseTemplates", {}).get("application/json", DEFAULT_TEMPLATE)
    headers = {"Content-Type": "application/json"}
    for name, value in config.get("ResponseParameters", {}).get("Headers", {}).items():
        headers[name] = _parameter(str(value), variables)
    return GatewayAnswer(status, headers, _substitute(template, variables).encode())


def _lookup(variables: Mapping[str, Any], dotted: str) -> Any:
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    return "" if value is None else value


def _substitute(template: str, variables: Mapping[str, Any]) -> str:
    """VTL's plain ``$context.x`` references, the only VTL that Gateway Response templates need."""

    def replace(match: re.Match[str]) -> str:
        value = _lookup(variables, match.group(1) or match.group(2))
        return value if isinstance(value, str) else json.dumps(value)

    return CONTEXT_VARIABLE.sub(replace, template)


def _parameter(value: str, variables: Mapping[str, Any]) -> str:
    """A response parameter: a quoted literal ``'...'`` or a ``context.x`` reference."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if value.startswith("context."):
        return str(_lookup(variables, value.removeprefix("context.")))
    return value
