"""The REST API end to end: authorizer + API handler with API Gateway events, real redis-server and
moto's server. Every route, every error code, the contract's bodies and headers."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest

from devstack.apigw import proxy_event
from devstack.functions import Resolver
from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.routes import rest_apis
from relayq.container import container
from relayq.domain.clock import now_ms, to_text
from relayq.domain.models import Job, JobStatus, new_job_id
from relayq.redis.broker import QueueEntry
from tests.support.api_flow import Gateway, HttpResult
from tests.support.redis_matrix import admin_client

EVENTS = ROOT / "events" / "api"


@pytest.fixture
def logs(gw: Gateway) -> Iterator[io.StringIO]:
    """What the functions' Powertools Logger writes (one JSON object per line)."""
    handler = gw.api.logger.registered_handler
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def create(gw: Gateway, token: str, **body: Any) -> str:
    answer = gw.request("POST", "/jobs", token=token, json_body={"type": "echo", **body})
    assert answer.status == 201, answer.body
    return str(answer.body["job_id"])


def nothing_written(gw: Gateway, token: str) -> None:
    listing = gw.request("GET", "/jobs", token=token)
    assert listing.body == [] and listing.headers["X-WP-Total"] == "0"
    assert admin_client(container().settings).keys("{rq}:pending:*") == []


def assert_error(answer: HttpResult, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    assert answer.body["code"] == code
    assert answer.body["data"]["status"] == status
    assert isinstance(answer.body["message"], str) and answer.body["message"]


# --- jobs -----------------------------------------------------------------------------------------


def test_create_get_list_and_cancel_a_job(gw: Gateway, full_token: str) -> None:
    created = gw.request(
        "POST", "/jobs", token=full_token, json_body={"type": "echo", "payload": {"to": "a@b.c"}, "priority": 10}
    )
    assert created.status == 201
    assert created.body == {
        "success": True,
        "job_id": created.body["job_id"],
        "message": "Job created and enqueued successfully.",
    }
    job_id = created.body["job_id"]
    job = gw.request("GET", f"/jobs/{job_id}", token=full_token).body
    assert set(job) >= {
        "id", "type", "queue", "status", "priority", "payload", "result", "attempts", "max_attempts",
        "timeout", "error_message", "created_at", "updated_at", "processed_at", "failed_at",
    }  # fmt: skip
    assert (job["status"], job["priority"], job["payload"], job["queue"]) == ("queued", 10, {"to": "a@b.c"}, "default")
    listing = gw.request("GET", "/jobs", token=full_token)
    assert [j["id"] for j in listing.body] == [job_id]
    cancelled = gw.request("DELETE", f"/jobs/{job_id}", token=full_token)
    assert cancelled.body == {"success": True, "job_id": job_id, "message": "Job cancelled successfully."}
    assert gw.request("GET", f"/jobs/{job_id}", token=full_token).body["status"] == "cancelled"
    assert_error(gw.request("DELETE", f"/jobs/{job_id}", token=full_token), 404, "job_not_found_or_not_cancellable")


def test_create_with_delay_attempts_timeout_and_queue(gw: Gateway, full_token: str) -> None:
    job_id = create(gw, full_token, queue="email", delay=120, max_attempts=5, timeout=60)
    job = gw.request("GET", f"/jobs/{job_id}", token=full_token).body
    assert (job["queue"], job["max_attempts"], job["timeout"]) == ("email", 5, 60)
    assert job["delay_until"] is not None


@pytest.mark.parametrize(
    "form",
    [
        [("type", "echo"), ("priority", "10"), ("payload[to]", "admin@example.com"), ("payload[subject]", "Hi")],
        [("type", "echo"), ("priority", "10"), ("payload", '{"to":"admin@example.com","subject":"Hi"}')],
        [("type", "echo"), ("priority", "10"), ('payload[{"to":"admin@example.com","subject":"Hi"}]', "")],
    ],
    ids=["payload-fields", "payload-json-string", "contract-curl-form"],
)
def test_create_from_form_encoded_bodies(gw: Gateway, full_token: str, form: list[tuple[str, str]]) -> None:
    answer = gw.request("POST", "/jobs", token=full_token, form=form)
    assert answer.status == 201, answer.body
    job = gw.request("GET", f"/jobs/{answer.body['job_id']}", token=full_token).body
    assert job["payload"] == {"to": "admin@example.com", "subject": "Hi"} and job["priority"] == 10


def test_list_pagination_filters_and_headers(gw: Gateway, full_token: str) -> None:
    ids = [create(gw, full_token, queue="a"), create(gw, full_token, queue="b"), create(gw, full_token, queue="a")]
    gw.request("POST", "/jobs", token=full_token, json_body={"type": "noop", "queue": "a"})
    page = gw.request("GET", "/jobs", token=full_token, query={"per_page": "2", "page": "2", "type": "echo"})
    assert [j["id"] for j in page.body] == [ids[0]]
    assert page.headers["X-WP-Total"] == page.headers["X-Total-Count"] == "3"
    assert page.headers["X-WP-TotalPages"] == page.headers["X-Total-Pages"] == "2"
    by_queue = gw.request("GET", "/jobs", token=full_token, query={"queue": "a", "type": "echo"})
    assert [j["id"] for j in by_queue.body] == [ids[2], ids[0]]
    gw.request("DELETE", f"/jobs/{ids[1]}", token=full_token)
    cancelled = gw.request("GET", "/jobs", token=full_token, query={"status": "cancelled"})
    assert [j["id"] for j in cancelled.body] == [ids[1]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"per_page": "101"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"status": "lost"}, "status"),
        ({"per_page": "x"}, "per_page"),
    ],
)
def test_list_rejects_bad_parameters(gw: Gateway, full_token: str, query: dict[str, str], field: str) -> None:
    answer = gw.request("GET", "/jobs", token=full_token, query=query)
    assert_error(answer, 400, "rest_invalid_param")
    assert field in answer.body["data"]["params"] and field in answer.body["message"]


