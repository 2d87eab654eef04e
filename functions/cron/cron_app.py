"""Trigger: cron on all sites (``/run``), its queue worker (``/process-queue``), the sites and
the runs; plus the asynchronous self-invocations of the deferred fallback and the schedule.

The token may come as ``?token=`` (crontab and CI one-liners): nothing here logs the event or the
query string, only the API's request log line (method, route, status, token id, ip)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisClusterException, RedisError

from relayq.container import container
from relayq.domain.clock import now_ms
from relayq.domain.cron import Site
from relayq.domain.errors import CronRateLimited, InvalidInput, QueueError
from relayq.http.errors import error_body, error_headers, status_of
from relayq.http.json_text import JsonLimits, JsonRefused, loads
from relayq.http.request_log import request_log_fields
from relayq.http.responses import json_response
from relayq.http.validation import one_line, validate
from relayq.redis.failures import REDIS_FAILURES, explain
from relayq.services.cron.results import QueuedRun, RunSummary
from relayq.services.cron.service import as_cron_event
from relayq.services.cron.targets import configured_sites

logger = Logger()
app = APIGatewayRestResolver()

# The plugin's status of a finished run, by its error code; a queued run is 202.
RUN_STATUS = {None: 200, "PARTIAL_FAILURE": 207, "ALL_FAILED": 500, "NO_SITES": 500}


class RunQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    defer: bool = False
    ga: bool = False


class ProcessQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    max: int = Field(default=1, ge=1, le=100)
    ga: bool = False


class SitesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sites: list[Site | str] = Field(min_length=1, max_length=10_000)


class RunsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=20, ge=1, le=100)


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def _json_body() -> Any:
    """The body as JSON within the nesting and number limits (Powertools' ``json_body`` has none:
    a body nested too deep would be a RecursionError); bad syntax is ``bad_body``'s."""
    try:
        text = app.current_event.decoded_body or ""
    except ValueError:  # bad base64 (binascii.Error) or bytes that are not UTF-8
        raise InvalidInput("Invalid parameter(s): body: not valid UTF-8 text") from None
    try:
        return loads(text, JsonLimits.of(container().settings))
    except JsonRefused as error:
        raise InvalidInput(f"Invalid parameter(s): body: {error}") from None


def _principal() -> str | None:
    """Who triggered: the token id the authorizer put in its context, else its principal id."""
    authorizer = app.current_event.request_context.authorizer
    return str(authorizer.get_context().get("token_id") or authorizer.principal_id) or None


def _deadline_ms() -> int:
    return now_ms() + app.lambda_context.get_remaining_time_in_millis() - 10_000


def _answer(
    status: int, message: str, body: dict[str, Any], ga: bool, headers: dict[str, str] | None = None
) -> Response[Any]:
    """The JSON body, or with ``ga=1`` the one line a GitHub Actions log shows as notice or error."""
    if ga:
        prefix = "::error::" if status >= 400 else "::notice::"
        return Response(status, content_types.TEXT_PLAIN, f"{prefix}{message}\n", headers)
    return json_response(status, body, headers)


@app.route("/run", method=["GET", "POST"])
def run() -> Response[Any]:
    query = validate(RunQuery, _query(), one_line)
    result = container().cron.start_run(defer=query.defer, triggered_by=_principal())
    return _answer(_run_status(result), result.message, result.to_dict(), query.ga)


def _run_status(result: QueuedRun | RunSummary) -> int:
    return 202 if isinstance(result, QueuedRun) else RUN_STATUS[result.error_code]


@app.post("/process-queue")
def process_queue() -> Response[Any]:
    query = validate(ProcessQuery, _query(), one_line)
    result = container().cron.process_queue(query.max, _deadline_ms())
    return _answer(200 if result.success else 500, result.message, result.to_dict(), query.ga)


@app.get("/sites")
def list_sites() -> dict[str, Any]:
    cron = container().cron
    sites = configured_sites(cron.settings, cron.runner.sites)
    return {"success": True, "count": len(sites), "sites": [s.model_dump(exclude_none=True) for s in sites]}


@app.post("/sites")
def add_sites() -> Response[Any]:
    raw = _json_body()
    body = validate(SitesBody, raw if isinstance(raw, dict) and "sites" in raw else {"sites": [raw]}, one_line)
    sites = [validate(Site, {"url": s} if isinstance(s, str) else s.model_dump(), one_line) for s in body.sites]
    stored = container().cron.runner.sites.put(sites)
    data = {"success": True, "count": len(stored), "sites": [s.model_dump(exclude_none=True) for s in stored]}
    return json_response(201, data)


@app.delete("/sites")
def delete_site() -> dict[str, Any]:
    raw = _json_body() if app.current_event.body else {}
    url = _query().get("url") or (raw.get("url") if isinstance(raw, dict) else None)
    if not url:
        raise InvalidInput("The site's url is required (?url= or a JSON body with url).")
    container().cron.runner.sites.delete(url)
    return {"success": True, "message": "Site removed."}


@app.get("/runs")
def list_runs() -> dict[str, Any]:
    query = validate(RunsQuery, _query(), one_line)
    runs = container().cron.runs.list(query.limit)
    return {"success": True, "runs": [r.model_dump(mode="json", exclude_none=True) for r in runs]}


@app.get("/runs/<run_id>")
def get_run(run_id: str) -> dict[str, Any]:
    return {"success": True, "run": container().cron.runs.get(run_id).model_dump(mode="json", exclude_none=True)}


@app.exception_handler(CronRateLimited)  # type: ignore[untyped-decorator]
def rate_limited(error: CronRateLimited) -> Response[Any]:
    """The plugin's rate-limit answer (and the contract's error fields), with ``Retry-After``."""
    body = {**error_body(error), "success": False, "error": error.code, **error.data}
    headers = {"Retry-After": str(error.retry_after)}
    return _answer(status_of(error), error.message, body, _wants_text(), headers)


def _error_answer(error: QueueError) -> Response[Any]:
    error = explain(error)  # a Redis error answers as what its cause was, which is logged
    body = {**error_body(error), "success": False}
    return _answer(status_of(error), error.message, body, _wants_text(), error_headers(error))


@app.exception_handler(QueueError)  # type: ignore[untyped-decorator]
def queue_error(error: QueueError) -> Response[Any]:
    return _error_answer(error)


@app.exception_handler(list(REDIS_FAILURES))  # type: ignore[untyped-decorator]
def redis_failed(error: RedisError | RedisClusterException) -> Response[Any]:
    """A Redis call no service wrapped (the trigger's lock, the deferred run's queue)."""
    return _error_answer(explain(error))


@app.exception_handler(json.JSONDecodeError)  # type: ignore[untyped-decorator]
def bad_body(_: json.JSONDecodeError) -> Response[Any]:
    """A body that is not JSON."""
    invalid = InvalidInput("The request body is not valid JSON.")
    return _answer(status_of(invalid), invalid.message, error_body(invalid), _wants_text())


def _wants_text() -> bool:
    return _query().get("ga", "").lower() in {"1", "true", "yes", "on"}


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cron_event = as_cron_event(event, container().settings.cron_queue)
    if cron_event is not None:
        deadline = now_ms() + context.get_remaining_time_in_millis() - 10_000
        result = container().cron.handle_event(cron_event, deadline)
        logger.info("cron event done", extra={"cron_action": cron_event["cron_action"]})
        return result
    response = app.resolve(event, context)
    logger.info("request", extra=request_log_fields(event, int(response["statusCode"]), scope_ok=True))
    return response
