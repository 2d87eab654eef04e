"""The jobs: list, read, create (once per ``Idempotency-Key``), cancel, retry, run a delayed one now,
purge; and clearing the jobs that wait in a queue."""

from __future__ import annotations

from typing import Annotated, Any

from api_input import PurgeRequest, new_job
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api_routes.idempotency import idempotent_create
from api_routes.request import authorizer_context, json_limits, request_body
from relayq.container import container
from relayq.domain.errors import InvalidInput
from relayq.domain.models import JobStatus
from relayq.http.responses import json_response
from relayq.http.validation import validate

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.get("/jobs", summary="List jobs, newest first", tags=["jobs"])
def list_jobs(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 10,
    *,
    status: Annotated[JobStatus | None, Query()] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    delayed: Annotated[
        bool, Query(description="Only jobs waiting for a later time, soonest due first (no other filter)")
    ] = False,
) -> Response[Any]:
    if delayed:
        if status not in (None, JobStatus.QUEUED) or queue or type:
            raise InvalidInput("delayed lists every delayed job by due time; it takes no status, queue or type.")
        result = container().jobs.delayed(page, per_page)
    else:
        result = container().jobs.list(page, per_page, status=status, queue=queue, type=type)
    totals = {"total": str(result.total), "pages": str(result.total_pages)}
    headers = {
        "X-WP-Total": totals["total"],
        "X-WP-TotalPages": totals["pages"],
        "X-Total-Count": totals["total"],
        "X-Total-Pages": totals["pages"],
    }
    return json_response(200, [job.model_dump(mode="json") for job in result.jobs], headers)


@router.get("/jobs/<job_id>", summary="Get one job", tags=["jobs"])
def get_job(job_id: str) -> dict[str, Any]:
    return container().jobs.get(job_id).model_dump(mode="json")


@router.post("/jobs", summary="Create and enqueue a job (JSON or form-encoded)", tags=["jobs"], status_code=201)
def create_job() -> Response[Any]:
    event = router.current_event
    request = new_job(request_body(event), json_limits())
    key = (event.headers.get("idempotency-key") or "").strip()[:200]
    if key:
        scoped_key = f"{authorizer_context(event).get('token_id', '')}:{key}"
        job_id = idempotent_create()(scoped_key, request, router.lambda_context)
    else:
        job_id = container().jobs.create(request).id
    return json_response(201, {"success": True, "job_id": job_id, "message": "Job created and enqueued successfully."})


@router.delete("/jobs/<job_id>", summary="Cancel a queued or failed job", tags=["jobs"])
def cancel_job(job_id: str) -> dict[str, Any]:
    job = container().jobs.cancel(job_id)
    return {"success": True, "job_id": job.id, "message": "Job cancelled successfully."}


@router.post("/jobs/<job_id>/retry", summary="Run a failed job again", tags=["jobs"])
def retry_job(job_id: str) -> dict[str, Any]:
    job = container().jobs.retry(job_id)
    return {"success": True, "job_id": job.id, "message": "Job queued for retry."}


@router.post("/jobs/<job_id>/run-now", summary="Run a delayed job now (a delay or a retry's wait)", tags=["jobs"])
def run_job_now(job_id: str) -> dict[str, Any]:
    job = container().jobs.run_now(job_id)
    return {"success": True, "job_id": job.id, "message": "Job is due now."}


@router.post("/jobs/purge", summary="Delete finished jobs older than N days", tags=["jobs"])
def purge_jobs() -> dict[str, Any]:
    request = validate(PurgeRequest, request_body(router.current_event))
    deleted = container().jobs.purge(request.older_than_days)
    return {"success": True, "deleted": deleted, "message": f"Purged {deleted} finished jobs."}


@router.post("/queues/<name>/clear", summary="Remove every waiting job of a queue", tags=["queues"])
def clear_queue(name: str) -> dict[str, Any]:
    cleared = container().jobs.clear(name)
    return {"success": True, "cleared": cleared, "message": f'Queue "{name}" cleared successfully.'}
