"""API Gateway REQUEST authorizer: token -> scope -> allowed route.

No or unknown or revoked token: ``Unauthorized`` (API Gateway's UNAUTHORIZED response, 401
``rest_forbidden``). A valid token whose scope (or the ``token_scope_allow`` hook) refuses the route:
a Deny policy (ACCESS_DENIED, 403 ``rest_forbidden_scope``). Otherwise an Allow policy for exactly
this method and path, with the token's id, scope, name and rate limit as context for the API.
Caching is off in the template, so a policy is never reused for another route.
"""

from __future__ import annotations

from typing import Any

from access_rules import AccessRequest, scope_allows, token_from_request
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from relayq.container import container
from relayq.http.request_log import request_log_fields

logger = Logger()


class Unauthorized(Exception):
    """API Gateway answers 401 when an authorizer fails with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _policy(principal: str, effect: str, arn: str, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}],
        },
        "context": context,
    }


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = event.get("headers") or {}
    query = event.get("queryStringParameters") or {}
    path = str(event.get("path") or "/")
    token, _source = token_from_request(headers, query, path)
    info = container().tokens.authenticate(token) if token else None
    if info is None:
        auth = "token" if token else "none"
        logger.info("request", extra=request_log_fields(event, 401, scope_ok=False, auth=auth))
        raise Unauthorized()
    request = AccessRequest(
        method=str(event.get("httpMethod") or ""),
        path=path,
        source_ip=str((event.get("requestContext") or {}).get("identity", {}).get("sourceIp") or ""),
        headers=headers,
        query={k: v for k, v in query.items() if k != "token"},
        token_id=info.id,
    )
    settings = container().settings
    allowed = scope_allows(info.scope, request, settings.token_allowed_routes, container().hooks)
    principal_context: dict[str, Any] = {
        "token_id": info.id,
        "scope": info.scope,
        "name": info.name,
        "rate_limit": info.rate_limit or settings.rate_limit_per_minute,
    }
    if not allowed:
        logger.info("request", extra=request_log_fields(event, 403, scope_ok=False, token_id=info.id, auth="token"))
        return _policy(info.id, "Deny", event["methodArn"], principal_context)
    return _policy(info.id, "Allow", event["methodArn"], principal_context)