def test_unknown_job_is_404(gw: Gateway, full_token: str) -> None:
    assert_error(gw.request("GET", "/jobs/job_0000000000000000000000000000", token=full_token), 404, "job_not_found")
    assert_error(gw.request("GET", "/jobs/not-an-id", token=full_token), 404, "job_not_found")


def test_trigger_runs_a_batch_and_answers_as_the_contract(gw: Gateway, full_token: str) -> None:
    create(gw, full_token)
    create(gw, full_token)
    broken = gw.request("POST", "/jobs", token=full_token, json_body={"type": "broken", "queue": "email"}).body[
        "job_id"
    ]
    answer = gw.request(
        "POST", "/workers/trigger", token=full_token, json_body={"queues": ["default", "email"], "max_jobs": 5}
    )
    assert answer.status == 200
    assert answer.body["success"] is True and answer.body["message"] == "Worker processed 3 jobs."
    data = answer.body["data"]
    assert set(data) == {"processed", "successful", "failed", "errors", "success"}
    assert (data["processed"], data["successful"], data["failed"], data["success"]) == (3, 2, 1, True)
    assert gw.request("GET", f"/jobs/{broken}", token=full_token).body["status"] == "failed"


def test_trigger_defaults_to_the_default_queue_and_accepts_form_lists(gw: Gateway, full_token: str) -> None:
    create(gw, full_token, queue="other")
    assert gw.request("POST", "/workers/trigger", token=full_token).body["data"]["processed"] == 0
    answer = gw.request("POST", "/workers/trigger", token=full_token, form=[("queues[]", "other"), ("max_jobs", "5")])
    assert answer.body["data"]["processed"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_jobs": 0}, "max_jobs"),
        ({"max_jobs": 101}, "max_jobs"),
        ({"queues": ["bad name!"]}, "queues.0"),
        ({"queues": "default"}, "queues"),
    ],
)
def test_trigger_rejects_bad_input(gw: Gateway, full_token: str, body: dict[str, Any], field: str) -> None:
    answer = gw.request("POST", "/workers/trigger", token=full_token, json_body=body)
    assert_error(answer, 400, "rest_invalid_param")
    assert field in answer.body["data"]["params"]


