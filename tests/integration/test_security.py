"""Security proofs over every route of template.yaml (the API's proxy and the trigger's routes):
who may call what, tokens never echoed or logged, constant-time hash checks, queue names that
would reach other keys refused, and fuzzed authorizer and API events that never escape as a 500."""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.apigw import authorizer_event, policy_allows, proxy_event
from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.template import resources
from relayq.container import container
from relayq.dynamodb.tokens import hash_token
from tests.integration.test_authorization import ROUTES as API_ROUTES
from tests.integration.test_authorization import body_for
from tests.support.api_flow import Gateway, HttpResult
from tests.support.redis_matrix import admin_client

# Every trigger route with a request a full-scope token gets a non-5xx answer for (defer=1 queues
# the run instead of calling sites, so no site list is needed).
CRON_ROUTES: list[tuple[str, str, dict[str, str] | None, Any]] = [
    ("GET", "/run", {"defer": "1"}, None),
    ("POST", "/run", {"defer": "1"}, None),
    ("POST", "/process-queue", None, None),
    ("GET", "/sites", None, None),
    ("POST", "/sites", None, {"url": "https://site.example"}),
    ("PATCH", "/sites", None, {"url": "https://site.example", "enabled": False}),
    ("DELETE", "/sites", {"url": "https://nothing.example"}, None),
    ("GET", "/runs", None, None),
    ("GET", "/runs/run_00000000000000000000000000", None, None),
]
WORKER_ALLOWED = {("POST", "/workers/trigger"), ("GET", "/run"), ("POST", "/run"), ("POST", "/process-queue")}
REFUSALS = {"rest_forbidden", "rest_forbidden_scope", "all_sites_cron_auth_missing", "all_sites_cron_auth_invalid"}

FORM = "application/x-www-form-urlencoded"

# Queue names that would escape the `{rq}:` key space or confuse key parsing.
INJECTED_QUEUES = ["{rq}", "a:b", "../x", "x/../../y", "é", "名前", "a b", "a\nb", "*", "q" * 1024, ""]


@pytest.fixture(scope="module")
def modules() -> dict[str, ModuleType]:
    return {name: load_handler(name) for name in ("api", "authorizer", "cron")}


@pytest.fixture
def gateways(lambda_env: dict[str, str], modules: dict[str, ModuleType]) -> dict[str, Gateway]:
    return {name: Gateway(modules[name], modules["authorizer"]) for name in ("api", "cron")}


def all_routes() -> list[tuple[str, str, str, dict[str, str] | None, Any]]:
    api = [("api", m, p, None, body_for(m, p)) for m, p in API_ROUTES]
    return api + [("cron", m, p, q, b) for m, p, q, b in CRON_ROUTES]


def call(gws: dict[str, Gateway], route: tuple[str, str, str, dict[str, str] | None, Any], **kw: Any) -> HttpResult:
    function, method, path, query, body = route
    return gws[function].request(method, path, query=query, json_body=body, **kw)


def refusal_of(path: str, token: str | None) -> tuple[int, str]:
    """What a request without a valid token gets: the all-sites-cron plugin's refusals on its two
    routes, the redis-queue plugin's everywhere else."""
    if path in ("/run", "/process-queue"):
        return (403, "all_sites_cron_auth_invalid") if token else (401, "all_sites_cron_auth_missing")
    return 403, "rest_forbidden"


def test_the_matrix_lists_every_route_of_the_template_and_the_openapi_document() -> None:
    """A route added to the API or the template without a row here fails this test."""
    document = json.loads((ROOT / "functions" / "api" / "openapi.json").read_text())
    # The documentation is public (tests/integration/test_api.py checks it needs no token).
    listed = {(m, re.sub(r"/(job|tok)_0+", "/{id}", p)) for m, p in API_ROUTES} | {
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
    }
    for path, methods in document["paths"].items():
        for method in methods:
            generic = re.sub(r"\{[a-z_]+\}", "{id}", path).replace("/queues/{id}", "/queues/default")
            assert (method.upper(), generic) in listed, (method, path)
    trigger_events = resources("AWS::Serverless::Function")["CronFunction"]["Properties"]["Events"]
    declared = {
        (m, e["Properties"]["Path"])
        for e in trigger_events.values()
        if e["Type"] == "Api"
        for m in (["GET", "POST"] if e["Properties"]["Method"] == "ANY" else [e["Properties"]["Method"]])
    }
    listed_trigger = {(m, re.sub(r"/run_0+", "/{id}", p)) for m, p, _, _ in CRON_ROUTES}
    assert declared == listed_trigger


