"""Every sample event of ``events/<function>/<case>.json``, built in this one place from the same
builders the tests and the local gateway use (devstack/apigw.py), the schedules of
template.yaml and the cron function's own event models, so the samples never drift from what the code
expects. ``python -m devstack.events`` (``make events``) writes them;
tests/integration/test_events.py fails when the committed copy is stale and invokes every handler
with every event.

Values that would change on every build (request ids, times) are pinned. File names keep the
names the functions' own tests already use (``api/create_job.json``, ``worker/schedule.json``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from devstack.apigw import authorizer_event, proxy_event
from devstack.schedules import Schedule
from devstack.template import ROOT, template
from relayq.domain.cron import BatchSpec, CronTarget
from relayq.services.cron.service import RunEvent
from relayq.settings import Settings

EVENTS = ROOT / "events"
# Placeholders of the secrets the samples carry: devstack/samples.py mints a real token for each
# and substitutes it in the copy it invokes.
FULL_TOKEN = "rq_replace-with-a-real-token"
WORKER_TOKEN = "rq_example-worker-scope-token-0000000000000000"
JOB_ID = "job_01a2060000000123456789abcdef"
RUN_ID = "run_01a206000000deadbeef"
SITE = "https://blog.example.com"
OTHER_SITE = "https://shop.example.com"  # added by sites_add, removed by sites_delete
PINNED_TIME = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
# What the authorizer hands the API for the full-scope sample token (its Allow policy's context).
FULL_CONTEXT: dict[str, str | int] = {"token_id": "tok_example", "scope": "full", "name": "example", "rate_limit": 60}


@dataclass(frozen=True)
class Case:
    function: str  # the folder under functions/
    name: str
    event: Any
    # The HTTP status the handler answers (proxy events), "Allow"/"Deny"/"Unauthorized" (authorizer
    # events), or None (direct invocations: the handler returns a summary).
    expect: int | str | None = None

    @property
    def path(self) -> str:
        return f"{self.function}/{self.name}.json"


def _headers(token: str | None, *, content_type: str | None = None, via: str = "bearer") -> list[tuple[str, str]]:
    """The headers a curl call arrives with at the function (API Gateway adds the X-Forwarded ones)."""
    headers = [
        ("Host", "abcdef1234.execute-api.us-east-1.amazonaws.com"),
        ("User-Agent", "curl/8.5.0"),
        ("Accept", "*/*"),
    ]
    if token and via == "bearer":
        headers.append(("Authorization", f"Bearer {token}"))
    elif token:
        headers.append(("X-Redis-Queue-Token", token))
    if content_type:
        headers.append(("Content-Type", content_type))
    headers += [
        ("X-Amzn-Trace-Id", "Root=1-6772f0c0-0123456789abcdef01234567"),
        ("X-Forwarded-For", "203.0.113.10"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    return headers


def _pin(event: dict[str, Any]) -> dict[str, Any]:
    context = event["requestContext"]
    context["requestId"] = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    context["extendedRequestId"] = "c6af9ac67b6111e6"
    context["requestTime"] = PINNED_TIME.strftime("%d/%b/%Y:%H:%M:%S +0000")
    context["requestTimeEpoch"] = int(PINNED_TIME.timestamp() * 1000)
    return event


def _request(
    method: str,
    path: str,
    *,
    resource: str,
    query: Sequence[tuple[str, str]] = (),
    body: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    return _pin(
        proxy_event(
            method,
            path,
            headers=_headers(FULL_TOKEN, content_type=content_type),
            query=list(query),
            body=body,
            resource=resource,
            authorizer={**FULL_CONTEXT, "principalId": "tok_example"},
        )
    )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
PROXY = "/{proxy+}"
EMAIL = {"to": "admin@example.com", "subject": "Hi", "message": "Body"}


def _rest(function: str, name: str, expect: int, method: str, path: str, resource: str, **request: Any) -> Case:
    return Case(function, name, _request(method, path, resource=resource, **request), expect)


def api_cases() -> list[Case]:
    # The contract's curl form: ``--data-urlencode 'payload[{...}]'`` (the JSON is the field name).
    form = "type=email&priority=10&queue=default&" + quote(f"payload[{_json(EMAIL)}]", safe="=&")
    listing = [("status", "queued"), ("queue", "default"), ("page", "1"), ("per_page", "10")]
    create = _json({"type": "email", "payload": EMAIL, "priority": 10})
    worker_trigger = _json({"queues": ["default", "email"], "max_jobs": 5})
    worker_trigger_form = urlencode([("queues[]", "default"), ("max_jobs", "5")])
    return [
        _rest("api", "list_jobs", 200, "GET", "/jobs", PROXY, query=listing),
        _rest("api", "get_job", 200, "GET", f"/jobs/{JOB_ID}", PROXY),
        _rest("api", "create_job", 201, "POST", "/jobs", PROXY, body=create, content_type=JSON),
        _rest("api", "create_job_form", 201, "POST", "/jobs", PROXY, body=form, content_type=FORM),
        _rest("api", "cancel_job", 200, "DELETE", f"/jobs/{JOB_ID}", PROXY),
        _rest("api", "trigger_worker", 200, "POST", "/workers/trigger", PROXY, body=worker_trigger, content_type=JSON),
        _rest(
            "api",
            "trigger_worker_form",
            200,
            "POST",
            "/workers/trigger",
            PROXY,
            body=worker_trigger_form,
            content_type=FORM,
        ),
        _rest("api", "worker_status", 200, "GET", "/workers/status", PROXY),
        _rest("api", "stats", 200, "GET", "/stats", PROXY),
        _rest("api", "metrics", 200, "GET", "/metrics", PROXY),
        _rest("api", "overview", 200, "GET", "/overview", PROXY),
        _rest("api", "health", 200, "GET", "/health", PROXY),
        _rest("api", "clear_queue", 200, "POST", "/queues/email/clear", PROXY),
        _rest("api", "reconcile", 200, "POST", "/reconcile", PROXY),
    ]


def _authorizer_case(
    name: str, expect: str, method: str, path: str, resource: str, token: str | None, **kw: Any
) -> Case:
    via = kw.pop("via", "bearer")
    event = authorizer_event(method, path, headers=_headers(token, via=via), resource=resource, **kw)
    return Case("authorizer", name, _pin(event), expect)


def authorizer_cases() -> list[Case]:
    run_query = [("token", WORKER_TOKEN), ("defer", "1")]
    return [
        _authorizer_case("bearer", "Allow", "GET", "/jobs", PROXY, FULL_TOKEN),
        _authorizer_case("x_redis_queue_token", "Allow", "POST", "/jobs", PROXY, FULL_TOKEN, via="header"),
        _authorizer_case("query_token_run", "Allow", "GET", "/run", "/run", None, query=run_query),
        _authorizer_case("worker_scope_trigger", "Allow", "POST", "/workers/trigger", PROXY, WORKER_TOKEN),
        _authorizer_case("worker_scope_forbidden", "Deny", "GET", "/jobs", PROXY, WORKER_TOKEN),
        _authorizer_case("no_token", "Deny", "GET", "/jobs", PROXY, None),
        _authorizer_case("unknown_token", "Deny", "GET", "/jobs", PROXY, "rq_not-a-real-token"),
        _authorizer_case("run_no_token", "Unauthorized", "GET", "/run", "/run", None),
        _authorizer_case("run_unknown_token", "Deny", "GET", "/run", "/run", "rq_not-a-real-token"),
    ]


def _schedule_input(logical_id: str, event_name: str) -> Any:
    """The Input of one schedule of template.yaml, as EventBridge delivers it."""
    return json.loads(template()["Resources"][logical_id]["Properties"]["Events"][event_name]["Properties"]["Input"])


def _kick(queue: str) -> dict[str, Any]:
    """The payload of relayq.services.kick's asynchronous invocation for ``queue``."""
    return {"queues": [queue], "max_jobs": Settings().kick_max_jobs, "source": "kick"}


