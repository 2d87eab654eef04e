"""API Gateway (REST API, v1 payload) events built from a plain HTTP request.

Used by the API and authorizer tests and by the local HTTP gateway, so both send the handlers exactly
the events API Gateway sends. Public API (stable): ``proxy_event``, ``authorizer_event``,
``method_arn``, ``policy_allows``, ``STAGE``; everything else here is internal.

``headers`` and ``query`` are a mapping or a sequence of ``(name, value)`` pairs (repeated names
allowed, as in ``?queues[]=a&queues[]=b``); the single-value maps keep the last value of a name,
the multi-value maps keep all, as API Gateway does.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

STAGE = "v1"
ACCOUNT_ID = "123456789012"
API_ID = "relayqlocal"
REGION = "us-east-1"

Pairs = Mapping[str, str] | Sequence[tuple[str, str]]
AuthorizerContext = Mapping[str, str | int | float | bool | None]


def method_arn(method: str, path: str, *, stage: str = STAGE) -> str:
    """The ARN API Gateway gives the authorizer: ``.../<stage>/<METHOD>/<path without leading />``."""
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{stage}/{method.upper()}/{path.lstrip('/')}"


def proxy_event(
    method: str,
    path: str,
    *,
    headers: Pairs | None = None,
    query: Pairs | None = None,
    body: str | bytes | None = None,
    source_ip: str = "203.0.113.10",
    resource: str | None = None,
    authorizer: AuthorizerContext | None = None,
    stage: str = STAGE,
) -> dict[str, Any]:
    """A Lambda proxy integration event (payload v1) for ``method path``.

    ``resource`` is the API Gateway resource pattern that matched (``/{proxy+}``, ``/jobs/{id}``);
    default: the path itself. ``authorizer`` is the Lambda authorizer's context (plus
    ``principalId``); API Gateway hands its values to the integration as strings, so they are
    converted here too (booleans as ``true``/``false``).
    """
    resource = resource or path
    single_headers, multi_headers = _split(headers)
    single_query, multi_query = _split(query)
    text, is_base64 = _body(body)
    context = _request_context(method, path, resource, source_ip, single_headers, stage)
    if authorizer is not None:
        context["authorizer"] = {key: _context_value(value) for key, value in authorizer.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": _path_parameters(resource, path),
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def authorizer_event(
    method: str,
    path: str,
    *,
    headers: Pairs | None = None,
    query: Pairs | None = None,
    source_ip: str = "203.0.113.10",
    resource: str | None = None,
    stage: str = STAGE,
) -> dict[str, Any]:
    """A REQUEST-type Lambda authorizer event for ``method path`` (no body: authorizers never get it)."""
    resource = resource or path
    single_headers, multi_headers = _split(headers)
    single_query, multi_query = _split(query)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(method, path, stage=stage),
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": _path_parameters(resource, path),
        "stageVariables": {},
        "requestContext": _request_context(method, path, resource, source_ip, single_headers, stage),
    }


def policy_allows(response: Mapping[str, Any], arn: str) -> bool:
    """Whether an authorizer's IAM policy allows ``execute-api:Invoke`` on ``arn``: an explicit
    Deny wins, else any Allow (with ``*``/``?`` wildcards, as IAM matches resources)."""
    allowed = False
    for statement in response.get("policyDocument", {}).get("Statement", []):
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


# --- internals ----------------------------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _split(pairs: Pairs | None) -> tuple[dict[str, str], dict[str, list[str]]]:
    items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs or [])
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in items:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _body(body: str | bytes | None) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if isinstance(body, str):
        return body, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _context_value(value: str | int | float | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _path_parameters(resource: str, path: str) -> dict[str, str] | None:
    """Values of ``{name}`` / ``{name+}`` placeholders of ``resource`` taken from ``path``."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "(.+)" if match.group(2) else "([^/]+)"

    pattern = re.sub(r"\\\{([A-Za-z0-9_]+)(\\\+)?\\\}", placeholder, re.escape(resource))
    found = re.fullmatch(pattern, path)
    if not names or found is None:
        return None
    return dict(zip(names, found.groups(), strict=True))


def _request_context(
    method: str, path: str, resource: str, source_ip: str, headers: Mapping[str, str], stage: str
) -> dict[str, Any]:
    now = time.time()
    user_agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), None)
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "domainPrefix": API_ID,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "httpMethod": method.upper(),
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": source_ip,
            "user": None,
            "userAgent": user_agent,
            "userArn": None,
        },
        "path": f"/{stage}{path}",
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "resourceId": "abc123",
        "resourcePath": resource,
        "stage": stage,
    }
