"""The trigger function end to end: API Gateway events in, real redis-server, moto's server for
DynamoDB, local HTTP servers standing in for the sites, and a recorder standing in for Lambda's
Invoke API (the deferred fallback's self-invocation)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.apigw import proxy_event
from devstack.handlers import ROOT, load_handler
from devstack.lambda_context import FakeLambdaContext
from devstack.redis_server import free_port
from devstack.sites import LambdaInvokeRecorder, SiteFarm, down_site
from devstack.template import resources
from relayq.container import container, reset
from tests.support.outbound import allowed

SECRET = "tok_s3cr3t-never-in-logs"


PRINCIPAL = {"principalId": "tok_1", "token_id": "tok_1", "scope": "full"}


def api_event(
    method: str, path: str, query: dict[str, str] | None = None, body: Any = None, resource: str | None = None
) -> dict[str, Any]:
    """The event API Gateway sends once the authorizer allowed the token (its context included)."""
    text = json.dumps(body) if body is not None else None
    return proxy_event(method, path, query=query, body=text, resource=resource, authorizer=PRINCIPAL)


def run_event(run_id: str) -> dict[str, Any]:
    return api_event("GET", f"/runs/{run_id}", resource="/runs/{id}")


def allow(monkeypatch: pytest.MonkeyPatch, *urls: str) -> None:
    """Let the fan-out call exactly these local servers (internal addresses are refused otherwise)."""
    monkeypatch.setenv("QUEUE_OUTBOUND_ALLOW", allowed(*urls))


@pytest.fixture
def farm(monkeypatch: pytest.MonkeyPatch) -> Iterator[SiteFarm]:
    server = SiteFarm(slow_seconds=0.2, hang_seconds=1.5).start()
    allow(monkeypatch, server.url(""))
    yield server
    server.stop()


@pytest.fixture
def invoker(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaInvokeRecorder]:
    recorder = LambdaInvokeRecorder()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", recorder.url)
    yield recorder
    recorder.stop()


@pytest.fixture
def trigger(lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, invoker: LambdaInvokeRecorder) -> Any:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "relayq-local-cron")
    monkeypatch.setenv("QUEUE_CRON_REQUEST_TIMEOUT", "0.5")
    monkeypatch.setenv("QUEUE_CRON_HOME_URL", "https://network.example/")
    return load_handler("cron")


def call(trigger: Any, event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = trigger.handler(event, FakeLambdaContext())
    return answer


def body(answer: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(answer["body"])
    return decoded


def header(answer: dict[str, Any], name: str) -> str:
    value: str = answer["multiValueHeaders"][name][0]
    return value


def set_sites(monkeypatch: pytest.MonkeyPatch, urls: list[str]) -> None:
    monkeypatch.setenv("QUEUE_CRON_SITES", ",".join(urls))


def test_sync_run_reports_each_site_and_partial_failure(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = down_site()
    allow(monkeypatch, farm.url(""), down)
    sites = [farm.url("a"), farm.url("b"), farm.url("slow-c"), farm.url("fail-d"), farm.url("hang-e"), down]
    set_sites(monkeypatch, sites)

    answer = call(trigger, api_event("GET", "/run"))

    assert answer["statusCode"] == 200  # the plugin's status for every synchronous run
    summary = body(answer)
    assert summary["success"] is False and summary["error_code"] == "PARTIAL_FAILURE"
    assert (summary["status"], summary["endpoint"], summary["mode"]) == ("completed_with_errors", "rest", "sync")
    assert (summary["count"], summary["sites"], summary["succeeded"], summary["failed"]) == (6, 6, 3, 3)
    assert summary["errors"] == 3
    assert summary["status_counts"] == {"200": 3, "500": 1, "error": 2}
    assert summary["message"].startswith("Completed with 3 error(s): Error for ")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", summary["timestamp"])
    assert isinstance(summary["duration_ms"], int)
    assert farm.called() == {"a", "b", "slow-c", "fail-d", "hang-e"}
    call_a = next(c for c in farm.calls if c.site == "a")
    assert call_a.method == "POST" and call_a.user_agent == "All Sites Cron; https://network.example/"
    assert re.match(r"^\d{10}\.\d{22}$", call_a.doing_wp_cron)

    run = body(call(trigger, run_event(summary["run_id"])))["run"]
    assert (run["status"], run["sites"], run["succeeded"], run["failed"]) == ("completed_with_errors", 6, 3, 3)
    by_site = {r["site"]: r for r in run["results"]}
    assert by_site[farm.url("fail-d")]["status"] == 500
    assert by_site[farm.url("hang-e")]["error"] == "timed out"
    assert by_site[down]["attempts"] == 3 and "Connection" in by_site[down]["error"]
    assert run["triggered_by"] == "tok_1"
    listed = body(call(trigger, api_event("GET", "/runs")))["runs"]
    assert [(r["run_id"], r["status"]) for r in listed] == [(summary["run_id"], "completed_with_errors")]


def test_ga_output_then_cooldown_then_lock(trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch) -> None:
    set_sites(monkeypatch, [farm.url("a"), farm.url("b")])

    first = call(trigger, api_event("POST", "/run", {"ga": "1"}))
    assert first["statusCode"] == 200
    assert first["body"] == "::notice::Running wp-cron on 2 sites\n"
    assert header(first, "Content-Type").startswith("text/plain")

    limited = call(trigger, api_event("GET", "/run"))
    assert limited["statusCode"] == 429
    data = body(limited)
    assert data["error"] == data["code"] == "rate_limited" and data["success"] is False
    assert 1 <= data["retry_after"] <= 60 and data["cooldown"] == 60
    assert data["message"] == f"Rate limited. Try again in {data['retry_after']} seconds."
    assert isinstance(data["last_run_gmt"], int) and re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", data["timestamp"])
    assert header(limited, "Retry-After") == str(data["retry_after"])
    limited_text = call(trigger, api_event("GET", "/run", {"ga": "1", "defer": "1"}))
    assert limited_text["statusCode"] == 429 and limited_text["body"].startswith("::error::Rate limited. Try again in ")

    # Cooldown over, another run holds the lock.
    container().redis.delete(container().cron.guard.cooldown)
    container().cron.guard.admit("sync", "run_0000000000000000other")
    locked = call(trigger, api_event("GET", "/run", {"ga": "1"}))
    assert locked["statusCode"] == 409
    assert locked["body"] == "::warning::Another cron process is currently running. Please try again later.\n"
    plain = body(call(trigger, api_event("GET", "/run")))
    assert plain["message"] == "Another cron process is currently running. Please try again later."
    assert body(call(trigger, api_event("GET", "/run", {"defer": "1"})))["code"] == "cron_locked"
    assert len(farm.calls) == 2


def test_deferred_runs_coalesce_and_process_queue_runs_them(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("a"), farm.url("fail-b")])

    first = call(trigger, api_event("GET", "/run", {"defer": "1"}))
    assert first["statusCode"] == 202
    queued = body(first)
    assert queued["success"] is True and queued["status"] == "queued" and queued["mode"] == "redis"
    assert queued["message"] == "Cron job queued to Redis for background processing"
    again = body(call(trigger, api_event("POST", "/run", {"defer": "1"})))
    assert again["run_id"] == queued["run_id"] and again["coalesced"] is True
    text = call(trigger, api_event("GET", "/run", {"defer": "1", "ga": "1"}))
    assert text["statusCode"] == 202 and text["body"].startswith("::notice::")
    assert farm.calls == []  # nothing ran while answering

    processed = call(trigger, api_event("POST", "/process-queue"))
    # The run's summary, with the plugin's status: 500 when it did not succeed.
    assert processed["statusCode"] == 500
    summary = body(processed)
    assert (summary["run_id"], summary["status"], summary["count"]) == (queued["run_id"], "completed_with_errors", 2)
    assert summary["success"] is False and summary["message"].startswith("Completed with 1 error(s): Error for ")
    assert summary["jobs"]["processed"] == 1 and summary["jobs"]["successful"] == 1
    assert farm.called() == {"a", "fail-b"}
    assert body(call(trigger, api_event("POST", "/process-queue")))["message"] == "No jobs in queue"

    run = body(
        call(
            trigger,
            run_event(queued["run_id"]),
        )
    )["run"]
    assert run["status"] == "completed_with_errors" and run["mode"] == "redis"
    assert run["status_counts"] == {"200": 1, "500": 1}
    jobs = container().jobs.list(type="cron_run").jobs
    assert len(jobs) == 1 and jobs[0].status == "completed"
    assert container().jobs.get(jobs[0].id).result == {
        "run_id": queued["run_id"],
        "status": "completed_with_errors",
        "sites": 2,
        "succeeded": 1,
        "failed": 1,
        "batches": 1,
    }
    # The run started the cooldown: a new deferred trigger is refused, not queued.
    assert call(trigger, api_event("GET", "/run", {"defer": "1"}))["statusCode"] == 429
    # Once it is over, the next deferred trigger says how the last run went (issue 16.4: a
    # trigger every 5 minutes with defer=1 was a ::notice:: whatever its runs came to).
    container().redis.delete(container().cron.guard.cooldown)
    text = call(trigger, api_event("GET", "/run", {"defer": "1", "ga": "1"}))
    assert text["statusCode"] == 202
    assert text["body"] == (
        "::warning::Cron job queued to Redis for background processing; "
        f"the last run ({queued['run_id']}, completed_with_errors) 1 of 2 sites failed\n"
    )
    joined = body(call(trigger, api_event("GET", "/run", {"defer": "1"})))
    assert joined["coalesced"] is True and joined["message"] == "A cron run is already queued; this trigger joins it"
    assert joined["last_run"] == {
        "run_id": queued["run_id"],
        "status": "completed_with_errors",
        "sites": 2,
        "succeeded": 1,
        "failed": 1,
        "finished_at": run["finished_at"],
    }


def test_the_idle_queue_kick_of_the_cron_queue_runs_the_deferred_run(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("a")])
    queued = body(call(trigger, api_event("GET", "/run", {"defer": "1"})))
    assert queued["mode"] == "redis" and farm.calls == []
    kick = json.loads((ROOT / "events" / "cron" / "kick.json").read_text())
    done = call(trigger, kick)
    assert done["count"] == 1 and done["success"] is True
    assert farm.called() == {"a"}
    assert container().jobs.list(type="cron_run").jobs[0].status == "completed"


def test_a_deferred_trigger_that_cannot_record_its_run_leaves_no_queued_mark(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("a")])
    monkeypatch.setenv("QUEUE_RUNS_TABLE", "no-such-table")

    failed = call(trigger, api_event("GET", "/run", {"defer": "1", "ga": "1"}))

    assert failed["statusCode"] == 503 and failed["body"].startswith("::error::")
    assert container().redis.get(container().cron.guard.queued) is None  # the next trigger is not swallowed


def test_redis_down_falls_back_to_async_self_invocation(
    trigger: Any, farm: SiteFarm, invoker: LambdaInvokeRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("a"), farm.url("b")])
    monkeypatch.setenv("QUEUE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.2")

    answer = call(trigger, api_event("GET", "/run", {"defer": "1"}))

    assert answer["statusCode"] == 202
    data = body(answer)
    assert data["mode"] == "deferred" and data["message"] == "Cron job queued for background processing"
    assert [(i["function"], i["type"]) for i in invoker.invocations] == [("relayq-local-cron", "Event")]
    assert farm.calls == []
    text = call(trigger, api_event("GET", "/run", {"defer": "1", "ga": "1"}))
    assert text["body"] == "::notice::Cron job queued for background processing\n"

    # Lambda runs the asynchronous invocation: the same handler with the recorded payload.
    result = call(trigger, invoker.invocations[0]["payload"])
    assert result["status"] == "succeeded" and result["succeeded"] == 2
    assert farm.called() == {"a", "b"}
    run = body(
        call(
            trigger,
            run_event(data["run_id"]),
        )
    )["run"]
    assert run["mode"] == "deferred" and len(run["results"]) == 2


def test_redis_down_large_network_becomes_batch_invocations(
    trigger: Any, farm: SiteFarm, invoker: LambdaInvokeRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url(f"s{n}") for n in range(5)])
    monkeypatch.setenv("QUEUE_CRON_BATCH_SIZE", "2")
    monkeypatch.setenv("QUEUE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.2")
    run_id = body(call(trigger, api_event("POST", "/run", {"defer": "1"})))["run_id"]

    planned = call(trigger, invoker.invocations[0]["payload"])

    assert planned["status"] == "running" and planned["batches_total"] == 3
    batches = [i["payload"] for i in invoker.invocations[1:]]
    assert [(b["cron_action"], b["index"], len(b["targets"])) for b in batches] == [
        ("batch", 0, 2),
        ("batch", 1, 2),
        ("batch", 2, 1),
    ]
    assert farm.calls == []
    for payload in [*batches, batches[0]]:  # Lambda may deliver an async event twice
        call(trigger, payload)
    run = body(call(trigger, run_event(run_id)))["run"]
    assert run["status"] == "succeeded" and run["succeeded"] == 5 and run["batches_done"] == 3
    assert len(run["results"]) == 5


def test_two_thousand_sites_become_batch_jobs(trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_CRON_BATCH_SIZE", "500")
    monkeypatch.setenv("QUEUE_CRON_REQUEST_TIMEOUT", "10")  # every site answers; a loaded CI box is slow
    urls = [farm.url(f"site-{n:04d}") for n in range(2000)]
    added = call(trigger, api_event("POST", "/sites", body={"sites": urls}))
    assert added["statusCode"] == 201 and body(added)["count"] == 2000

    queued = body(call(trigger, api_event("GET", "/run", {"defer": "1"})))
    processed = body(call(trigger, api_event("POST", "/process-queue", {"max": "10"})))

    assert processed["jobs"]["processed"] == 5 and processed["jobs"]["successful"] == 5  # the run job, 4 batch jobs
    assert (processed["run_id"], processed["status"], processed["count"]) == (queued["run_id"], "succeeded", 2000)
    batches = container().jobs.list(type="cron_batch", per_page=10).jobs
    assert sorted(len(j.payload["targets"]) for j in batches) == [500, 500, 500, 500]
    assert len(farm.called()) == 2000
    run = body(
        call(
            trigger,
            run_event(queued["run_id"]),
        )
    )["run"]
    assert run["status"] == "succeeded" and run["sites_total"] == 2000 and run["batches_total"] == 4
    assert run["batches_done"] == 4 and run["succeeded"] == 2000 and len(run["results"]) == 2000


def test_sites_are_managed_through_the_api(trigger: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    set_sites(monkeypatch, ["https://from-settings.example"])
    one = call(trigger, api_event("POST", "/sites", body={"url": "https://a.example", "enabled": False}))
    assert one["statusCode"] == 201
    listed = body(call(trigger, api_event("GET", "/sites")))
    assert {s["url"]: s["enabled"] for s in listed["sites"]} == {
        "https://from-settings.example": True,
        "https://a.example": False,
    }
    bad = call(trigger, api_event("POST", "/sites", body={"url": "ftp://nope"}))
    assert bad["statusCode"] == 400 and body(bad)["code"] == "rest_invalid_param"
    gone = call(trigger, api_event("DELETE", "/sites", {"url": "https://a.example"}))
    assert gone["statusCode"] == 200
    again = call(trigger, api_event("DELETE", "/sites", {"url": "https://a.example"}))
    assert again["statusCode"] == 404 and body(again)["code"] == "site_not_found"
    missing = call(trigger, run_event("run_nope"))
    assert missing["statusCode"] == 404 and body(missing)["code"] == "run_not_found"


def test_sites_at_internal_addresses_fail_with_the_reason_and_are_not_called(
    trigger: Any, farm: SiteFarm, lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = SiteFarm().start()  # on 127.0.0.1 as well, but not allow-listed
    try:
        moto = lambda_env["AWS_ENDPOINT_URL"]
        allow(monkeypatch, farm.url(""), moto)  # the AWS endpoint stays refused, even listed
        set_sites(monkeypatch, [farm.url("a"), other.url("b"), "http://169.254.169.254/latest", f"{moto}/x"])
        summary = body(call(trigger, api_event("GET", "/run")))
        run = body(call(trigger, run_event(summary["run_id"])))["run"]
    finally:
        other.stop()
    by_site = {r["site"]: r for r in run["results"]}
    assert (summary["errors"], run["succeeded"]) == (3, 1)
    assert by_site[farm.url("a")]["status"] == 200
    assert "loopback address" in by_site[other.url("b")]["error"] and by_site[other.url("b")]["attempts"] == 1
    assert "link-local (instance metadata)" in by_site["http://169.254.169.254/latest"]["error"]
    assert "own AWS endpoint (AWS_ENDPOINT_URL)" in by_site[f"{moto}/x"]["error"]
    assert other.calls == []


DEEP_SITES = '{"sites": ' + "[" * 50_000 + "]" * 50_000 + "}"
DEEP_OBJECT = '{"url": ' * 100_000 + '"https://a.example"' + "}" * 100_000
HUGE_NUMBER = '{"sites": [{"url": "https://a.example", "enabled": ' + "9" * 5000 + "}]}"


@pytest.mark.parametrize(
    ("method", "text", "reason"),
    [
        ("POST", DEEP_SITES, "nested deeper than 32 levels"),
        ("POST", DEEP_OBJECT, "nested deeper than 32 levels"),
        ("POST", HUGE_NUMBER, "longer than 100 digits"),
        ("DELETE", DEEP_OBJECT, "nested deeper than 32 levels"),
        ("DELETE", '{"url": "https://a.example", "n": ' + "9" * 5000 + "}", "longer than 100 digits"),
    ],
)
def test_hostile_site_bodies_are_400_and_write_nothing(trigger: Any, method: str, text: str, reason: str) -> None:
    """Found by the abuse pass (issue 13): Powertools' json_body raised RecursionError / ValueError (500)."""
    event = proxy_event(method, "/sites", body=text, authorizer=PRINCIPAL)
    answer = call(trigger, event)
    assert answer["statusCode"] == 400, answer
    error = body(answer)
    assert (error["code"], error["data"]["status"]) == ("rest_invalid_param", 400)
    assert reason in error["message"]
    assert body(call(trigger, api_event("GET", "/sites")))["sites"] == []


