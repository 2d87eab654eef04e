"""The API tokens (full scope; the dashboard's token page): list, create, revoke."""

from __future__ import annotations

from typing import Any

from api_input import CreateTokenRequest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api_routes.request import request_body
from relayq.container import container
from relayq.http.responses import json_response
from relayq.http.validation import validate

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.get("/tokens", summary="List API tokens (never their secrets)", tags=["tokens"])
def list_tokens() -> dict[str, Any]:
    return {"success": True, "data": [t.model_dump() for t in container().tokens.list()]}


@router.post("/tokens", summary="Create an API token; its secret is shown only in this answer", tags=["tokens"])
def create_token() -> Response[Any]:
    request = validate(CreateTokenRequest, request_body(router.current_event))
    created = container().tokens.create(request.name, request.scope, request.rate_limit)
    body = {
        "success": True,
        "token": created.token,
        "data": created.info.model_dump(),
        "message": "Token created. Store it now: it is not shown again.",
    }
    return json_response(201, body)


@router.delete("/tokens/<token_id>", summary="Revoke an API token", tags=["tokens"])
def revoke_token(token_id: str) -> dict[str, Any]:
    info = container().tokens.revoke(token_id)
    return {"success": True, "data": info.model_dump(), "message": "Token revoked."}