def test_retry_a_failed_job(gw: Gateway, full_token: str) -> None:
    job_id = gw.request("POST", "/jobs", token=full_token, json_body={"type": "broken"}).body["job_id"]
    assert_error(gw.request("POST", f"/jobs/{job_id}/retry", token=full_token), 404, "job_not_found_or_not_retryable")
    gw.request("POST", "/workers/trigger", token=full_token)
    answer = gw.request("POST", f"/jobs/{job_id}/retry", token=full_token)
    assert answer.body == {"success": True, "job_id": job_id, "message": "Job queued for retry."}
    job = gw.request("GET", f"/jobs/{job_id}", token=full_token).body
    assert job["status"] == "queued"


def test_purge_deletes_only_old_finished_jobs(gw: Gateway, full_token: str) -> None:
    old = now_ms() - 10 * 86_400_000
    store = container().jobs.store
    finished = Job(
        id=new_job_id(old), type="echo", queue="default", status=JobStatus.COMPLETED, priority=1,
        max_attempts=1, timeout=10, created_at=to_text(old), updated_at=to_text(old),
    )  # fmt: skip
    store.put_new(finished)
    recent = create(gw, full_token)
    answer = gw.request("POST", "/jobs/purge", token=full_token, json_body={"older_than_days": 7})
    assert answer.body == {"success": True, "deleted": 1, "message": "Purged 1 finished jobs."}
    assert_error(gw.request("GET", f"/jobs/{finished.id}", token=full_token), 404, "job_not_found")
    assert gw.request("GET", f"/jobs/{recent}", token=full_token).status == 200
    assert_error(
        gw.request("POST", "/jobs/purge", token=full_token, json_body={"older_than_days": 0}), 400, "rest_invalid_param"
    )


def test_reconcile_repairs_what_redis_lost_and_answers_counts(gw: Gateway, full_token: str, worker_token: str) -> None:
    old = now_ms() - 3_600_000
    store, broker = container().jobs.store, container().jobs.broker

    def record(status: JobStatus, **fields: Any) -> Job:
        job = Job(
            id=new_job_id(old), type="echo", queue="default", status=status, priority=1,
            max_attempts=1, timeout=10, created_at=to_text(old), updated_at=to_text(old), **fields,
        )  # fmt: skip
        store.put_new(job)
        return job

    forgotten = record(JobStatus.QUEUED)  # Redis lost it (a restart without its append-only file)
    lost_running = record(JobStatus.PROCESSING, attempts=1, fence=1)  # lost on its last attempt
    orphan = record(JobStatus.COMPLETED)
    broker.enqueue([QueueEntry(orphan.id, "default", 1, 10)])  # finished, yet still waiting in Redis
    answer = gw.request("POST", "/reconcile", token=full_token)
    assert answer.status == 200, answer.body
    assert answer.body == {
        "success": True,
        "data": {"requeued": 1, "failed": 1, "dropped": 1},
        "message": "Reconciled: 1 requeued, 1 failed, 1 dropped.",
    }
    assert broker.presence([forgotten.id, orphan.id]) == {forgotten.id: True, orphan.id: False}
    failed = gw.request("GET", f"/jobs/{lost_running.id}", token=full_token).body
    assert failed["status"] == "failed" and "Lost from Redis while running" in failed["error_message"]
    again = gw.request("POST", "/reconcile", token=full_token)
    assert again.body["data"] == {"requeued": 0, "failed": 0, "dropped": 0}
    assert_error(gw.request("POST", "/reconcile", token=worker_token), 403, "rest_forbidden_scope")


# --- queues, stats, health ------------------------------------------------------------------------


def test_clear_queue(gw: Gateway, full_token: str) -> None:
    ids = [create(gw, full_token, queue="email"), create(gw, full_token, queue="email")]
    kept = create(gw, full_token)
    answer = gw.request("POST", "/queues/email/clear", token=full_token)
    assert answer.body == {"success": True, "cleared": 2, "message": 'Queue "email" cleared successfully.'}
    assert [gw.request("GET", f"/jobs/{i}", token=full_token).body["status"] for i in [*ids, kept]] == [
        "cancelled", "cancelled", "queued",
    ]  # fmt: skip
    assert_error(gw.request("POST", "/queues/bad%20name/clear", token=full_token), 400, "rest_invalid_param")


