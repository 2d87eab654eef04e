"""A request through what API Gateway does for the API: the authorizer, its policy, the gateway
responses of template.yaml for refusals, then the API handler with the authorizer's context."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from devstack.apigw import Pairs, authorizer_event, policy_allows, proxy_event
from devstack.gateway_responses import render
from devstack.lambda_context import FakeLambdaContext
from devstack.template import template

PROXY_RESOURCE = "/{proxy+}"


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


def gateway_response(response_type: str, authorizer: Mapping[str, Any] | None = None) -> HttpResult:
    """API Gateway's own answer of this type, as template.yaml declares it, rendered with the
    authorizer's context as the local gateway renders it."""
    declared = template()["Resources"]["RestApi"]["Properties"]["GatewayResponses"]
    answer = render(declared, response_type, message=None, context={"authorizer": dict(authorizer or {})})
    return HttpResult(answer.status, answer.headers, json.loads(answer.body))


class Gateway:
    def __init__(self, api: ModuleType, authorizer: ModuleType) -> None:
        self.api = api
        self.authorizer = authorizer

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: Pairs | None = None,
        query: Pairs | None = None,
        json_body: Any = None,
        form: Pairs | None = None,
        body: str | None = None,
        source_ip: str = "203.0.113.10",
    ) -> HttpResult:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            pairs: list[tuple[str, str]] = list(form.items()) if isinstance(form, Mapping) else list(form)
            body = urlencode(pairs)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        auth_event = authorizer_event(
            method, path, headers=all_headers, query=query, source_ip=source_ip, resource=PROXY_RESOURCE
        )
        try:
            policy = self.authorizer.handler(auth_event, FakeLambdaContext())
        except Exception as error:
            return gateway_response("UNAUTHORIZED" if str(error) == "Unauthorized" else "AUTHORIZER_FAILURE")
        context = {"principalId": policy["principalId"], **policy.get("context", {})}
        if not policy_allows(policy, auth_event["methodArn"]):
            return gateway_response("ACCESS_DENIED", context)
        event = proxy_event(
            method,
            path,
            headers=all_headers,
            query=query,
            body=body,
            source_ip=source_ip,
            resource=PROXY_RESOURCE,
            authorizer=context,
        )
        return self.invoke(event)

    def invoke(self, event: dict[str, Any]) -> HttpResult:
        """The API handler alone, with a prepared proxy event."""
        out = self.api.handler(event, FakeLambdaContext(timeout_s=30))
        headers = dict(out.get("headers") or {})
        for name, values in (out.get("multiValueHeaders") or {}).items():
            headers[name] = values[-1]
        text = out.get("body") or ""
        try:
            parsed: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            parsed = text
        return HttpResult(int(out["statusCode"]), headers, parsed)
