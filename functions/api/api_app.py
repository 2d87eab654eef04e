"""REST API: the redis-queue plugin's contract on API Gateway (routes under the stage, e.g. /v1/jobs).

The authorizer has already checked the token and its scope; here: per-token rate limit, routing,
the contract's bodies and errors, and one request log line per call.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from api_input import (
    CreateTokenRequest,
    PurgeRequest,
    WorkerTriggerRequest,
    invalid_params,
    new_job,
    parse_body,
    validate,
)
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from redis.exceptions import RedisError

from relayq import __version__
from relayq.container import container
from relayq.domain.errors import (
    InternalError,
    NoRoute,
    QueueError,
    RateLimited,
    RedisUnavailable,
    WorkerExecutionFailed,
)
from relayq.domain.models import JobStatus, NewJob
from relayq.http.request_log import request_log_fields

TITLE = "relayq REST API"

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)
# Swagger UI as a static page reading /openapi.json: Powertools' enable_swagger() would build the
# whole OpenAPI model at import, a fifth of this module's cold start.
SWAGGER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>relayq REST API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script></body></html>
"""


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _body() -> dict[str, Any]:
    event = app.current_event
    return parse_body(
        event.body,
        event.headers.get("content-type") or event.headers.get("Content-Type"),
        is_base64=bool(event.is_base64_encoded),
        max_bytes=container().settings.api_max_body_bytes,
    )


def _authorizer() -> dict[str, Any]:
    context: dict[str, Any] = app.current_event.get("requestContext") or {}
    return dict(context.get("authorizer") or {})


# --- errors: every answer in the contract's {"code","message","data":{"status"}} -----------------


def _queue_error(error: QueueError) -> Response[Any]:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return _json(error.status, error.to_body(), headers)


def _validation_error(error: RequestValidationError) -> Response[Any]:
    return _queue_error(invalid_params(error.errors()))


def _no_route(_: NotFoundError) -> Response[Any]:
    return _queue_error(NoRoute())


def _redis_down(_: RedisError) -> Response[Any]:
    # Reads that go straight to Redis (worker status, metrics) fail like the queue's own calls.
    return _queue_error(RedisUnavailable())


def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _queue_error(InternalError())


app.exception_handler(QueueError)(_queue_error)
app.exception_handler(RequestValidationError)(_validation_error)
app.exception_handler(RedisError)(_redis_down)
app.not_found(_no_route)
app.exception_handler(Exception)(_unexpected)


# --- per-token rate limit -------------------------------------------------------------------------


def rate_limit(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Count the call against its token's per-minute budget (the limit comes from the token record
    through the authorizer, else the deployment default)."""
    authorizer = _authorizer()
    token_id = authorizer.get("token_id")
    if not token_id:
        return next_middleware(app)
    limit = int(authorizer.get("rate_limit") or container().settings.rate_limit_per_minute)
    try:
        decision = container().rate_limiter.hit(token_id, limit)
    except RedisError:
        # Without Redis the queue cannot work either; let the route answer (503, or /health's
        # report) instead of hiding the outage behind a rate-limit error.
        logger.warning("rate limiter unavailable; call not counted", extra={"token_id": token_id})
        return next_middleware(app)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)
    response = next_middleware(app)
    response.headers["X-RateLimit-Limit"] = str(decision.limit)
    response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    return response


app.use(middlewares=[rate_limit])


# --- jobs -----------------------------------------------------------------------------------------


@app.get("/jobs", summary="List jobs, newest first", tags=["jobs"])
def list_jobs(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 10,
    status: Annotated[JobStatus | None, Query()] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
) -> Response[Any]:
    result = container().jobs.list(page, per_page, status=status, queue=queue, type=type)
    totals = {"total": str(result.total), "pages": str(result.total_pages)}
    headers = {
        "X-WP-Total": totals["total"],
        "X-WP-TotalPages": totals["pages"],
        "X-Total-Count": totals["total"],
        "X-Total-Pages": totals["pages"],
    }
    return _json(200, [job.model_dump(mode="json") for job in result.jobs], headers)


@app.get("/jobs/<job_id>", summary="Get one job", tags=["jobs"])
def get_job(job_id: str) -> dict[str, Any]:
    return container().jobs.get(job_id).model_dump(mode="json")


@cache
def _idempotent_create() -> tuple[Callable[..., dict[str, Any]], Any]:
    """Create through Powertools idempotency: the same key (per token) returns the first job."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=container().settings.idempotency_table,
        key_attr="id",
        expiry_attr="expiration",
        boto3_client=container().aws.client("dynamodb"),
    )
    config = IdempotencyConfig(
        event_key_jmespath="key", payload_validation_jmespath="job", expires_after_seconds=86_400
    )

    def create(request: dict[str, Any]) -> dict[str, Any]:
        return {"job_id": container().jobs.create(NewJob.model_validate(request["job"])).id}

    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        create, data_keyword_argument="request", persistence_store=persistence, config=config
    )
    return wrapped, config


