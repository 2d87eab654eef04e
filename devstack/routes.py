"""The REST API of template.yaml: its resources and methods (each function's ``Type: Api`` events),
matched as API Gateway matches them, and the authorizer each one uses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from devstack.functions import Resolver
from devstack.template import resources

IMPLICIT_API = "ServerlessRestApi"


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str
    payload_type: str
    header_sources: tuple[str, ...]
    query_sources: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class Route:
    resource: str  # API Gateway's resource path, e.g. /{proxy+}
    method: str  # GET, POST, ... or ANY
    function: str
    authorizer: Authorizer | None

    def matches(self, path: str) -> bool:
        return _pattern(self.resource).fullmatch(path) is not None

    @property
    def specificity(self) -> tuple[int, ...]:
        """Literal segments beat ``{param}``, which beats ``{proxy+}``, segment by segment."""
        ranks = []
        for segment in self.resource.strip("/").split("/"):
            ranks.append(0 if segment.endswith("+}") else 1 if segment.startswith("{") else 2)
        return (*ranks, len(ranks))


def _pattern(resource: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[A-Za-z0-9_]+\\\+\\\}", "[^/].*", re.escape(resource))
    return re.compile(re.sub(r"\\\{[A-Za-z0-9_]+\\\}", "[^/]+", pattern))


class RestApi:
    """One ``AWS::Serverless::Api`` (or SAM's implicit one) with its routes and settings."""

    def __init__(self, logical_id: str, resolver: Resolver) -> None:
        self.logical_id = logical_id
        props: dict[str, Any] = resources("AWS::Serverless::Api").get(logical_id, {}).get("Properties", {})
        self.stage = str(props.get("StageName", "Prod"))
        self.gateway_responses: dict[str, Any] = props.get("GatewayResponses", {})
        self.binary_media_types = [t.replace("~1", "/") for t in props.get("BinaryMediaTypes", [])]
        auth = props.get("Auth", {})
        self.authorizers = {
            name: _authorizer(name, config, resolver) for name, config in auth.get("Authorizers", {}).items()
        }
        default = auth.get("DefaultAuthorizer")
        self.routes: list[Route] = []
        for function, resource in resources("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                props_ = event.get("Properties", {})
                api_ref = props_.get("RestApiId", {"Ref": IMPLICIT_API})
                if event["Type"] != "Api" or resolver.resolve(api_ref) != logical_id:
                    continue
                chosen = props_.get("Auth", {}).get("Authorizer", default)
                self.routes.append(
                    Route(
                        resource=props_["Path"],
                        method=props_["Method"].upper(),
                        function=resolver.resolve({"Ref": function}),
                        authorizer=None if chosen in (None, "NONE") else self.authorizers[chosen],
                    )
                )

    def match(self, method: str, path: str) -> tuple[str, Route | None]:
        """The resource the path selects and the route of the method on it (None: no such method,
        which API Gateway answers with 403 Missing Authentication Token). Like API Gateway, a
        trailing slash selects the same resource (``/dashboard/`` is ``/dashboard``)."""
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        candidates = [r for r in self.routes if r.matches(path)]
        if not candidates:
            return "", None
        best = max(r.specificity for r in candidates)
        on_resource = [r for r in candidates if r.specificity == best]
        exact = [r for r in on_resource if r.method == method.upper()]
        chosen = exact or [r for r in on_resource if r.method == "ANY"]
        return on_resource[0].resource, chosen[0] if chosen else None


def _authorizer(name: str, config: dict[str, Any], resolver: Resolver) -> Authorizer:
    function = resolver.resolve(config["FunctionArn"]).rsplit(":", 1)[-1]
    identity = config.get("Identity", {})
    headers = tuple(identity.get("Headers", ()))
    queries = tuple(identity.get("QueryStrings", ()))
    payload_type = config.get("FunctionPayloadType", "TOKEN")
    if payload_type == "TOKEN" and not headers:
        headers = (identity.get("Header", "Authorization"),)
    # API Gateway caches only when there are identity sources to key the cache on.
    ttl = int(identity.get("ReauthorizeEvery", 300)) if headers or queries else 0
    return Authorizer(name, function, payload_type, headers, queries, ttl)


def rest_apis(resolver: Resolver) -> list[RestApi]:
    names = list(resources("AWS::Serverless::Api")) or [IMPLICIT_API]
    return [RestApi(name, resolver) for name in names]
