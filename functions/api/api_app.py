"""REST API: the redis-queue plugin's contract on API Gateway (routes under the stage, e.g. /v1/jobs).

The authorizer has already checked the token and its scope. The routes are in ``api_routes`` (one
router per concern); here is the resolver that joins them: the contract's error answers
(``{"code","message","data":{"status"}}``) for whatever a route raises, the per-token rate limit
around every route, and one request log line per call.
"""

from __future__ import annotations

from typing import Any

from api_routes import docs, jobs, overview, reconcile, stats, tokens, uploads, workers
from api_routes.request import authorizer_context
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from redis.exceptions import RedisClusterException, RedisError

from relayq.container import container
from relayq.domain.errors import InternalError, NoRoute, QueueError, RateLimited
from relayq.http.errors import error_body, error_headers, status_of
from relayq.http.request_log import request_log_fields
from relayq.http.responses import json_response
from relayq.http.validation import invalid_params
from relayq.redis.failures import REDIS_FAILURES, explain

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)


# --- errors: every answer in the contract's {"code","message","data":{"status"}} -----------------


def _queue_error(error: QueueError) -> Response[Any]:
    error = explain(error)  # a Redis error answers as what its cause was, which is logged
    return json_response(status_of(error), error_body(error), error_headers(error))


def _validation_error(error: RequestValidationError) -> Response[Any]:
    return _queue_error(invalid_params(error.errors()))


def _no_route(_: NotFoundError) -> Response[Any]:
    return _queue_error(NoRoute())


def _redis_failed(error: RedisError | RedisClusterException) -> Response[Any]:
    # Reads that go straight to Redis (worker status, metrics) fail like the queue's own calls.
    return _queue_error(explain(error))


def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _queue_error(InternalError())


# The app's handlers and middlewares cover the included routers' routes too (include_router
# registers them on the app).
app.exception_handler(QueueError)(_queue_error)
app.exception_handler(RequestValidationError)(_validation_error)
app.exception_handler(list(REDIS_FAILURES))(_redis_failed)
app.not_found(_no_route)
app.exception_handler(Exception)(_unexpected)


# --- per-token rate limit -------------------------------------------------------------------------


# Not counted: the health probe answers within its own timeout whatever Redis does, and counting
# needs Redis (a hung node would hold every probe for the queue's full socket timeouts).
HEALTH_PATH = "/health"


def rate_limit(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Count the call against its token's per-minute budget (the limit comes from the token record
    through the authorizer, else the deployment default); /health is not counted."""
    authorizer = authorizer_context(app.current_event)
    token_id = authorizer.get("token_id")
    if not token_id or app.current_event.path == HEALTH_PATH:
        return next_middleware(app)
    limit = int(authorizer.get("rate_limit") or container().settings.rate_limit_per_minute)
    try:
        decision = container().rate_limiter.hit(token_id, limit)
    except REDIS_FAILURES:
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

# The order of openapi.json's paths: Powertools lists the routes with path parameters first, each
# group in the order the routers bring them.
for router in (
    jobs.router,
    workers.router,
    reconcile.router,
    stats.router,
    overview.router,
    tokens.router,
    uploads.router,
    docs.router,
):
    app.include_router(router)


def openapi_document() -> str:
    return docs.openapi_document(app)


# --- entry point ----------------------------------------------------------------------------------


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    logger.info("request", extra=request_log_fields(event, int(response["statusCode"]), scope_ok=True))
    return response