def test_stats_nested_and_flat(gw: Gateway, full_token: str) -> None:
    create(gw, full_token)
    create(gw, full_token, queue="email", delay=600)
    data = gw.request("GET", "/stats", token=full_token).body["data"]
    assert data["default"] == {"pending": 1, "size": 1}
    assert data["delayed"] == {"pending": 1, "size": 1}
    assert data["database"]["total"] == 2 and data["database"]["queued"] == 2
    flat = gw.request("GET", "/stats", token=full_token, query={"flat": "1"}).body["data"]
    assert flat["total"] == 2 and flat["queued"] == 2 and flat["default_pending"] == 1 and flat["delayed_pending"] == 1


def test_stats_of_one_queue_as_the_plugin_answers(gw: Gateway, full_token: str) -> None:
    create(gw, full_token)
    create(gw, full_token, queue="email")
    create(gw, full_token, queue="email")
    data = gw.request("GET", "/stats", token=full_token, query={"queue": "email"}).body["data"]
    assert data == {"email": {"pending": 2, "size": 2}, "database": data["database"]}
    assert data["database"]["total"] == 3  # the database counts are every queue's, as the plugin's
    unused = gw.request("GET", "/stats", token=full_token, query={"queue": "never-used"})
    assert unused.status == 200 and unused.body["data"]["never-used"] == {"pending": 0, "size": 0}
    flat = gw.request("GET", "/stats", token=full_token, query={"queue": "email", "flat": "1"}).body["data"]
    assert flat["email_pending"] == 2 and flat["total"] == 3
    for bad in ("a:b", "{rq}", "../x", "q" * 65):
        answer = gw.request("GET", "/stats", token=full_token, query={"queue": bad})
        assert_error(answer, 400, "rest_invalid_param")
        assert "queue" in answer.body["data"]["params"]


def test_health_reports_dependencies_with_the_plugins_fields(gw: Gateway, full_token: str) -> None:
    answer = gw.request("GET", "/health", token=full_token)
    assert answer.status == 200 and answer.body["status"] == "healthy" and answer.body["success"] is True
    data = answer.body["data"]
    assert data["redis_connected"] is True and data["database_status"] is True
    assert data["version"] and data["python_version"] and data["plugin_version"] == data["version"]
    assert data["memory_usage"]["peak"] > 0 and set(data["memory_usage"]) == {"current", "peak", "limit"}
    info = data["redis_info"]
    # used_memory is the human form, as the plugin's admin page shows it ("812K", "1.02M").
    assert re.fullmatch(r"\d+(\.\d+)?[BKMGT]", info["used_memory"]), info
    assert info["used_memory"] == info["used_memory_human"] and info["connected_clients"] >= 1
    assert (info["engine"], info["cluster_mode"]) == ("redis", False)
    assert info["redis_version"] and info["engine_version"] == info["redis_version"]


