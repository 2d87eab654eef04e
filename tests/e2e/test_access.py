"""Who may call what, answered as the deployed API answers: 403 ``rest_forbidden`` without a valid
token (401 / 403 in all-sites-cron's words on its routes), 403 for a route outside the token's
scope, 404 for no route, 429 past the token's rate limit."""

from __future__ import annotations

import requests

from tests.support.stack import Api, StackProcess

FORBIDDEN = {
    "code": "rest_forbidden",
    "message": "You do not have permission to access this endpoint.",
    "data": {"status": 403},
}


def test_no_token_is_403_rest_forbidden(stack: StackProcess) -> None:
    answer = requests.get(f"{stack.url}/jobs", timeout=30)
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)


def test_an_unknown_token_is_403_rest_forbidden(stack: StackProcess) -> None:
    answer = stack.client("rq_not-a-token").get("/jobs")
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)


def test_the_cron_routes_refuse_in_all_sites_cron_words(stack: StackProcess) -> None:
    missing = requests.get(f"{stack.url}/run", params={"defer": "1"}, timeout=30)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["code"] == "all_sites_cron_auth_missing"
    wrong = requests.post(f"{stack.url}/process-queue", params={"token": "rq_not-a-token"}, timeout=30)
    assert wrong.status_code == 403 and wrong.json()["code"] == "all_sites_cron_auth_invalid"


def test_the_token_works_in_either_header_and_in_the_query_of_trigger_routes(stack: StackProcess) -> None:
    token = stack.env["QUEUE_API_TOKEN"]
    assert requests.get(f"{stack.url}/stats", headers={"X-Redis-Queue-Token": token}, timeout=60).ok
    # Cron services that cannot send headers put the token in the URL of the trigger routes only.
    assert requests.post(f"{stack.url}/process-queue", params={"token": token}, timeout=60).ok
    assert requests.get(f"{stack.url}/stats", params={"token": token}, timeout=60).status_code == 403


def test_a_worker_token_may_trigger_workers_but_not_list_jobs(stack: StackProcess) -> None:
    worker = stack.client(stack.env["QUEUE_WORKER_TOKEN"])
    forbidden = worker.get("/jobs")
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "code": "rest_forbidden_scope",
        "message": "Token scope does not permit this endpoint.",
        "data": {"status": 403},
    }
    # The contract's form example (multi-value query-style keys in a form body).
    triggered = worker.post("/workers/trigger", data=[("queues[]", "e2e-empty"), ("max_jobs", "5")])
    assert triggered.status_code == 200, triggered.text
    assert triggered.json()["success"] is True


def test_no_route_is_404_in_the_contract_format(api: Api) -> None:
    for method, path in (("GET", "/"), ("GET", "/process-queue")):
        answer = api.request(method, path)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["data"]["status"] == 404


def test_past_the_rate_limit_is_429(api: Api, stack: StackProcess) -> None:
    created = api.post("/tokens", json={"name": "e2e-limited", "scope": "full", "rate_limit": 2})
    assert created.status_code == 201, created.text
    limited = stack.client(created.json()["token"])
    answers = [limited.get("/stats") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].json() == {
        "code": "rate_limited",
        "message": "Rate limit exceeded. Try again later.",
        "data": {"status": 429},
    }
