"""Worker: run by EventBridge schedules (and on demand) to process one queue set."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from relayq.clock import now_ms
from relayq.service import get_queue
from relayq.worker_input import WorkerInput

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = WorkerInput.model_validate(event or {})
    # Stop claiming while the function still has time to finish the longest job it starts.
    deadline_ms = now_ms() + context.get_remaining_time_in_millis() - 5_000
    result = get_queue().process(request.queues, request.max_jobs, deadline_ms=deadline_ms)
    summary = {
        "processed": result.processed,
        "successful": result.successful,
        "failed": result.failed,
        "retried": result.retried,
        "recovered": result.recovered,
        "promoted": result.promoted,
        "errors": result.errors,
    }
    logger.info("worker batch done", extra=summary)
    return summary