def test_health_is_200_unhealthy_when_redis_is_down_and_503_when_strict(
    gw: Gateway, full_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.redis_server import free_port
    from relayq.container import reset as reset_container

    monkeypatch.setenv("QUEUE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.2")
    reset_container()
    answer = gw.request("GET", "/health", token=full_token)
    assert answer.status == 200
    assert answer.body["status"] == "unhealthy" and answer.body["success"] is False
    assert answer.body["data"]["redis_connected"] is False and answer.body["data"]["database_status"] is True
    for strict in ("1", "true", "yes"):
        strict_answer = gw.request("GET", "/health", token=full_token, query={"strict": strict})
        assert (strict_answer.status, strict_answer.body["status"]) == (503, "unhealthy"), strict
    assert gw.request("GET", "/health", token=full_token, query={"strict": "0"}).status == 200
    assert_error(gw.request("POST", "/jobs", token=full_token, json_body={"type": "echo"}), 503, "redis_unavailable")


def test_strict_health_is_200_when_healthy(gw: Gateway, full_token: str) -> None:
    assert gw.request("GET", "/health", token=full_token, query={"strict": "1"}).status == 200


def test_dynamodb_down_is_unhealthy_health_and_503_for_create_and_the_authorizer(
    gw: Gateway, full_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.redis_server import free_port
    from relayq.container import reset as reset_container

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    reset_container()
    principal: dict[str, str | int] = {"principalId": "tok_x", "token_id": "tok_x", "scope": "full", "rate_limit": 60}
    health = gw.invoke(proxy_event("GET", "/health", resource="/{proxy+}", authorizer=principal))
    assert health.status == 200 and health.body["status"] == "unhealthy" and health.body["success"] is False
    assert health.body["data"]["redis_connected"] is True and health.body["data"]["database_status"] is False
    body = json.dumps({"type": "echo"})
    created = gw.invoke(proxy_event("POST", "/jobs", body=body, resource="/{proxy+}", authorizer=principal))
    assert_error(created, 503, "database_unavailable")
    assert admin_client(container().settings).keys("{rq}:pending:*") == []
    # The authorizer cannot check the token: API Gateway's AUTHORIZER_FAILURE answer.
    assert_error(gw.request("GET", "/stats", token=full_token), 503, "auth_unavailable")


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/nothing"), ("PUT", "/jobs"), ("GET", "/jobs/x/y/z")])
def test_unknown_routes_are_rest_no_route(gw: Gateway, full_token: str, method: str, path: str) -> None:
    assert_error(gw.request(method, path, token=full_token), 404, "rest_no_route")


def test_unexpected_errors_are_500_without_details(gw: Gateway, full_token: str, logs: io.StringIO) -> None:
    def failing_list(*_: Any, **__: Any) -> None:
        raise RuntimeError("internal detail /var/task/secret.py")

    service = container().jobs
    original = service.list
    service.list = failing_list  # type: ignore[method-assign,assignment]
    try:
        answer = gw.request("GET", "/jobs", token=full_token)
    finally:
        service.list = original  # type: ignore[method-assign]
    assert_error(answer, 500, "internal_error")
    assert "secret" not in json.dumps(answer.body)
    assert "internal detail" in logs.getvalue()  # logged for the operator


@pytest.mark.parametrize(
    ("body", "content_type", "code", "field"),
    [
        ('{"type": "echo",', "application/json", "rest_invalid_param", "body"),
        ('["echo"]', "application/json", "rest_invalid_param", "body"),
        ('{"payload": {}}', "application/json", "rest_invalid_param", "type"),
        ('{"type": "echo", "priority": "high"}', "application/json", "rest_invalid_param", "priority"),
        ('{"type": "echo", "priority": 5000}', "application/json", "rest_invalid_param", "priority"),
        ('{"type": "echo", "payload": [1, 2]}', "application/json", "rest_invalid_param", "payload"),
        ('{"type": "echo", "payload": "{not json"}', "application/json", "rest_invalid_param", "payload"),
        ('{"type": "echo", "queue": "a:b"}', "application/json", "rest_invalid_param", "queue"),
        ('{"type": "echo", "delay": -1}', "application/json", "rest_invalid_param", "delay"),
        ('{"type": "echo", "max_attempts": 0}', "application/json", "rest_invalid_param", "max_attempts"),
        ('{"type": "echo", "timeout": 100000}', "application/json", "rest_invalid_param", "timeout"),
        ('{"type": "echo", "colour": "red"}', "application/json", "rest_invalid_param", "colour"),
        ('{"type": "email_that_does_not_exist"}', "application/json", "invalid_job_type", None),
        ('{"type": "sleep", "payload": {"seconds": 999}}', "application/json", "rest_invalid_param", None),
        ("type=echo&priority=high", "application/x-www-form-urlencoded", "rest_invalid_param", "priority"),
    ],
)
def test_malformed_create_is_400_and_writes_nothing(
    gw: Gateway, full_token: str, body: str, content_type: str, code: str, field: str | None
) -> None:
    answer = gw.request("POST", "/jobs", token=full_token, body=body, headers={"Content-Type": content_type})
    assert_error(answer, 400, code)
    if field:
        assert field in answer.body["message"]
    nothing_written(gw, full_token)


DEEP_OBJECT = '{"type": "echo", "payload": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001
DEEP_ARRAY = '{"type": "echo", "payload": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}"
HUGE_INT = '{"type": "echo", "payload": {"n": ' + "9" * 5000 + "}}"
JSON, FORM = "application/json", "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (DEEP_OBJECT, JSON, "nested deeper than 32 levels"),
        (DEEP_ARRAY, JSON, "nested deeper than 32 levels"),
        (HUGE_INT, JSON, "longer than 100 digits"),
        ('{"type": "echo", "payload": {"n": 1e400}}', JSON, "out of range"),
        ('{"type": "echo", "payload": {"n": NaN}}', JSON, "not a JSON value"),
        ("type=echo&payload" + "[a]" * 50_000 + "=1", FORM, "nested deeper than 32 levels"),
        ("type=echo&payload=" + quote('{"a":' * 30_000 + "1" + "}" * 30_000), FORM, "nested deeper than 31 levels"),
        ("type=echo&" + quote('payload[{"n": ' + "9" * 5000 + "}]"), FORM, "longer than 100 digits"),
        (json.dumps({"type": "echo", "payload": "[" * 50_000 + "]" * 50_000}), JSON, "nested deeper than 31 levels"),
    ],
)
def test_hostile_bodies_are_400_and_write_nothing(
    gw: Gateway, full_token: str, body: str, content_type: str, reason: str
) -> None:
    """Found by the abuse pass (issue 13): these were 500 internal_error (RecursionError, ValueError)."""
    answer = gw.request("POST", "/jobs", token=full_token, body=body, headers={"Content-Type": content_type})
    assert_error(answer, 400, "rest_invalid_param")
    assert reason in answer.body["message"]
    nothing_written(gw, full_token)


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/workers/trigger"), ("POST", "/tokens"), ("POST", "/jobs/purge")]
)
def test_every_body_of_the_api_keeps_to_the_limits(gw: Gateway, full_token: str, method: str, path: str) -> None:
    for body in (DEEP_ARRAY, HUGE_INT):
        answer = gw.request(method, path, token=full_token, body=body, headers={"Content-Type": JSON})
        assert_error(answer, 400, "rest_invalid_param")