def test_authorization_matrix_over_every_route(gateways: dict[str, Gateway]) -> None:
    store = container().tokens
    full = store.create("admin", "full").token
    worker = store.create("cron", "worker").token
    revoked = store.create("old", "full")
    store.revoke(revoked.info.id)
    for route in all_routes():
        where = route[:3]
        for bad in (None, "rq_" + "A" * 43, revoked.token, full[:-1], full + "x", full.upper()):
            answer = call(gateways, route, token=bad)
            expected = refusal_of(route[2], bad)
            assert (answer.status, answer.code) == expected, (where, bad and bad[:6], answer.body)
            assert answer.body["data"]["status"] == expected[0]
        answer = call(gateways, route, token=worker)
        if route[1:3] in WORKER_ALLOWED:
            assert answer.status < 500 and answer.code not in REFUSALS, (where, answer.body)
        else:
            assert (answer.status, answer.code, answer.body["data"]["status"]) == (403, "rest_forbidden_scope", 403)
        answer = call(gateways, route, token=full)
        assert answer.status < 500 and answer.code not in REFUSALS, (where, answer.body)


def test_tokens_never_appear_in_logs_or_answers_after_creation(
    gateways: dict[str, Gateway], modules: dict[str, ModuleType], caplog: pytest.LogCaptureFixture
) -> None:
    admin = container().tokens.create("admin", "full").token
    created = gateways["api"].request("POST", "/tokens", token=admin, json_body={"name": "ci", "scope": "worker"})
    assert created.status == 201
    secret = created.body["token"]
    caplog.set_level(logging.DEBUG)
    streams = {name: io.StringIO() for name in modules}
    previous = {name: modules[name].logger.registered_handler.setStream(s) for name, s in streams.items()}
    answers: list[HttpResult] = []
    try:
        for token in (secret, admin):
            for route in all_routes():
                answers.append(call(gateways, route, token=token))
                answers.append(call(gateways, route, token=token + "-bad"))
            for query in ({"token": token}, {"token": token, "defer": "1", "ga": "1"}):
                answers.append(gateways["cron"].request("GET", "/run", query=query))
                answers.append(gateways["api"].request("GET", "/jobs", query=query))
            answers.append(gateways["api"].request("GET", "/stats", headers={"X-Redis-Queue-Token": token}))
    finally:
        for name, stream in previous.items():
            modules[name].logger.registered_handler.setStream(stream)
    logged = "".join(s.getvalue() for s in streams.values()) + caplog.text
    assert '"status":403' in logged.replace(" ", "")  # every call here carries a token: no 401
    seen = logged + "".join(json.dumps(a.body) + json.dumps(a.headers) for a in answers)
    for token in (secret, admin):
        assert token not in seen
        assert token.split("_", 1)[1][:16] not in seen  # no prefix of the secret part either
    # The hash is a lookup key: botocore's own DEBUG lines show it (off in Lambda unless the root
    # logger is set to DEBUG); the functions' logs and answers never do.
    own = "".join(s.getvalue() for s in streams.values()) + "".join(json.dumps(a.body) for a in answers)
    listing = gateways["api"].request("GET", "/tokens", token=admin).body
    assert hash_token(secret) not in own + json.dumps(listing)


def test_token_hashes_are_compared_in_constant_time(
    gateways: dict[str, Gateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = container().tokens.create("admin", "full").token
    assert gateways["api"].request("GET", "/stats", token=token).status == 200
    assert compared and all(a == b for a, b in compared)  # the hashes, through compare_digest
    compared.clear()
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert gateways["api"].request("GET", "/stats", token=token).status == 403  # its answer decides


def redis_keys() -> set[str]:
    return {str(k) for k in admin_client(container().settings).keys("*") if ":ratelimit:" not in str(k)}


def test_key_injection_through_queue_names_is_refused(gateways: dict[str, Gateway], moto_server: Any) -> None:
    token = container().tokens.create("admin", "full").token
    api = gateways["api"]
    before = redis_keys()
    for name in INJECTED_QUEUES:
        created = api.request("POST", "/jobs", token=token, json_body={"type": "echo", "queue": name})
        assert (created.status, created.code) == (400, "rest_invalid_param"), (name[:20], created.body)
        assert created.body["data"]["status"] == 400
        triggered = api.request("POST", "/workers/trigger", token=token, json_body={"queues": [name]})
        assert (triggered.status, triggered.code) == (400, "rest_invalid_param"), (name[:20], triggered.body)
        if name and "/" not in name:
            cleared = api.request("POST", f"/queues/{name}/clear", token=token)
            # A newline is no URL path segment: no route matches, so 404 (nothing written either).
            assert (cleared.status, cleared.code) in {(400, "rest_invalid_param"), (404, "rest_no_route")}, name
    assert redis_keys() == before
    jobs = moto_server.client("dynamodb").scan(TableName="it-jobs", Select="COUNT")["Count"]
    assert jobs == 0


# --- fuzzing --------------------------------------------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(max_size=80)
header_names = st.sampled_from(["Authorization", "authorization", "X-Redis-Queue-Token", "Content-Type", "X-Other"])
header_values = st.one_of(
    text,
    text.map(lambda t: f"Bearer {t}"),
    text.map(lambda t: f"bearer  rq_{t}"),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
paths = st.sampled_from(["/jobs", "/run", "/process-queue", "/tokens", "/", "/run/../jobs", "/%2e%2e/jobs"])


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "OPTIONS", "", "get"]),
    path=paths,
    headers=st.dictionaries(header_names, header_values, max_size=4),
    query=st.dictionaries(st.sampled_from(["token", "defer", "x"]), text, max_size=3),
)
def test_fuzzed_authorizer_requests_never_allow_a_bad_token(
    gateways: dict[str, Gateway], method: str, path: str, headers: dict[str, str], query: dict[str, str]
) -> None:
    authorizer = gateways["api"].authorizer
    event = authorizer_event(method or "GET", path, headers=headers, query=query, resource="/{proxy+}")
    event["httpMethod"] = method
    try:
        result = authorizer.handler(event, FakeLambdaContext())
    except Exception as error:  # only the one refusal API Gateway turns into a 401 may escape
        assert str(error) == "Unauthorized", repr(error)
        assert path in ("/run", "/process-queue"), path  # and only on the cron routes
        return
    assert not policy_allows(result, event["methodArn"]), result


