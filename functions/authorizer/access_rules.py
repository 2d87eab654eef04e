"""Who may call what: the token of a request, and whether its scope permits the route.

The routes a scope may call are configuration (``QUEUE_TOKEN_ALLOWED_ROUTES``, the plugin's
``redis_queue_token_allowed_routes`` filter); the ``token_scope_allow`` filter hook can then refuse
(or grant) per request, like the plugin's ``redis_queue_token_scope_allow``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from relayq.domain.hooks import Hooks

# The all-sites-cron routes. Only they take the token from the query string (cron services that
# cannot send headers call them; anywhere else a token in a URL would end up in logs and browser
# history), and they refuse in that plugin's words (401 without a token, 403 with a wrong one).
CRON_PATHS = frozenset({"/run", "/process-queue"})
TOKEN_HEADER = "x-redis-queue-token"  # noqa: S105 (a header name)
SCOPE_HOOK = "token_scope_allow"


@dataclass(frozen=True)
class AccessRequest:
    """What the scope check may look at (an authorizer never sees the body)."""

    method: str
    path: str
    source_ip: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    token_id: str = ""

    @property
    def route(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def token_from_request(
    headers: Mapping[str, str] | None, query: Mapping[str, str] | None, path: str
) -> tuple[str | None, str]:
    """The token and where it came from: ``Authorization: Bearer`` first, then
    ``X-Redis-Queue-Token``, then ``?token=`` on the cron routes only."""
    authorization = (_header(headers, "authorization") or "").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), "bearer"
    header_token = (_header(headers, TOKEN_HEADER) or "").strip()
    if header_token:
        return header_token, "header"
    if path in CRON_PATHS and (query or {}).get("token"):
        return (query or {})["token"], "query"
    return None, "none"


def route_allowed(scope: str, route: str, allowed_routes: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``route`` ("METHOD /path") matches a pattern of the scope; an unknown scope gets nothing."""
    return any(pattern == "*" or fnmatchcase(route, pattern) for pattern in allowed_routes.get(scope, ()))


def scope_allows(scope: str, request: AccessRequest, allowed_routes: Mapping[str, Sequence[str]], hooks: Hooks) -> bool:
    allowed = route_allowed(scope, request.route, allowed_routes)
    return bool(hooks.filter(SCOPE_HOOK, allowed, scope=scope, request=request))
