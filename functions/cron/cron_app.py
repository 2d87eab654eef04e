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
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from redis.exceptions import RedisClusterException, RedisError

from relayq.container import container
from relayq.domain.clock import now_ms
from relayq.domain.cron import HttpUrl, Site
from relayq.domain.errors import CronRateLimited, InvalidInput, QueueError, RedisUnavailable
from relayq.http.errors import error_body, error_headers, status_of
from relayq.http.json_text import JsonLimits, JsonRefused, loads
from relayq.http.request_log import request_log_fields
from relayq.http.responses import json_response
from relayq.http.validation import one_line, validate
from relayq.redis.failures import REDIS_FAILURES, explain
from relayq.services.cron.results import QueuedRun
from relayq.services.cron.service import as_cron_event
from relayq.services.cron.targets import configured_sites

logger = Logger()
app = APIGatewayRestResolver()


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


class SitePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    enabled: StrictBool


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
    status: int,
    message: str,
    body: dict[str, Any],
    ga: bool,
    headers: dict[str, str] | None = None,
    *,
    level: str | None = None,
) -> Response[Any]:
    """The JSON body, or with ``ga=1`` the one line a GitHub Actions log shows as an annotation:
    the plugin's ``::error::`` at 400 and above, ``::warning::`` for 409, else ``::notice::``,
    unless ``level`` says what the answer reports (a finished run's outcome)."""
    if ga:
        level = level or ("warning" if status == 409 else "error" if status >= 400 else "notice")
        return Response(status, content_types.TEXT_PLAIN, f"::{level}::{message}\n", headers)
    return json_response(status, body, headers)


@app.route("/run", method=["GET", "POST"])
def run() -> Response[Any]:
    """202 for a run handed to the background; 200 for a finished one whatever it came to, as the
    plugin answers (its ``success``, ``status`` and, with ``ga=1``, the annotation tell)."""
    query = validate(RunQuery, _query(), one_line)
    result = container().cron.start_run(defer=query.defer, triggered_by=_principal())
    if isinstance(result, QueuedRun):
        return _answer(202, result.line, result.to_dict(), query.ga, level=result.level)
    return _answer(200, result.message, result.to_dict(), query.ga, level=result.level)


@app.post("/process-queue")
def process_queue() -> Response[Any]:
    """The plugin's answers: 503 without Redis, 409 when the run job went back for the lock, else
    200, or 500 when a run it finished (or a job) failed."""
    query = validate(ProcessQuery, _query(), one_line)
    try:
        result = container().cron.process_queue(query.max, _deadline_ms())
    except RedisUnavailable as error:
        return _error_answer(error, "Redis is not available")
    status = 409 if result.lock_held else 200 if result.success else 500
    level = result.runs[-1].level if result.runs and status != 409 else None
    return _answer(status, result.message, result.to_dict(), query.ga, level=level)


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


@app.patch("/sites")
def patch_site() -> dict[str, Any]:
    """Enable or disable one site: a disabled site stays listed and is not called by runs."""
    body = validate(SitePatch, _json_body(), one_line)
    cron = container().cron
    site = cron.runner.sites.set_enabled(body.url, body.enabled, known=body.url in cron.settings.cron_sites)
    return {"success": True, "site": site.model_dump(exclude_none=True)}


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


def _error_answer(error: QueueError, message: str | None = None) -> Response[Any]:
    """The contract's error fields and the plugin's ``success: false``; ``message``: the plugin's."""
    error = explain(error)  # a Redis error answers as what its cause was, which is logged
    body = {**error_body(error), "success": False}
    body["message"] = message or error.message
    return _answer(status_of(error), body["message"], body, _wants_text(), error_headers(error))


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
