"""Who may call what: the authorizer and the API's rate limit, through API Gateway's behaviour
(policy, gateway responses of template.yaml) with real tokens in moto's DynamoDB."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from access_rules import AccessRequest

from devstack.apigw import authorizer_event, policy_allows
from devstack.handlers import ROOT
from devstack.lambda_context import FakeLambdaContext
from relayq.container import container
from relayq.container import reset as reset_container
from tests.support.api_flow import Gateway, HttpResult

# Every route of the API behind the authorizer, with a request that a full_token-scope token gets
# an answer below 500 for (the dashboard, /docs and /openapi.json have none: test_api.py).
ROUTES: list[tuple[str, str]] = [
    ("GET", "/jobs"),
    ("POST", "/jobs"),
    ("GET", "/jobs/job_0000000000000000000000000000"),
    ("DELETE", "/jobs/job_0000000000000000000000000000"),
    ("POST", "/jobs/job_0000000000000000000000000000/retry"),
    ("POST", "/jobs/job_0000000000000000000000000000/run-now"),
    ("POST", "/jobs/purge"),
    ("POST", "/workers/trigger"),
    ("GET", "/workers/status"),
    ("GET", "/overview"),
    ("GET", "/metrics"),
    ("GET", "/stats"),
    ("GET", "/health"),
    ("POST", "/queues/default/clear"),
    ("POST", "/reconcile"),
    ("GET", "/tokens"),
    ("POST", "/tokens"),
    ("DELETE", "/tokens/tok_000000000000"),
    ("POST", "/uploads"),
]


def assert_error(answer: HttpResult, status: int, code: str) -> None:
    assert (answer.status, answer.code, answer.body["data"]["status"]) == (status, code, status), answer.body


def body_for(method: str, path: str) -> Any:
    return {"/jobs": {"type": "echo"}, "/tokens": {"name": "x"}}.get(path) if method == "POST" else None


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_full_scope_reaches_every_route(gw: Gateway, full_token: str, method: str, path: str) -> None:
    answer = gw.request(method, path, token=full_token, json_body=body_for(method, path))
    assert answer.status < 500 and answer.code not in {"rest_forbidden", "rest_forbidden_scope"}, answer.body


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_worker_scope_reaches_only_the_trigger(gw: Gateway, worker_token: str, method: str, path: str) -> None:
    answer = gw.request(method, path, token=worker_token, json_body=body_for(method, path))
    if (method, path) == ("POST", "/workers/trigger"):
        assert answer.status == 200 and answer.body["success"] is True
    else:
        assert_error(answer, 403, "rest_forbidden_scope")
        assert answer.body["message"] == "Token scope does not permit this endpoint."


def test_no_bad_or_revoked_token_is_403_rest_forbidden_as_the_plugin_answers(gw: Gateway, full_token: str) -> None:
    assert_error(gw.request("GET", "/jobs"), 403, "rest_forbidden")
    assert_error(gw.request("GET", "/jobs", token="rq_" + "A" * 43), 403, "rest_forbidden")
    assert_error(gw.request("GET", "/jobs", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 403, "rest_forbidden")
    assert_error(gw.request("GET", "/jobs", headers={"Authorization": "Bearer "}), 403, "rest_forbidden")
    store = container().tokens
    token_id = next(t.id for t in store.list() if t.name == "admin")
    store.revoke(token_id)
    answer = gw.request("GET", "/jobs", token=full_token)
    assert_error(answer, 403, "rest_forbidden")
    assert answer.body["message"] == "You do not have permission to access this endpoint."
    assert "WWW-Authenticate" not in answer.headers


@pytest.mark.parametrize(("method", "path"), [("GET", "/run"), ("POST", "/run"), ("POST", "/process-queue")])
def test_cron_routes_refuse_as_all_sites_cron(gw: Gateway, full_token: str, method: str, path: str) -> None:
    missing = gw.request(method, path)
    assert_error(missing, 401, "all_sites_cron_auth_missing")
    assert missing.body["message"] == (
        "Authentication required. Provide a token via Authorization header or ?token= query parameter."
    )
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    for invalid in [gw.request(method, path, token="rq_" + "A" * 43), gw.request(method, path, query={"token": "x"})]:
        assert_error(invalid, 403, "all_sites_cron_auth_invalid")
        assert invalid.body["message"] == "Invalid authentication token."
    store = container().tokens
    store.revoke(next(t.id for t in store.list() if t.name == "admin"))
    assert_error(gw.request(method, path, query={"token": full_token}), 403, "all_sites_cron_auth_invalid")


def test_both_headers_and_precedence(gw: Gateway, full_token: str, worker_token: str) -> None:
    assert gw.request("GET", "/stats", headers={"X-Redis-Queue-Token": full_token}).status == 200
    assert gw.request("GET", "/stats", headers={"x-redis-queue-token": full_token}).status == 200
    # Authorization: Bearer wins over X-Redis-Queue-Token.
    worker_first = gw.request(
        "GET", "/stats", headers={"Authorization": f"Bearer {worker_token}", "X-Redis-Queue-Token": full_token}
    )
    assert_error(worker_first, 403, "rest_forbidden_scope")
    full_first = gw.request(
        "GET", "/stats", headers={"Authorization": f"bearer {full_token}", "X-Redis-Queue-Token": worker_token}
    )
    assert full_first.status == 200
    # A malformed Authorization header falls back to the other header.
    fallback = gw.request("GET", "/stats", headers={"Authorization": "Token abc", "X-Redis-Queue-Token": full_token})
    assert fallback.status == 200


def authorize(gw: Gateway, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    event = authorizer_event(method, path, resource="/{proxy+}", **kwargs)
    result: dict[str, Any] = gw.authorizer.handler(event, FakeLambdaContext())
    result["allowed"] = policy_allows(result, event["methodArn"])
    return result


def test_query_token_only_on_the_trigger_routes_and_never_logged(gw: Gateway, worker_token: str) -> None:
    stream = io.StringIO()
    previous = gw.authorizer.logger.registered_handler.setStream(stream)
    try:
        for method, path in [("GET", "/run"), ("POST", "/run"), ("POST", "/process-queue")]:
            assert authorize(gw, method, path, query={"token": worker_token, "defer": "1"})["allowed"]
        assert_error(gw.request("GET", "/jobs", query={"token": worker_token}), 403, "rest_forbidden")
        assert_error(gw.request("POST", "/workers/trigger", query={"token": worker_token}), 403, "rest_forbidden")
    finally:
        gw.authorizer.logger.registered_handler.setStream(previous)
    assert worker_token not in stream.getvalue()
    assert '"status":403' in stream.getvalue().replace(" ", "")  # the refusals are logged, without the token


def test_allow_policy_is_for_this_route_only_with_the_token_context(gw: Gateway, worker_token: str) -> None:
    event = authorizer_event("POST", "/workers/trigger", headers={"Authorization": f"Bearer {worker_token}"})
    result = gw.authorizer.handler(event, FakeLambdaContext())
    assert [s["Resource"] for s in result["policyDocument"]["Statement"]] == [event["methodArn"]]
    context = result["context"]
    assert context["scope"] == "worker" and context["name"] == "cron" and context["rate_limit"] == 60
    assert context["token_id"].startswith("tok_") and result["principalId"] == context["token_id"]
    assert worker_token not in json.dumps(result)


def test_allowed_routes_come_from_configuration(
    gw: Gateway, worker_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "QUEUE_TOKEN_ALLOWED_ROUTES",
        json.dumps({"full": ["*"], "worker": ["POST /workers/trigger", "GET /stats", "GET /jobs*"]}),
    )
    reset_container()
    assert gw.request("GET", "/stats", token=worker_token).status == 200
    assert gw.request("GET", "/jobs/job_0000000000000000000000000000", token=worker_token).status == 404
    assert_error(gw.request("GET", "/health", token=worker_token), 403, "rest_forbidden_scope")


def test_scope_hook_can_deny_and_grant_per_request(gw: Gateway, full_token: str, worker_token: str) -> None:
    def only_internal_creates(allowed: bool, scope: str, request: AccessRequest) -> bool:
        if request.route == "POST /jobs" and request.source_ip != "10.0.0.5":
            return False
        if request.route == "GET /health" and scope == "worker":
            return True
        return allowed

    container().hooks.on("token_scope_allow", only_internal_creates)
    try:
        denied = gw.request("POST", "/jobs", token=full_token, json_body={"type": "echo"}, source_ip="203.0.113.9")
        assert_error(denied, 403, "rest_forbidden_scope")
        assert (
            gw.request("POST", "/jobs", token=full_token, json_body={"type": "echo"}, source_ip="10.0.0.5").status
            == 201
        )
        assert gw.request("GET", "/health", token=worker_token).status == 200
    finally:
        container().hooks.off("token_scope_allow", only_internal_creates)


def test_the_last_used_time_is_recorded(gw: Gateway, full_token: str) -> None:
    assert container().tokens.list()[0].last_used_at is None
    gw.request("GET", "/stats", token=full_token)
    assert container().tokens.list()[0].last_used_at is not None


# --- rate limit -----------------------------------------------------------------------------------


def test_rate_limit_from_the_token_record(gw: Gateway) -> None:
    token = container().tokens.create("tight", "full", rate_limit=3).token
    answers = [gw.request("GET", "/stats", token=token) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("X-RateLimit-Remaining") for a in answers[:3]] == ["2", "1", "0"]
    assert_error(answers[3], 429, "rate_limited")
    assert answers[3].body["message"] == "Rate limit exceeded. Try again later."
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    # Another token has its own budget.
    other = container().tokens.create("other", "full").token
    assert gw.request("GET", "/stats", token=other).status == 200


def test_rate_limit_default_from_settings_and_logged(gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_RATE_LIMIT_PER_MINUTE", "2")
    reset_container()
    token = container().tokens.create("default-limit", "full").token
    stream = io.StringIO()
    previous = gw.api.logger.registered_handler.setStream(stream)
    try:
        statuses = [gw.request("POST", "/jobs", token=token, json_body={"type": "echo"}).status for _ in range(3)]
    finally:
        gw.api.logger.registered_handler.setStream(previous)
    assert statuses == [201, 201, 429]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["rate_limited"] for line in lines if line["message"] == "request"] == [False, False, True]
    assert gw.request("GET", "/jobs", token=container().tokens.create("x", "full").token).headers["X-WP-Total"] == "2"


def test_sample_authorizer_events(gw: Gateway, full_token: str) -> None:
    events = ROOT / "events" / "authorizer"
    for name in ("bearer", "x_redis_queue_token"):
        event = json.loads((events / f"{name}.json").read_text().replace("rq_replace-with-a-real-token", full_token))
        result = gw.authorizer.handler(event, FakeLambdaContext())
        assert policy_allows(result, event["methodArn"]), name
    denied = gw.authorizer.handler(json.loads((events / "no_token.json").read_text()), FakeLambdaContext())
    assert denied["context"]["error_code"] == "rest_forbidden"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        gw.authorizer.handler(json.loads((events / "run_no_token.json").read_text()), FakeLambdaContext())