@FUZZ
@given(
    token=st.sampled_from(["", " ", "rq_", "rq_\x00", "Bearer", "rq_" + "A" * 43, "rq_" + "é" * 43, "x" * 5000]),
    where=st.sampled_from(["bearer", "header", "query"]),
)
def test_fuzzed_tokens_get_the_cron_refusals(gateways: dict[str, Gateway], token: str, where: str) -> None:
    headers = {"Authorization": f"Bearer {token}"} if where == "bearer" else {}
    headers |= {"X-Redis-Queue-Token": token} if where == "header" else {}
    query = {"token": token} if where == "query" else None
    answer = gateways["cron"].request("POST", "/process-queue", headers=headers, query=query)
    provided = token if where == "query" else token.strip()  # headers are trimmed, ?token= is not (as the plugin)
    assert (answer.status, answer.code) == refusal_of("/process-queue", provided)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
# Hostile bodies (issue 13: each was a 500): nesting far past QUEUE_API_MAX_JSON_DEPTH and numbers
# past QUEUE_API_MAX_JSON_NUMBER_DIGITS (and int()'s own limit), in JSON, in a payload sent as a JSON
# string, in form fields; numbers JSON cannot hold.
too_deep = st.integers(min_value=33, max_value=60_000)
too_long = st.integers(min_value=101, max_value=20_000)
hostile_json = st.one_of(
    too_deep.map(lambda n: "[" * n + "]" * n),
    too_deep.map(lambda n: '{"type": "echo", "payload": ' + '{"a": ' * n + "1" + "}" * (n + 1)),
    too_deep.map(lambda n: json.dumps({"type": "echo", "payload": "[" * n + "]" * n})),
    too_long.map(lambda n: '{"type": "echo", "payload": {"n": [-' + "9" * n + "]}}"),
    too_long.map(lambda n: '{"type": "echo", "priority": ' + "1" * n + "}"),
    too_long.map(lambda n: '{"type": "echo", "payload": {"x": 0.' + "5" * n + "}}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"]).map(
        lambda c: '{"type": "echo", "payload": {"n": ' + c + "}}"
    ),
)
hostile_forms = st.one_of(
    too_deep.map(lambda n: "type=echo&payload" + "[a]" * n + "=1"),
    too_deep.map(lambda n: "type=echo&payload" + "[a]" * (n - 1) + "[]=1"),
    too_deep.map(lambda n: "type=echo&payload=" + quote("[" * n + "]" * n)),
    too_long.map(lambda n: "type=echo&" + quote('payload[{"n": ' + "9" * n + "}]")),
)
create_bodies = st.one_of(
    hostile_json,
    hostile_forms,
    text,
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.dictionaries(
        st.sampled_from(["type", "payload", "queue", "priority", "delay", "max_attempts", "timeout", "x"]),
        json_values,
        max_size=6,
    ).map(json.dumps),
    json_values.map(json.dumps),
)
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", "", "x/y;;"])
api_routes = st.sampled_from(
    [
        ("POST", "/jobs", "/jobs"),
        ("POST", "/workers/trigger", "/workers/trigger"),
        ("POST", "/tokens", "/tokens"),
        ("POST", "/jobs/purge", "/jobs/purge"),
        ("GET", "/jobs", "/jobs"),
        ("GET", "/jobs/{id}", "/jobs/%s"),
        ("POST", "/queues/{id}/clear", "/queues/%s/clear"),
    ]
)


