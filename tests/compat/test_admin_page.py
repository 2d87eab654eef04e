"""The redis-queue plugin's admin page (assets/admin.js) replayed literally over HTTP: jQuery's
``$.ajax`` calls with their form-encoded, PHP-style nested bodies, reading exactly the fields the
page reads (../shared/notes/plugin-source-facts.md). Only the base URL and the token differ: the
page sends a WordPress nonce (``X-WP-Nonce``), here a token authenticates.

Also the refusals a client of either plugin sees: no or bad token on a redis-queue route, and the
all-sites-cron routes without or with a wrong token."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import requests

from tests.support.stack import Api, StackProcess, wait_for

# What jQuery sends for ``$.ajax({type, data: {...}})``: its default content type, and for a JSON
# answer (the REST API's) this Accept; same-origin calls add X-Requested-With.
JQUERY_FORM = "application/x-www-form-urlencoded; charset=UTF-8"
JQUERY_HEADERS = {"Accept": "application/json, text/javascript, */*; q=0.01", "X-Requested-With": "XMLHttpRequest"}
# The test form's email job as $.param() encodes {type, payload: {...}, priority: 10, queue}.
EMAIL_FORM = "type=email&payload[to]=a@b.c&payload[subject]=Hi&payload[message]=x&priority=10&queue={queue}"
# The admin page reads these fields of a job (its job details dialog).
JOB_FIELDS = (
    "id",
    "type",
    "queue",
    "status",
    "priority",
    "attempts",
    "max_attempts",
    "created_at",
    "payload",
    "result",
    "error_message",
)
FORBIDDEN = {
    "code": "rest_forbidden",
    "message": "You do not have permission to access this endpoint.",
    "data": {"status": 403},
}


def ajax(api: Api, method: str, path: str, form: str | None = None) -> requests.Response:
    headers = dict(JQUERY_HEADERS)
    if form is not None:
        headers["Content-Type"] = JQUERY_FORM
    return api.request(method, path, data=form, headers=headers)


def create_test_job(api: Api, queue: str, extra: str = "") -> str:
    """The page's "create test job" button: POST jobs, then ``response.success`` and ``response.job_id``."""
    answer = ajax(api, "POST", "/jobs", EMAIL_FORM.format(queue=queue) + extra)
    assert answer.status_code in (200, 201), answer.text  # jQuery's success callback: any 2xx
    body = answer.json()
    assert body["success"] is True and body["job_id"]
    assert body["message"] == "Job created and enqueued successfully."
    return str(body["job_id"])


def test_a_test_job_is_created_shown_and_finishes(api: Api) -> None:
    job_id = create_test_job(api, "default")

    def details() -> dict[str, Any] | None:
        answer = ajax(api, "GET", f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        return job if job["status"] in ("completed", "failed") else None

    job = wait_for(details, 90)
    assert job, f"{job_id} did not finish"
    assert all(field in job for field in JOB_FIELDS), sorted(set(JOB_FIELDS) - set(job))
    assert (job["id"], job["type"], job["queue"], job["priority"]) == (job_id, "email", "default", 10)
    # The record holds the payload as the email type normalised it (``to`` a list, empty cc...).
    assert (job["payload"]["subject"], job["payload"]["message"]) == ("Hi", "x") and "a@b.c" in job["payload"]["to"]
    assert job["status"] == "completed", job["error_message"]
    assert 1 <= job["attempts"] <= job["max_attempts"] and job["created_at"]


def test_a_queued_job_is_cancelled(api: Api) -> None:
    # Delayed (a field of ours, not the page's) so that no worker has run it when the page cancels
    # it: a new job kicks a worker at once. The DELETE is the page's own.
    job_id = create_test_job(api, "default", "&delay=3600")
    answer = ajax(api, "DELETE", f"/jobs/{job_id}")
    assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
    assert ajax(api, "GET", f"/jobs/{job_id}").json()["status"] == "cancelled"


def test_the_health_box_reads_connected_version_and_memory(api: Api) -> None:
    answer = ajax(api, "GET", "/health")
    assert answer.status_code == 200  # any other status: the page says "unable to reach the server"
    response = answer.json()
    assert response["success"] and response["data"]["redis_connected"]
    info = response["data"]["redis_info"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["redis_version"]), info
    assert re.fullmatch(r"\d+(\.\d+)?[BKMGT]", info["used_memory"]), info  # "812K", as the page shows it


def test_the_jobs_list_pages_as_wordpress_does(api: Api) -> None:
    for _ in range(2):
        create_test_job(api, "compat-admin-list")
    answer = api.get("/jobs", params={"queue": "compat-admin-list"})
    total = int(answer.headers["X-WP-Total"])
    assert total >= 2 and len(answer.json()) == min(total, 10)  # per_page defaults to 10
    assert int(answer.headers["X-WP-TotalPages"]) == math.ceil(total / 10)
    one = api.get("/jobs", params={"queue": "compat-admin-list", "per_page": "1"})
    assert int(one.headers["X-WP-TotalPages"]) == total and len(one.json()) == 1


@pytest.mark.parametrize("token", [None, "rq_not-a-real-token"], ids=["no-token", "bad-token"])
def test_no_or_a_bad_token_is_403_rest_forbidden(stack: StackProcess, token: str | None) -> None:
    client = stack.client(token or "")
    for method, path, form in [("GET", "/health", None), ("POST", "/jobs", EMAIL_FORM.format(queue="default"))]:
        answer = ajax(client, method, path, form)
        assert (answer.status_code, answer.json()) == (403, FORBIDDEN), (method, path)


def test_the_cron_trigger_without_a_token_is_401_and_with_a_wrong_one_403(stack: StackProcess) -> None:
    missing = requests.get(f"{stack.url}/run", params={"ga": "1", "defer": "1"}, timeout=60)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json() == {
        "code": "all_sites_cron_auth_missing",
        "message": "Authentication required. Provide a token via Authorization header or ?token= query parameter.",
        "data": {"status": 401},
    }
    invalid = {
        "code": "all_sites_cron_auth_invalid",
        "message": "Invalid authentication token.",
        "data": {"status": 403},
    }
    wrong_header = requests.get(
        f"{stack.url}/run", params={"defer": "1"}, headers={"Authorization": "Bearer wrong"}, timeout=60
    )
    assert (wrong_header.status_code, wrong_header.json()) == (403, invalid)
    wrong_query = requests.post(f"{stack.url}/process-queue", params={"token": "wrong"}, timeout=60)
    assert (wrong_query.status_code, wrong_query.json()) == (403, invalid)
