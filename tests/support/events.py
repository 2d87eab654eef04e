"""Every sample event of ``events/<function>/<case>.json``, built in this one place from the same
builders the tests and the local gateway use (tests/support/apigw.py), the schedules of
template.yaml and the trigger's own event models, so the samples never drift from what the code
expects. ``python -m tests.support.events`` (``make events``) writes them;
tests/integration/test_events.py fails when the committed copy is stale and invokes every handler
with every event.

Values that would change on every build (request ids, times) are pinned.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from relayq.cron.models import BatchSpec, CronTarget
from relayq.cron.trigger import RunEvent
from relayq.settings import Settings
from tests.support.apigw import authorizer_event, proxy_event
from tests.support.localstack.schedules import Schedule
from tests.support.template import ROOT, template

EVENTS = ROOT / "events"
# The secrets the samples carry; the events test stores them (hashed) before invoking.
FULL_TOKEN = "rq_example-full-scope-token-000000000000000000"  # noqa: S105 (a sample, not a secret)
WORKER_TOKEN = "rq_example-worker-scope-token-0000000000000000"  # noqa: S105
JOB_ID = "job_01a2060000000123456789abcdef"
RUN_ID = "run_01a206000000deadbeef"
SITE = "https://blog.example.com"
PINNED_TIME = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
# What the authorizer hands the API for the full-scope sample token (its Allow policy's context).
FULL_CONTEXT = {"token_id": "tok_example", "scope": "full", "token_name": "example", "rate_limit": 60}


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
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return _pin(
        proxy_event(
            method,
            path,
            headers=_headers(FULL_TOKEN, content_type=content_type),
            query=list(query),
            body=body,
            resource=resource,
            authorizer={**(context or FULL_CONTEXT), "principalId": "tok_example"},
        )
    )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def api_cases() -> list[Case]:
    proxy = "/{proxy+}"
    email = {"to": "admin@example.com", "subject": "Hi", "message": "Body"}
    form = "type=email&priority=10&queue=default&" + quote(f"payload[{_json(email)}]", safe="=&")
    return [
        Case("api", "list-jobs", _request("GET", "/jobs", resource=proxy, query=[("status", "queued"), ("queue", "default"), ("page", "1"), ("per_page", "10")]), 200),
        Case("api", "get-job", _request("GET", f"/jobs/{JOB_ID}", resource=proxy), 200),
        Case("api", "create-job", _request("POST", "/jobs", resource=proxy, body=_json({"type": "email", "payload": email, "priority": 10}), content_type="application/json"), 201),
        Case("api", "create-job-form", _request("POST", "/jobs", resource=proxy, body=form, content_type="application/x-www-form-urlencoded"), 201),
        Case("api", "cancel-job", _request("DELETE", f"/jobs/{JOB_ID}", resource=proxy), 200),
        Case("api", "trigger-workers", _request("POST", "/workers/trigger", resource=proxy, body=_json({"queues": ["default", "email"], "max_jobs": 5}), content_type="application/json"), 200),
        Case("api", "trigger-workers-form", _request("POST", "/workers/trigger", resource=proxy, body=urlencode([("queues[]", "default"), ("max_jobs", "5")]), content_type="application/x-www-form-urlencoded"), 200),
        Case("api", "worker-status", _request("GET", "/workers/status", resource=proxy), 200),
        Case("api", "stats", _request("GET", "/stats", resource=proxy), 200),
        Case("api", "health", _request("GET", "/health", resource=proxy), 200),
        Case("api", "clear-queue", _request("POST", "/queues/email/clear", resource=proxy), 200),
        Case("api", "unknown-route", _request("GET", "/nothing-here", resource=proxy), 404),
    ]  # fmt: skip


def authorizer_cases() -> list[Case]:
    def event(method: str, path: str, resource: str, token: str | None, via: str = "bearer", **kw: Any) -> Any:
        return _pin(authorizer_event(method, path, headers=_headers(token, via=via), resource=resource, **kw))

    return [
        Case("authorizer", "bearer-full", event("GET", "/jobs", "/{proxy+}", FULL_TOKEN), "Allow"),
        Case("authorizer", "header-token", event("POST", "/jobs", "/{proxy+}", FULL_TOKEN, via="header"), "Allow"),
        Case("authorizer", "query-token-run", event("GET", "/run", "/run", None, query=[("token", WORKER_TOKEN), ("defer", "1")]), "Allow"),
        Case("authorizer", "worker-scope-trigger", event("POST", "/workers/trigger", "/{proxy+}", WORKER_TOKEN), "Allow"),
        Case("authorizer", "worker-scope-forbidden", event("GET", "/jobs", "/{proxy+}", WORKER_TOKEN), "Deny"),
        Case("authorizer", "no-token", event("GET", "/jobs", "/{proxy+}", None), "Unauthorized"),
        Case("authorizer", "unknown-token", event("GET", "/jobs", "/{proxy+}", "rq_not-a-real-token"), "Unauthorized"),
    ]  # fmt: skip


def _schedule_input(logical_id: str, event_name: str) -> Any:
    """The Input of one schedule of template.yaml, as EventBridge delivers it."""
    return json.loads(template()["Resources"][logical_id]["Properties"]["Events"][event_name]["Properties"]["Input"])


def trigger_cases() -> list[Case]:
    sites = {"sites": [SITE, {"url": "https://shop.example.com"}]}
    batch = BatchSpec(run_id=RUN_ID, index=0, targets=[CronTarget(site=SITE, url=f"{SITE}/wp-cron.php")])
    return [
        Case("trigger", "run", _request("GET", "/run", resource="/run"), 200),
        Case("trigger", "run-deferred", _request("GET", "/run", resource="/run", query=[("defer", "1")]), 202),
        Case("trigger", "run-deferred-ga", _request("POST", "/run", resource="/run", query=[("defer", "1"), ("ga", "1")]), 429),
        Case("trigger", "process-queue", _request("POST", "/process-queue", resource="/process-queue"), 200),
        Case("trigger", "add-sites", _request("POST", "/sites", resource="/sites", body=_json(sites), content_type="application/json"), 201),
        Case("trigger", "list-sites", _request("GET", "/sites", resource="/sites"), 200),
        Case("trigger", "delete-site", _request("DELETE", "/sites", resource="/sites", query=[("url", "https://shop.example.com")]), 200),
        Case("trigger", "list-runs", _request("GET", "/runs", resource="/runs", query=[("limit", "10")]), 200),
        Case("trigger", "get-run", _request("GET", f"/runs/{RUN_ID}", resource="/runs/{id}"), 200),
        Case("trigger", "schedule-process-queue", _schedule_input("TriggerFunction", "ProcessCronQueue")),
        # The trigger's asynchronous invocations of itself (the deferred fallback without Redis).
        Case("trigger", "self-invoke-run", RunEvent(cron_action="run", run_id=RUN_ID).model_dump()),
        Case("trigger", "self-invoke-batch", {"cron_action": "batch", **batch.model_dump()}),
    ]  # fmt: skip


def worker_cases() -> list[Case]:
    scheduled = Schedule("relayq-worker-default", "DefaultQueues", "rate(1 minute)", None).event(PINNED_TIME)
    scheduled["id"] = "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"
    return [
        Case("worker", "schedule", _schedule_input("WorkerFunction", "DefaultQueues")),
        Case("worker", "schedule-email", _schedule_input("EmailWorkerFunction", "EmailQueue")),
        Case("worker", "schedule-media", _schedule_input("MediaWorkerFunction", "ImageAndApiQueues")),
        # A rule without Input sends EventBridge's Scheduled Event: the default queue set.
        Case("worker", "scheduled-event", scheduled),
        # The idle-queue kick's asynchronous invocation (relayq.kick) and a manual `aws lambda invoke`.
        Case("worker", "kick", {"queues": ["email"], "max_jobs": Settings().kick_max_jobs, "source": "kick"}),
        Case("worker", "manual", {"queues": ["default", "email"], "max_jobs": 10}),
    ]


def cases() -> list[Case]:
    return api_cases() + authorizer_cases() + trigger_cases() + worker_cases()


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
