"""API Gateway REQUEST authorizer: token -> scope -> allowed route.

Refusals answer as the plugins do. A Lambda authorizer has two ways to refuse: fail with
``Unauthorized`` (API Gateway's UNAUTHORIZED response, always 401, no authorizer context) or return
a Deny policy (ACCESS_DENIED, always 403, whose template renders ``$context.authorizer.error_code``
and ``error_message``). So:

- redis-queue routes, no or unknown or revoked token: Deny, 403 ``rest_forbidden``;
- cron routes (``/run``, ``/process-queue``): no token ``Unauthorized``, 401
  ``all_sites_cron_auth_missing`` (the only 401, so its static template is that body); an unknown or
  revoked one Deny, 403 ``all_sites_cron_auth_invalid``;
- a valid token whose scope (or the ``token_scope_allow`` hook) refuses the route: Deny, 403
  ``rest_forbidden_scope``.

Otherwise an Allow policy for exactly this method and path, with the token's id, scope, name and
rate limit as context for the API. Caching is off in the template, so a policy is never reused for
another route.
"""

from __future__ import annotations

from typing import Any

from access_rules import CRON_PATHS, AccessRequest, scope_allows, token_from_request
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from relayq.container import container
from relayq.domain.errors import CronAuthInvalid, Forbidden, ForbiddenScope, QueueError
from relayq.http.request_log import request_log_fields

logger = Logger()
ANONYMOUS = "anonymous"  # the principal of a Deny for a request without a known token


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


def _deny(principal: str, arn: str, refusal: QueueError, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Deny whose context carries what the ACCESS_DENIED gateway response says."""
    refused = {"error_code": refusal.code, "error_message": refusal.message}
    return _policy(principal, "Deny", arn, {**(context or {}), **refused})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = event.get("headers") or {}
    query = event.get("queryStringParameters") or {}
    path = str(event.get("path") or "/")
    token, _source = token_from_request(headers, query, path)
    info = container().tokens.authenticate(token) if token else None
    if info is None:
        auth = "token" if token else "none"
        if path in CRON_PATHS and not token:
            logger.info("request", extra=request_log_fields(event, 401, scope_ok=False, auth=auth))
            raise Unauthorized()
        logger.info("request", extra=request_log_fields(event, 403, scope_ok=False, auth=auth))
        refusal = CronAuthInvalid() if path in CRON_PATHS else Forbidden()
        return _deny(ANONYMOUS, event["methodArn"], refusal)
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
        return _deny(info.id, event["methodArn"], ForbiddenScope(), principal_context)
    return _policy(info.id, "Allow", event["methodArn"], principal_context)