def _create_once(key: str, request: NewJob) -> str:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    from relayq.domain.errors import IdempotencyKeyReused, RequestInProgress, StoreUnavailable

    scoped_key = f"{_authorizer().get('token_id', '')}:{key}"
    create, config = _idempotent_create()
    config.register_lambda_context(app.lambda_context)  # an in-progress record expires with the invocation
    try:
        result = create(request={"key": scoped_key, "job": request.model_dump(mode="json")})
    except IdempotencyValidationError:
        raise IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress() from None
    except IdempotencyPersistenceLayerError as error:
        raise StoreUnavailable() from error
    return str(result["job_id"])


@app.post("/jobs", summary="Create and enqueue a job (JSON or form-encoded)", tags=["jobs"], status_code=201)
def create_job() -> Response[Any]:
    request = new_job(_body())
    key = (
        app.current_event.headers.get("idempotency-key") or app.current_event.headers.get("Idempotency-Key") or ""
    ).strip()
    job_id = _create_once(key[:200], request) if key else container().jobs.create(request).id
    return _json(201, {"success": True, "job_id": job_id, "message": "Job created and enqueued successfully."})


@app.delete("/jobs/<job_id>", summary="Cancel a queued or failed job", tags=["jobs"])
def cancel_job(job_id: str) -> dict[str, Any]:
    job = container().jobs.cancel(job_id)
    return {"success": True, "job_id": job.id, "message": "Job cancelled successfully."}


@app.post("/jobs/<job_id>/retry", summary="Run a failed job again", tags=["jobs"])
def retry_job(job_id: str) -> dict[str, Any]:
    job = container().jobs.retry(job_id)
    return {"success": True, "job_id": job.id, "message": "Job queued for retry."}


@app.post("/jobs/purge", summary="Delete finished jobs older than N days", tags=["jobs"])
def purge_jobs() -> dict[str, Any]:
    request = validate(PurgeRequest, _body())
    deleted = container().jobs.purge(request.older_than_days)
    return {"success": True, "deleted": deleted, "message": f"Purged {deleted} finished jobs."}


# --- workers, queues, stats, health ---------------------------------------------------------------


@app.post("/workers/trigger", summary="Process a batch synchronously", tags=["workers"])
def trigger_workers() -> dict[str, Any]:
    request = validate(WorkerTriggerRequest, _body())
    # No deadline: like the plugin's synchronous trigger, any job may run (a deadline shorter than
    # the default 300 s job timeout would refuse every job). A batch that outlives the function is
    # cut off; its leases expire and the scheduled worker finishes those jobs.
    try:
        result = container().jobs.process(request.queues, request.max_jobs)
    except QueueError:
        raise
    except Exception as error:
        logger.exception("worker batch failed")
        raise WorkerExecutionFailed() from error
    data = {
        "processed": result.processed,
        "successful": result.successful,
        "failed": result.failed,
        "errors": result.errors,
        "success": True,
    }
    return {"success": True, "data": data, "message": f"Worker processed {result.processed} jobs."}


@app.get("/workers/status", summary="Last run, workers running now, recent jobs, throughput", tags=["workers"])
def workers_status() -> dict[str, Any]:
    return {"success": True, "data": container().worker_status.read()}