def test_a_payload_at_the_depth_limit_is_created(gw: Gateway, full_token: str) -> None:
    payload: dict[str, object] = {"n": 10**99}
    for _ in range(30):  # 31 levels of payload, 32 with the body
        payload = {"a": payload}
    job_id = create(gw, full_token, payload=payload)
    assert gw.request("GET", f"/jobs/{job_id}", token=full_token).body["payload"] == payload


def test_huge_payloads_are_refused(gw: Gateway, full_token: str) -> None:
    big = {"type": "echo", "payload": {"blob": "x" * 300_000}}
    assert_error(gw.request("POST", "/jobs", token=full_token, json_body=big), 400, "payload_too_large")
    huge = {"type": "echo", "payload": {"blob": "x" * 2_000_000}}
    assert_error(gw.request("POST", "/jobs", token=full_token, json_body=huge), 400, "payload_too_large")
    nothing_written(gw, full_token)


# --- idempotency ----------------------------------------------------------------------------------


def test_idempotency_key_returns_the_same_job(gw: Gateway, full_token: str) -> None:
    body = {"type": "echo", "payload": {"n": 1}}
    first = gw.request("POST", "/jobs", token=full_token, json_body=body, headers={"Idempotency-Key": "order-42"})
    again = gw.request("POST", "/jobs", token=full_token, json_body=body, headers={"Idempotency-Key": "order-42"})
    assert first.status == again.status == 201
    assert first.body["job_id"] == again.body["job_id"]
    other = gw.request("POST", "/jobs", token=full_token, json_body=body, headers={"Idempotency-Key": "order-43"})
    assert other.body["job_id"] != first.body["job_id"]
    assert gw.request("GET", "/jobs", token=full_token).headers["X-WP-Total"] == "2"
    changed = gw.request(
        "POST",
        "/jobs",
        token=full_token,
        json_body={**body, "payload": {"n": 2}},
        headers={"Idempotency-Key": "order-42"},
    )
    assert_error(changed, 422, "idempotency_key_reused")
    assert gw.request("GET", "/jobs", token=full_token).headers["X-WP-Total"] == "2"