def cron_cases() -> list[Case]:
    sites = _json({"sites": [SITE, {"url": OTHER_SITE}]})
    batch = BatchSpec(run_id=RUN_ID, index=0, targets=[CronTarget(site=SITE, url=f"{SITE}/wp-cron.php")])
    # A cron service that cannot send headers puts the token in the URL (the cron routes only).
    defer, defer_ga = [("defer", "1")], [("defer", "1"), ("ga", "1"), ("token", WORKER_TOKEN)]
    return [
        # In the order of a session (`make sam-local` invokes them so, on one deployment's data):
        # deferred triggers, the schedule's queue processing that runs them, then the other runs
        # (a queued run answers a synchronous one 409, and the cooldown after a run with sites
        # 429: the runs that need sites to answer 200 are the synchronous and process_queue's).
        _rest("cron", "run_defer", 202, "GET", "/run", "/run", query=defer),
        _rest("cron", "run_defer_ga_token", 202, "GET", "/run", "/run", query=defer_ga),
        Case("cron", "schedule_process_queue", _schedule_input("CronFunction", "ProcessCronQueue")),
        _rest("cron", "process_queue", 200, "POST", "/process-queue", "/process-queue"),
        _rest("cron", "run_sync", 200, "GET", "/run", "/run"),
        _rest("cron", "sites_add", 201, "POST", "/sites", "/sites", body=sites, content_type=JSON),
        _rest("cron", "sites_list", 200, "GET", "/sites", "/sites"),
        _rest("cron", "sites_delete", 200, "DELETE", "/sites", "/sites", query=[("url", OTHER_SITE)]),
        _rest("cron", "runs_list", 200, "GET", "/runs", "/runs", query=[("limit", "10")]),
        _rest("cron", "run_get", 200, "GET", f"/runs/{RUN_ID}", "/runs/{id}"),
        # The cron function's asynchronous invocations of itself (the deferred fallback without Redis).
        Case("cron", "deferred_run", RunEvent(cron_action="run", run_id=RUN_ID).model_dump()),
        Case("cron", "self_invoke_batch", {"cron_action": "batch", **batch.model_dump()}),
        # The idle-queue kick of the cron queue (relayq.services.kick routes it to this function).
        Case("cron", "kick", _kick("cron")),
    ]