@app.get("/metrics", summary="Queue and job metrics in Prometheus' text format", tags=["stats"])
def metrics() -> Response[str]:
    from relayq.services.metrics import prometheus_text

    body = prometheus_text(container().broker)
    return Response(status_code=200, content_type="text/plain; version=0.0.4; charset=utf-8", body=body)


@app.post("/queues/<name>/clear", summary="Remove every waiting job of a queue", tags=["queues"])
def clear_queue(name: str) -> dict[str, Any]:
    cleared = container().jobs.clear(name)
    return {"success": True, "cleared": cleared, "message": f'Queue "{name}" cleared successfully.'}


@app.get("/stats", summary="Queue lengths and job counts by status", tags=["stats"])
def stats(flat: Annotated[bool, Query()] = False) -> dict[str, Any]:
    data = container().jobs.stats()
    if flat:
        # The dashboard's shape (the plugin flattened it in PHP): counts by status, then lengths.
        lengths = {name: block["pending"] for name, block in data.items() if name != "database"}
        data = {**data["database"], **{f"{name}_pending": n for name, n in lengths.items()}}
    return {"success": True, "data": data}


def _memory_usage() -> dict[str, Any]:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        current = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        current = peak
    limit = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    return {"current": current, "peak": peak, "limit": f"{limit}M" if limit else None}


@app.get("/health", summary="Redis and DynamoDB reachability, runtime and version", tags=["stats"])
def health() -> Response[Any]:
    queue = container().jobs
    report = queue.health()
    data = {
        "redis_connected": report.redis_connected,
        "redis_info": report.redis_info,
        "database_status": report.database_status,
        "memory_usage": _memory_usage(),
        **queue.runtime_info(),
        "errors": report.errors,
    }
    body = {"success": report.healthy, "status": "healthy" if report.healthy else "unhealthy", "data": data}
    return _json(200 if report.healthy else 503, body)


# --- tokens (full scope; the dashboard's token page) ----------------------------------------------


@app.get("/tokens", summary="List API tokens (never their secrets)", tags=["tokens"])
def list_tokens() -> dict[str, Any]:
    return {"success": True, "data": [t.model_dump() for t in container().tokens.list()]}


@app.post("/tokens", summary="Create an API token; its secret is shown only in this answer", tags=["tokens"])
def create_token() -> Response[Any]:
    request = validate(CreateTokenRequest, _body())
    created = container().tokens.create(request.name, request.scope, request.rate_limit)
    body = {
        "success": True,
        "token": created.token,
        "data": created.info.model_dump(),
        "message": "Token created. Store it now: it is not shown again.",
    }
    return _json(201, body)


@app.delete("/tokens/<token_id>", summary="Revoke an API token", tags=["tokens"])
def revoke_token(token_id: str) -> dict[str, Any]:
    info = container().tokens.revoke(token_id)
    return {"success": True, "data": info.model_dump(), "message": "Token revoked."}


# --- dashboard (static; no authorizer: the page asks for a token and calls this API with it) --------

DASHBOARD = Path(__file__).with_name("dashboard")


@app.get("/dashboard", summary="The dashboard page", tags=["dashboard"], include_in_schema=False)
@app.get("/dashboard/<file>", summary="The dashboard's files", tags=["dashboard"], include_in_schema=False)
def dashboard(file: str = "") -> Response[Any]:
    from dashboard_files import dashboard_file

    found = dashboard_file(DASHBOARD, file)
    if found is None:
        raise NoRoute()
    return Response(
        status_code=200,
        content_type=found.content_type,
        body=found.body.decode(),
        headers={"Cache-Control": found.cache_control},
    )


@app.get("/openapi.json", summary="This API's OpenAPI document", tags=["docs"])
def openapi() -> Response[Any]:
    return _json(200, json.loads(openapi_document()))


@app.get("/docs", summary="Swagger UI for this API", tags=["docs"])
def swagger_ui() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=SWAGGER_PAGE)


def openapi_document() -> str:
    return app.get_openapi_json_schema(title=TITLE, version=__version__)


# --- entry point ----------------------------------------------------------------------------------


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    logger.info("request", extra=request_log_fields(event, int(response["statusCode"]), scope_ok=True))
    return response
