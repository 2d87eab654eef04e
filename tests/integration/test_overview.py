"""The dashboard's API: ``GET /overview`` (everything the page polls, in one call), ``POST
/jobs/{id}/run-now`` (the delayed tab's action) and the attempt history in ``GET /jobs/{id}``,
through the authorizer and the API handler, over real Redis and moto's server."""

from __future__ import annotations

import pytest

from relayq.container import container
from relayq.domain.clock import now_ms
from relayq.domain.cron import new_run_id
from tests.integration.test_api import assert_error, create
from tests.support.api_flow import Gateway


def test_the_overview_has_every_part_the_page_shows(gw: Gateway, full_token: str) -> None:
    done = create(gw, full_token, payload={"n": 1})
    waiting = create(gw, full_token, payload={"n": 2}, delay=3600)
    gw.request("POST", "/workers/trigger", token=full_token)
    run_id = new_run_id(now_ms())
    container().runs.create(run_id, "sync", None)

    answer = gw.request("GET", "/overview", token=full_token, query={"jobs": f"{done},{waiting}"})
    assert answer.status == 200, answer.body
    assert answer.body["success"] is True and answer.body["errors"] == {}
    data = answer.body["data"]
    assert set(data) == {"stats", "workers", "running", "runs", "health", "counters", "cost", "jobs"}
    assert data["stats"]["database"]["completed"] == 1 and data["stats"]["delayed"]["pending"] == 1
    assert {"last_run", "processing", "recent", "throughput"} <= set(data["workers"])
    assert data["running"] == []
    assert [run["run_id"] for run in data["runs"]] == [run_id]
    assert data["health"]["status"] == "healthy" and data["health"]["redis_connected"] is True
    assert set(data["counters"]) == {"completed", "failed", "retry"}
    # The profile's floor (the template's CostFloors, via QUEUE_COST_FLOOR_USD) and the one job run.
    settings = container().settings
    assert (data["cost"]["profile"], data["cost"]["floor_usd"]) == (settings.cost_profile, settings.cost_floor_usd)
    assert data["cost"]["jobs"] == 1 and set(data["cost"]["lines"]) and data["cost"]["usage_usd"] >= 0
    assert data["cost"]["total_usd"] == round(data["cost"]["floor_usd"] + data["cost"]["usage_usd"], 2)
    assert [(job["id"], job["status"]) for job in data["jobs"]] == [(done, "completed"), (waiting, "queued")]
    assert "payload" not in data["jobs"][0]  # the page follows statuses; payloads can be big


@pytest.mark.parametrize("jobs", ["nope", ",".join(f"job_{n:028x}" for n in range(51))])
def test_the_overview_refuses_bad_job_ids(gw: Gateway, full_token: str, jobs: str) -> None:
    assert_error(gw.request("GET", "/overview", token=full_token, query={"jobs": jobs}), 400, "rest_invalid_param")


def test_the_overview_shows_what_it_can_while_redis_is_down(
    gw: Gateway, full_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.redis_server import free_port
    from relayq.container import reset as reset_container

    job_id = create(gw, full_token)
    monkeypatch.setenv("QUEUE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.2")
    reset_container()
    answer = gw.request("GET", "/overview", token=full_token, query={"jobs": job_id})
    assert answer.status == 200
    assert answer.body["success"] is False
    data, errors = answer.body["data"], answer.body["errors"]
    assert set(errors) == {"stats", "workers", "counters", "cost"}
    assert all(data[part] is None for part in errors)
    assert data["health"]["status"] == "unhealthy" and data["health"]["database_status"] is True
    assert [job["id"] for job in data["jobs"]] == [job_id]  # the records are in DynamoDB


def test_run_now_makes_a_delayed_job_due_and_a_worker_runs_it(gw: Gateway, full_token: str) -> None:
    job_id = create(gw, full_token, delay=3600)
    assert gw.request("POST", "/workers/trigger", token=full_token).body["data"]["processed"] == 0
    answer = gw.request("POST", f"/jobs/{job_id}/run-now", token=full_token)
    assert answer.status == 200, answer.body
    assert answer.body == {"success": True, "job_id": job_id, "message": "Job is due now."}
    assert gw.request("GET", f"/jobs/{job_id}", token=full_token).body["delay_until"] is None
    assert gw.request("POST", "/workers/trigger", token=full_token).body["data"]["processed"] == 1
    assert gw.request("GET", f"/jobs/{job_id}", token=full_token).body["status"] == "completed"
    # Not delayed any more (finished, due, unknown, not an id): refused, nothing changes.
    for target in (job_id, create(gw, full_token), "job_" + "0" * 28, "nope"):
        assert_error(gw.request("POST", f"/jobs/{target}/run-now", token=full_token), 409, "job_not_delayed")


def test_a_job_that_failed_twice_then_succeeded_shows_both_errors(gw: Gateway, full_token: str) -> None:
    answer = gw.request("POST", "/jobs", token=full_token, json_body={"type": "flaky", "payload": {"succeed_on": 3}})
    job_id = answer.body["job_id"]
    for _ in range(3):
        gw.request("POST", "/workers/trigger", token=full_token)
        gw.request("POST", f"/jobs/{job_id}/run-now", token=full_token)  # no waiting for the backoff
    job = gw.request("GET", f"/jobs/{job_id}", token=full_token).body
    assert job["status"] == "completed" and job["attempts"] == 3
    errors = job["attempt_errors"]
    assert [(e["attempt"], e["error"]) for e in errors] == [
        (1, "flaky failure on attempt 1"),
        (2, "flaky failure on attempt 2"),
    ]
    assert all("RuntimeError: flaky failure" in e["traceback"] for e in errors)


def test_the_delayed_list_is_ordered_by_due_time(gw: Gateway, full_token: str) -> None:
    later, sooner = create(gw, full_token, delay=7200), create(gw, full_token, delay=60)
    create(gw, full_token)  # due now: not delayed
    answer = gw.request("GET", "/jobs", token=full_token, query={"delayed": "true", "per_page": "1"})
    assert answer.status == 200, answer.body
    assert [job["id"] for job in answer.body] == [sooner]
    assert (answer.headers["X-WP-Total"], answer.headers["X-WP-TotalPages"]) == ("2", "2")
    second = gw.request("GET", "/jobs", token=full_token, query={"delayed": "true", "per_page": "1", "page": "2"})
    assert [job["id"] for job in second.body] == [later]
    refused = gw.request("GET", "/jobs", token=full_token, query={"delayed": "true", "status": "failed"})
    assert_error(refused, 400, "rest_invalid_param")