def worker_cases() -> list[Case]:
    scheduled = Schedule("relayq-worker-default", "DefaultQueues", "rate(1 minute)", None).event(PINNED_TIME)
    scheduled["id"] = "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"
    return [
        Case("worker", "schedule", _schedule_input("WorkerFunction", "DefaultQueues")),
        Case("worker", "schedule-email", _schedule_input("EmailWorkerFunction", "EmailQueue")),
        Case("worker", "schedule-media", _schedule_input("MediaWorkerFunction", "ImageAndApiQueues")),
        # A rule without Input sends EventBridge's Scheduled Event: the default queue set.
        Case("worker", "scheduled-event", scheduled),
        # The idle-queue kick's asynchronous invocation (relayq.services.kick) and a manual `aws lambda invoke`.
        Case("worker", "kick", _kick("email")),
        Case("worker", "manual", {"queues": ["default", "email"], "max_jobs": 10}),
    ]


def cases() -> list[Case]:
    return api_cases() + authorizer_cases() + cron_cases() + worker_cases()


def render(case: Case) -> str:
    return json.dumps(case.event, indent=2, sort_keys=False) + "\n"


def main() -> None:
    written = {case.path for case in cases()}
    for case in cases():
        target = EVENTS / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(case))
    for stale in EVENTS.glob("*/*.json"):
        if str(stale.relative_to(EVENTS)) not in written:
            stale.unlink()
    print(f"wrote {len(written)} events under {EVENTS}")


if __name__ == "__main__":
    main()
