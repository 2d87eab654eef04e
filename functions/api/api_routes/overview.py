"""Everything the dashboard shows at a glance, in one call: the page polls this route alone, so its
refreshes spend one call of the token's per-minute budget each (the page's stats, the workers'
status, the jobs running now, recent cron runs, a health summary, finished-attempt counters, the
month's estimated cost, and the jobs it follows: ``?jobs=id,id``).

Each part is read on its own: a part that fails is null and its reason is in ``errors``, so an
outage of Redis still shows the database's part (and the other way round)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from relayq.container import container
from relayq.domain.errors import InvalidInput, QueueError
from relayq.domain.models import JobStatus, is_job_id
from relayq.redis.failures import REDIS_FAILURES, explain

logger = Logger(child=True)
router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

# How many of each list the page shows; the followed jobs are the page's "created in this session".
RUNNING_JOBS = 20
RECENT_RUNS = 10
MAX_FOLLOWED = 50


def _stats() -> dict[str, Any]:
    return container().jobs.stats()


def _workers() -> dict[str, Any]:
    return container().worker_status.read()


def _running() -> list[dict[str, Any]]:
    page = container().jobs.list(1, RUNNING_JOBS, status=JobStatus.PROCESSING)
    return [job.model_dump(mode="json") for job in page.jobs]


def _runs() -> list[dict[str, Any]]:
    return [run.model_dump(mode="json", exclude_none=True) for run in container().runs.list(RECENT_RUNS)]


def _health() -> dict[str, Any]:
    report = container().jobs.health()
    return {
        "status": "healthy" if report.healthy else "unhealthy",
        "redis_connected": report.redis_connected,
        "database_status": report.database_status,
        "redis_info": report.redis_info,
        "errors": report.errors,
    }


def _counters() -> dict[str, int]:
    from relayq.services.metrics import finished_counts

    return finished_counts(container().broker)


def _cost() -> dict[str, Any]:
    from relayq.services.cost import cost_estimate

    return cost_estimate(container().broker, container().settings).as_dict()


def _followed(ids: list[str]) -> Callable[[], list[dict[str, Any]]]:
    def read() -> list[dict[str, Any]]:
        found = container().job_store.get_many(ids) if ids else {}
        return [found[i].model_dump(mode="json", exclude={"payload", "result"}) for i in ids if i in found]

    return read


def _followed_ids(jobs: str | None) -> list[str]:
    ids = list(dict.fromkeys(part.strip() for part in (jobs or "").split(",") if part.strip()))
    if len(ids) > MAX_FOLLOWED or not all(is_job_id(i) for i in ids):
        raise InvalidInput(f"jobs: at most {MAX_FOLLOWED} job ids (job_...), separated by commas.")
    return ids


def _read(part: str, read: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return read(), None
    except (QueueError, *REDIS_FAILURES) as error:
        return None, explain(error).message
    except Exception:
        logger.exception("overview part failed", extra={"part": part})
        return None, "An unexpected error occurred."


@router.get(
    "/overview",
    summary="Stats, workers, running jobs, recent cron runs, health and followed jobs in one answer",
    tags=["stats"],
)
def overview(
    jobs: Annotated[str | None, Query(max_length=MAX_FOLLOWED * 40, description="Job ids to follow, by commas")] = None,
) -> dict[str, Any]:
    parts: dict[str, Callable[[], Any]] = {
        "stats": _stats,
        "workers": _workers,
        "running": _running,
        "runs": _runs,
        "health": _health,
        "counters": _counters,
        "cost": _cost,
        "jobs": _followed(_followed_ids(jobs)),
    }
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        answers = dict(zip(parts, pool.map(lambda item: _read(*item), parts.items()), strict=True))
    data = {part: value for part, (value, _) in answers.items()}
    errors = {part: error for part, (_, error) in answers.items() if error is not None}
    return {"success": not errors, "data": data, "errors": errors}
