"""Worker: run by EventBridge schedules (one per queue set), idle-queue kicks and manual invokes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from relayq.container import container
from relayq.domain.errors import InvalidInput, RedisRefused, RedisUnavailable
from relayq.http.errors import error_body
from relayq.redis.failures import REDIS_FAILURES, explain

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        summary = container().worker.invoke(event, context.get_remaining_time_in_millis, context.aws_request_id)
    except (InvalidInput, RedisUnavailable, RedisRefused, *REDIS_FAILURES) as error:
        # Answered, not raised: Lambda would retry an async event into the same bad input, outage
        # or refusal. A Redis error answers as what its cause was (an outage or a refusal).
        summary = error_body(explain(error))
    logger.info("worker invocation done", extra={"result": summary})
    return summary