def test_a_site_body_that_is_not_utf8_is_400(trigger: Any) -> None:
    event = proxy_event("POST", "/sites", body="/w==", authorizer=PRINCIPAL)
    event["isBase64Encoded"] = True
    answer = call(trigger, event)
    assert answer["statusCode"] == 400 and body(answer)["code"] == "rest_invalid_param"


@pytest.fixture
def verbose_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Log everything, even the event if anything asked for it: the token must still not appear."""
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")


def test_the_token_query_parameter_is_never_logged(
    caplog: pytest.LogCaptureFixture,
    verbose_logs: None,
    trigger: Any,
    farm: SiteFarm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_sites(monkeypatch, [farm.url("a"), down_site()])
    caplog.set_level("DEBUG")
    # What the function writes to stdout (CloudWatch in Lambda) goes to this buffer instead.
    stdout = io.StringIO()
    previous = trigger.logger.registered_handler.setStream(stdout)
    for event in (
        api_event("GET", "/run", {"token": SECRET, "ga": "1"}),
        api_event("GET", "/run", {"token": SECRET}),  # cooldown: an error answer
        api_event("POST", "/process-queue", {"token": SECRET, "max": "lots"}),  # invalid input
        api_event("GET", "/run", {"token": SECRET, "defer": "1"}),
    ):
        call(trigger, event)
    trigger.logger.registered_handler.setStream(previous)
    logged = stdout.getvalue() + caplog.text
    assert '"token_id":"tok_1"' in logged and '"status":429' in logged  # the request lines were written
    assert SECRET not in logged


EVENTS = ROOT / "events" / "cron"


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def test_sample_events_and_the_schedule_drive_a_deferred_run(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("a")])
    schedule = resources("AWS::Serverless::Function")["CronFunction"]["Properties"]["Events"]["ProcessCronQueue"]
    assert json.loads(schedule["Properties"]["Input"]) == sample("schedule_process_queue")

    queued = body(call(trigger, sample("run_defer")))
    assert queued["mode"] == "redis" and queued["status"] == "queued"
    processed = call(trigger, sample("schedule_process_queue"))
    assert processed["count"] == 1 and processed["success"] is True
    assert farm.called() == {"a"}
    for name in ("sites_add", "sites_list", "sites_delete", "runs_list", "process_queue"):
        assert call(trigger, sample(name))["statusCode"] in {200, 201}, name
    assert call(trigger, sample("run_get"))["statusCode"] == 404  # the sample's run does not exist here


def test_a_sync_run_whose_sites_all_failed_or_that_had_none_is_not_a_success(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16.4: such runs were a green "completed" and their ga line a ``::notice::``."""
    none = call(trigger, api_event("GET", "/run", {"ga": "1"}))
    assert (none["statusCode"], none["body"]) == (200, "::error::No enabled sites found\n")
    listed = body(call(trigger, api_event("GET", "/runs")))["runs"]
    assert [(r["status"], r["sites"], r["succeeded"], r["failed"]) for r in listed] == [("no_sites", 0, 0, 0)]

    set_sites(monkeypatch, [farm.url("fail-a"), farm.url("fail-b")])
    reset()  # the settings are read once per container
    failed = call(trigger, api_event("GET", "/run", {"ga": "1"}))  # no site called before: no cooldown
    assert failed["statusCode"] == 200
    assert failed["body"].startswith("::error::Completed with 2 error(s): Error for ")
    run = body(call(trigger, api_event("GET", "/runs")))["runs"][0]
    assert (run["status"], run["sites"], run["succeeded"], run["failed"]) == ("failed", 2, 0, 2)

    set_sites(monkeypatch, [farm.url("a"), farm.url("fail-b")])
    reset()
    container().redis.delete(container().cron.guard.cooldown)
    partial = call(trigger, api_event("GET", "/run", {"ga": "1"}))
    assert partial["statusCode"] == 200 and partial["body"].startswith("::warning::Completed with 1 error(s): ")
    container().redis.delete(container().cron.guard.cooldown)
    summary = body(call(trigger, api_event("GET", "/run")))
    assert (summary["success"], summary["status"], summary["error_code"]) == (
        False,
        "completed_with_errors",
        "PARTIAL_FAILURE",
    )


