"""Token sources, their precedence, and the scope -> routes configuration."""

from __future__ import annotations

from access_rules import AccessRequest, route_allowed, scope_allows, token_from_request

from relayq.domain.hooks import Hooks
from relayq.settings import Settings

ROUTES = Settings().token_allowed_routes


def test_token_sources_in_order() -> None:
    both = {"Authorization": "Bearer a", "X-Redis-Queue-Token": "b"}
    assert token_from_request(both, None, "/jobs") == ("a", "bearer")
    assert token_from_request({"x-redis-queue-token": "b"}, None, "/jobs") == ("b", "header")
    assert token_from_request({"AUTHORIZATION": "Basic zzz", "X-Redis-Queue-Token": "b"}, None, "/jobs") == (
        "b",
        "header",
    )
    assert token_from_request({}, {"token": "c"}, "/run") == ("c", "query")
    assert token_from_request({}, {"token": "c"}, "/process-queue") == ("c", "query")
    assert token_from_request({}, {"token": "c"}, "/jobs") == (None, "none")
    assert token_from_request(None, None, "/jobs") == (None, "none")


def test_default_routes_per_scope() -> None:
    assert route_allowed("worker", "POST /workers/trigger", ROUTES)
    assert route_allowed("worker", "GET /run", ROUTES) and route_allowed("worker", "POST /process-queue", ROUTES)
    assert not route_allowed("worker", "GET /workers/trigger", ROUTES)
    assert not route_allowed("worker", "GET /jobs", ROUTES)
    assert route_allowed("full", "DELETE /tokens/tok_1", ROUTES)
    assert not route_allowed("unknown", "GET /jobs", ROUTES)


def test_routes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("QUEUE_TOKEN_ALLOWED_ROUTES", '{"worker": ["GET /jobs/*"]}')
    routes = Settings().token_allowed_routes
    assert route_allowed("worker", "GET /jobs/job_1", routes)
    assert not route_allowed("worker", "POST /workers/trigger", routes)
    assert not route_allowed("full", "GET /jobs", routes)


def test_hook_decides_last() -> None:
    hooks = Hooks()
    request = AccessRequest("POST", "/workers/trigger", source_ip="203.0.113.1")
    assert scope_allows("worker", request, ROUTES, hooks=hooks)
    hooks.on("token_scope_allow", lambda allowed, scope, request: allowed and request.source_ip.startswith("10."))
    assert not scope_allows("worker", request, ROUTES, hooks=hooks)