def test_idempotency_keys_are_per_token(gw: Gateway, full_token: str) -> None:
    second = container().tokens.create("other", "full").token
    body = {"type": "echo"}
    a = gw.request("POST", "/jobs", token=full_token, json_body=body, headers={"Idempotency-Key": "k"})
    b = gw.request("POST", "/jobs", token=second, json_body=body, headers={"Idempotency-Key": "k"})
    assert a.body["job_id"] != b.body["job_id"]


def test_failed_create_does_not_burn_the_idempotency_key(gw: Gateway, full_token: str) -> None:
    bad = gw.request("POST", "/jobs", token=full_token, json_body={"type": "nope"}, headers={"Idempotency-Key": "k1"})
    assert_error(bad, 400, "invalid_job_type")
    good = gw.request("POST", "/jobs", token=full_token, json_body={"type": "echo"}, headers={"Idempotency-Key": "k1"})
    assert good.status == 201


# --- tokens, docs ---------------------------------------------------------------------------------


def test_token_management_routes(gw: Gateway, full_token: str) -> None:
    created = gw.request(
        "POST", "/tokens", token=full_token, json_body={"name": "ci", "scope": "worker", "rate_limit": 5}
    )
    assert created.status == 201 and created.body["token"].startswith("rq_")
    info = created.body["data"]
    assert (info["name"], info["scope"], info["rate_limit"], info["revoked"]) == ("ci", "worker", 5, False)
    new_token = created.body["token"]
    assert gw.request("POST", "/workers/trigger", token=new_token).status == 200
    listing = gw.request("GET", "/tokens", token=full_token)
    assert {t["name"] for t in listing.body["data"]} == {"admin", "ci"}
    assert new_token not in json.dumps(listing.body) and "token_hash" not in json.dumps(listing.body)
    revoked = gw.request("DELETE", f"/tokens/{info['id']}", token=full_token)
    assert revoked.body["data"]["revoked"] is True
    assert_error(gw.request("POST", "/workers/trigger", token=new_token), 403, "rest_forbidden")
    assert_error(gw.request("DELETE", f"/tokens/{info['id']}", token=full_token), 404, "token_not_found")
    bad = gw.request("POST", "/tokens", token=full_token, json_body={"name": "", "scope": "root"})
    assert_error(bad, 400, "rest_invalid_param")
    assert set(bad.body["data"]["params"]) == {"name", "scope"}


def test_openapi_and_swagger_are_served_without_a_token_from_local_files(gw: Gateway) -> None:
    document = gw.invoke(proxy_event("GET", "/openapi.json", resource="/openapi.json")).body
    assert document["info"]["title"] == "relayq REST API"
    assert {"/jobs", "/jobs/{job_id}", "/workers/trigger", "/stats", "/health", "/tokens"} <= set(document["paths"])
    docs = gw.invoke(proxy_event("GET", "/docs", resource="/docs"))
    assert docs.status == 200 and docs.headers["Content-Type"].startswith("text/html")
    page = str(docs.body)
    assert "https://" not in page and "http://" not in page  # nothing from elsewhere
    for name, kind in [("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")]:
        assert f'"docs/{name}"' in page
        asset = gw.invoke(proxy_event("GET", f"/docs/{name}", resource="/docs/{file}"))
        assert asset.status == 200 and kind in asset.headers["Content-Type"], asset.headers
        assert len(str(asset.body)) > 100_000
    for name in ["index.html", "swagger-initializer.js", "..%2Fapi_app.py", ".hidden.js"]:
        refused = gw.invoke(proxy_event("GET", f"/docs/{name}", resource="/docs/{file}"))
        assert refused.status == 404 and refused.code == "rest_no_route"


def test_the_template_leaves_the_documents_and_the_dashboard_public() -> None:
    """Public as API Gateway deploys it (and as the local gateway follows it): no authorizer."""
    api = rest_apis(Resolver({}, {}))[0]
    for path in ["/docs", "/docs/swagger-ui.css", "/openapi.json", "/dashboard", "/dashboard/app.js"]:
        _, route = api.match("GET", path)
        assert route is not None and route.authorizer is None, path
    _, jobs = api.match("GET", "/jobs")
    assert jobs is not None and jobs.authorizer is not None