def assert_contract(answer: dict[str, Any]) -> None:
    assert answer["statusCode"] < 500, answer
    if answer["statusCode"] >= 400:
        body = json.loads(answer["body"])
        assert isinstance(body["code"], str) and isinstance(body["message"], str)
        assert body["data"]["status"] == answer["statusCode"]


@FUZZ
@given(
    route=api_routes,
    segment=st.text(alphabet=st.characters(blacklist_characters="/"), min_size=1, max_size=30),
    body=create_bodies,
    content_type=content_types,
    query=st.dictionaries(st.sampled_from(["page", "per_page", "status", "queue", "flat", "x"]), text, max_size=3),
    base64_flag=st.booleans(),
)
def test_fuzzed_api_events_answer_in_the_contract_format(
    gateways: dict[str, Gateway],
    route: tuple[str, str, str],
    segment: str,
    body: str,
    content_type: str,
    query: dict[str, str],
    base64_flag: bool,
) -> None:
    method, _, template_path = route
    path = template_path % segment if "%s" in template_path else template_path
    event = proxy_event(
        method,
        path,
        headers={"Content-Type": content_type} if content_type else {},
        query=query,
        body=body,
        resource="/{proxy+}",
        authorizer={"principalId": "tok_fuzz", "token_id": "tok_fuzz", "scope": "full", "rate_limit": 100_000},
    )
    event["isBase64Encoded"] = base64_flag
    assert_contract(gateways["api"].api.handler(event, FakeLambdaContext(timeout_s=30)))


@FUZZ
@given(
    body=st.one_of(hostile_json.map(lambda b: (b, "application/json")), hostile_forms.map(lambda b: (b, FORM))),
    path=st.sampled_from(["/jobs", "/workers/trigger", "/tokens", "/jobs/purge"]),
)
def test_fuzzed_hostile_bodies_are_400_rest_invalid_param(
    gateways: dict[str, Gateway], body: tuple[str, str], path: str
) -> None:
    text, content_type = body
    event = proxy_event(
        "POST",
        path,
        headers={"Content-Type": content_type},
        body=text,
        resource="/{proxy+}",
        authorizer={"principalId": "tok_fuzz", "token_id": "tok_fuzz", "scope": "full", "rate_limit": 100_000},
    )
    answer = gateways["api"].api.handler(event, FakeLambdaContext(timeout_s=30))
    assert_contract(answer)
    assert (answer["statusCode"], json.loads(answer["body"])["code"]) == (400, "rest_invalid_param"), answer
    assert admin_client(container().settings).keys("{rq}:pending:*") == []


@FUZZ
@given(body=hostile_json, method=st.sampled_from(["POST", "PATCH", "DELETE"]))
def test_fuzzed_hostile_site_bodies_are_400(gateways: dict[str, Gateway], body: str, method: str) -> None:
    event = proxy_event(
        method, "/sites", body=body, authorizer={"principalId": "tok_f", "token_id": "tok_f", "scope": "full"}
    )
    answer = gateways["cron"].api.handler(event, FakeLambdaContext())
    assert answer["statusCode"] == 400, answer
    assert json.loads(answer["body"])["code"] == "rest_invalid_param"


@FUZZ
@given(
    route=st.sampled_from(
        [
            ("GET", "/run"),
            ("POST", "/process-queue"),
            ("POST", "/sites"),
            ("PATCH", "/sites"),
            ("DELETE", "/sites"),
            ("GET", "/runs"),
        ]
    ),
    body=create_bodies,
    query=st.dictionaries(st.sampled_from(["defer", "ga", "max", "url", "limit", "x"]), text, max_size=3),
)
def test_fuzzed_trigger_events_answer_without_a_5xx_crash(
    gateways: dict[str, Gateway], route: tuple[str, str], body: str, query: dict[str, str]
) -> None:
    method, path = route
    query = {k: v for k, v in query.items() if not (path == "/run" and k == "defer")} | (
        {"defer": "1"} if path == "/run" else {}
    )
    event = proxy_event(
        method, path, query=query, body=body, authorizer={"principalId": "tok_f", "token_id": "tok_f", "scope": "full"}
    )
    answer = gateways["cron"].api.handler(event, FakeLambdaContext())
    assert answer["statusCode"] < 500 or json.loads(answer["body"]).get("error_code") in {"NO_SITES", "ALL_FAILED"}
    if answer["statusCode"] >= 400 and "ga" not in query:
        parsed = json.loads(answer["body"])
        assert isinstance(parsed.get("code") or parsed.get("error_code"), str), parsed
