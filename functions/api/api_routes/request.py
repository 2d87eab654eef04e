"""What the routes read from the request beyond Powertools' parameters: the body (JSON or form,
within the size, nesting and number limits) and the authorizer's context (the token's id and rate limit)."""

from __future__ import annotations

from typing import Any

from api_input import parse_body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from relayq.container import container
from relayq.http.json_text import JsonLimits


def json_limits() -> JsonLimits:
    return JsonLimits.of(container().settings)


def request_body(event: APIGatewayProxyEvent) -> dict[str, Any]:
    return parse_body(
        event.body,
        event.headers.get("content-type"),
        is_base64=bool(event.is_base64_encoded),
        max_bytes=container().settings.api_max_body_bytes,
        limits=json_limits(),
    )


def authorizer_context(event: APIGatewayProxyEvent) -> dict[str, Any]:
    context: dict[str, Any] = event.get("requestContext") or {}
    return dict(context.get("authorizer") or {})