def test_committed_openapi_document_is_current(api_handlers: tuple[ModuleType, ModuleType]) -> None:
    committed = (ROOT / "functions" / "api" / "openapi.json").read_text()
    assert json.loads(committed) == json.loads(api_handlers[0].openapi_document()), "run `make openapi`"


# --- request log ----------------------------------------------------------------------------------


def test_one_log_line_per_call_without_the_token(gw: Gateway, full_token: str, logs: io.StringIO) -> None:
    gw.request("GET", "/stats", token=full_token, source_ip="198.51.100.7")
    lines = [line for line in log_lines(logs) if line["message"] == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert {k: line[k] for k in ("method", "route", "status", "auth", "scope_ok", "rate_limited", "ip")} == {
        "method": "GET", "route": "/v1/stats", "status": 200, "auth": "token", "scope_ok": True,
        "rate_limited": False, "ip": "198.51.100.7",
    }  # fmt: skip
    assert line["token_id"].startswith("tok_") and line["ts"].endswith("Z")
    assert full_token not in json.dumps(line)


# --- the sample events ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in EVENTS.glob("*.json")))
def test_sample_events_run(gw: Gateway, full_token: str, name: str) -> None:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    if event.get("body"):
        event["body"] = event["body"].replace("email", "echo", 1)  # the test registry's type
    answer = gw.invoke(event)
    expected = {"create_job": 201, "create_job_form": 201, "get_job": 404, "cancel_job": 404}.get(name, 200)
    assert answer.status == expected, answer.body


def test_worker_status_and_metrics_routes(gw: Gateway, full_token: str, worker_token: str) -> None:
    created = gw.request("POST", "/jobs", token=full_token, json_body={"type": "echo", "queue": "default"})
    assert created.status == 201
    load_handler("worker").handler({"queues": ["default"], "max_jobs": 5}, FakeLambdaContext())

    status = gw.request("GET", "/workers/status", token=full_token)
    assert status.status == 200
    data = status.body["data"]
    assert data["last_run"] is not None and len(data["last_run"]) == 19
    assert data["processing"] is False and data["recent_jobs"] >= 1

    metrics = gw.request("GET", "/metrics", token=full_token)
    assert metrics.status == 200 and metrics.headers["Content-Type"].startswith("text/plain")
    lines = metrics.body.splitlines()
    assert any(line.startswith("relayq_jobs_processed_total{") and line.endswith(" 1") for line in lines)
    assert gw.request("GET", "/metrics", token=worker_token).status == 403


def test_jobs_run_by_the_trigger_show_in_the_worker_status(gw: Gateway, full_token: str) -> None:
    create(gw, full_token)
    create(gw, full_token)
    assert gw.request("GET", "/workers/status", token=full_token).body["data"]["last_run"] is None
    assert gw.request("POST", "/workers/trigger", token=full_token).body["data"]["processed"] == 2
    data = gw.request("GET", "/workers/status", token=full_token).body["data"]
    assert data["last_run"] is not None and data["processing"] is False
    assert data["recent_jobs"] == 2
    metrics = gw.request("GET", "/metrics", token=full_token).body.splitlines()
    assert any(line.startswith("relayq_jobs_processed_total{") and line.endswith(" 2") for line in metrics)


def test_dashboard_is_served_without_a_token_and_nothing_else_is(gw: Gateway) -> None:
    page = gw.invoke(proxy_event("GET", "/dashboard", resource="/dashboard"))
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<html" in page.body.lower() and page.headers["Cache-Control"] == "no-cache"
    script = gw.invoke(proxy_event("GET", "/dashboard/app.js", resource="/dashboard/{file}"))
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    for name in ["..%2Fapi_app.py", "openapi.json", ".hidden.js"]:
        refused = gw.invoke(proxy_event("GET", f"/dashboard/{name}", resource="/dashboard/{file}"))
        assert refused.status == 404 and refused.code == "rest_no_route"