def test_the_cooldown_is_checked_before_the_lock(trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's order: a trigger inside the cooldown is 429 even while another run holds the lock."""
    set_sites(monkeypatch, [farm.url("a")])
    guard = container().cron.guard
    guard.admit("sync", "run_0000000000000000other")
    container().redis.set(guard.cooldown, "run_0000000000000000older", px=30_000)

    answer = call(trigger, api_event("GET", "/run", {"ga": "1"}))

    assert answer["statusCode"] == 429 and answer["body"].startswith("::error::Rate limited. Try again in ")
    assert farm.calls == []


def test_process_queue_answers_as_the_plugin_when_redis_is_down(trigger: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("QUEUE_REDIS_SOCKET_TIMEOUT", "0.2")

    answer = call(trigger, api_event("POST", "/process-queue"))

    assert answer["statusCode"] == 503
    data = body(answer)
    assert (data["success"], data["message"]) == (False, "Redis is not available")
    assert (data["code"], data["data"]["status"]) == ("redis_unavailable", 503)
    text = call(trigger, api_event("POST", "/process-queue", {"ga": "1"}))
    assert (text["statusCode"], text["body"]) == (503, "::error::Redis is not available\n")


def test_process_queue_puts_the_run_back_while_another_run_holds_the_lock(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("a")])
    queued = body(call(trigger, api_event("GET", "/run", {"defer": "1"})))
    container().redis.set(container().cron.guard.lock, "run_0000000000000000other", px=60_000)

    answer = call(trigger, api_event("POST", "/process-queue"))

    assert answer["statusCode"] == 409
    data = body(answer)
    assert (data["success"], data["retry"]) == (False, True)
    assert data["message"] == "Lock held — job re-queued for later processing."
    job = container().jobs.list(type="cron_run").jobs[0]
    assert (job.payload["run_id"], job.status, job.attempts) == (queued["run_id"], "queued", 1)
    assert farm.calls == []
    run = body(call(trigger, run_event(queued["run_id"])))["run"]
    assert run["status"] == "queued"


def test_sites_are_enabled_and_disabled_with_patch(
    trigger: Any, farm: SiteFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_sites(monkeypatch, [farm.url("from-settings")])
    call(trigger, api_event("POST", "/sites", body={"sites": [farm.url("a"), farm.url("b")]}))

    off = call(trigger, api_event("PATCH", "/sites", body={"url": farm.url("b"), "enabled": False}))
    assert off["statusCode"] == 200, off
    assert body(off) == {"success": True, "site": {"url": farm.url("b"), "enabled": False}}
    from_settings = call(
        trigger, api_event("PATCH", "/sites", body={"url": farm.url("from-settings"), "enabled": False})
    )
    assert body(from_settings)["site"] == {"url": farm.url("from-settings"), "enabled": False}
    listed = body(call(trigger, api_event("GET", "/sites")))["sites"]
    assert {s["url"]: s["enabled"] for s in listed} == {
        farm.url("from-settings"): False,
        farm.url("a"): True,
        farm.url("b"): False,
    }

    summary = body(call(trigger, api_event("GET", "/run")))
    assert (summary["status"], summary["sites"]) == ("succeeded", 1)
    assert farm.called() == {"a"}  # disabled sites are not called

    unknown = call(trigger, api_event("PATCH", "/sites", body={"url": "https://nowhere.example", "enabled": True}))
    assert unknown["statusCode"] == 404
    error = body(unknown)
    assert (error["code"], error["data"]["status"]) == ("site_not_found", 404)
    assert error["message"] == "No site with URL https://nowhere.example."
    for bad in ({"url": farm.url("a")}, {"url": farm.url("a"), "enabled": "yes"}, {"url": "ftp://x", "enabled": True}):
        refused = call(trigger, api_event("PATCH", "/sites", body=bad))
        assert refused["statusCode"] == 400 and body(refused)["code"] == "rest_invalid_param", bad


def test_a_run_stored_as_completed_reads_as_what_it_came_to(trigger: Any) -> None:
    """Records written before the finished statuses were split say ``completed`` for every run."""
    runs = container().cron.runs
    for run_id, counts in {
        "run_0000000000010000000a": (2, 2, 0),
        "run_0000000000020000000b": (2, 1, 1),
        "run_0000000000030000000c": (2, 0, 2),
        "run_0000000000040000000d": (0, 0, 0),
    }.items():
        runs.create(run_id, "sync", None)
        runs.client.update_item(
            TableName=runs.table,
            Key={"run_id": {"S": run_id}, "part": {"S": "run"}},
            UpdateExpression="SET #s = :c, sites_total = :n, succeeded = :ok, failed = :bad",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": {"S": "completed"}}
            | {f":{k}": {"N": str(v)} for k, v in zip(("n", "ok", "bad"), counts, strict=True)},
        )
    listed = body(call(trigger, api_event("GET", "/runs")))["runs"]
    assert [r["status"] for r in listed] == ["no_sites", "failed", "completed_with_errors", "succeeded"]
    assert body(call(trigger, run_event("run_0000000000030000000c")))["run"]["status"] == "failed"
