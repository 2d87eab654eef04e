"""The workers: a synchronous batch (the plugin's trigger) and what the workers are doing."""

from __future__ import annotations

from typing import Any

from api_input import WorkerTriggerRequest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api_routes.request import request_body
from relayq.container import container
from relayq.domain.errors import QueueError, WorkerExecutionFailed
from relayq.http.validation import validate

logger = Logger(child=True)
router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.post("/workers/trigger", summary="Process a batch synchronously", tags=["workers"])
def trigger_workers() -> dict[str, Any]:
    request = validate(WorkerTriggerRequest, request_body(router.current_event))
    # No deadline: like the plugin's synchronous trigger, any job may run (a deadline shorter than
    # the default 300 s job timeout would refuse every job). A batch that outlives the function is
    # cut off; its leases expire and the scheduled worker finishes those jobs.
    try:
        context = router.lambda_context
        result = container().worker.trigger(
            list(dict.fromkeys(request.queues)),
            request.max_jobs,
            context.get_remaining_time_in_millis,
            f"api-{context.aws_request_id}",
        )
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


@router.get("/workers/status", summary="Last run, workers running now, recent jobs, throughput", tags=["workers"])
def workers_status() -> dict[str, Any]:
    return {"success": True, "data": container().worker_status.read()}
