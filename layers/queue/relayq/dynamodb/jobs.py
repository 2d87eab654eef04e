"""The DynamoDB job records: the durable truth about every job.

Status changes are conditional writes. The attempt number leased in Redis fences them: a worker
may only finish the attempt it holds, and a newer attempt always wins over an older one, so two
workers can never both complete one job.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relayq.domain.clock import to_text
from relayq.domain.errors import StoreUnavailable, TransitionRefused
from relayq.domain.models import FINISHED, Job, JobStatus
from relayq.dynamodb.table import TableStore, batch_write

# Index name -> partition attribute; every index sorts by the time-ordered job id.
INDEXES = {"status": "by-status", "queue": "by-queue", "type": "by-type"}
_NAMES = {
    "#s": "status",
    "#r": "result",
    "#a": "attempts",
    "#u": "updated_at",
}


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    total: int
    total_pages: int


def _item(job: Job, expires_at: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": job.id},
        "type": {"S": job.type},
        "queue": {"S": job.queue},
        "status": {"S": str(job.status)},
        "priority": {"N": str(job.priority)},
        "payload": {"S": json.dumps(job.payload, separators=(",", ":"))},
        "attempts": {"N": str(job.attempts)},
        "max_attempts": {"N": str(job.max_attempts)},
        "timeout": {"N": str(job.timeout)},
        "created_at": {"S": job.created_at},
        "updated_at": {"S": job.updated_at},
    }
    if job.result is not None:
        item["result"] = {"S": json.dumps(job.result, separators=(",", ":"))}
    for name in ("error_message", "processed_at", "failed_at", "delay_until"):
        value = getattr(job, name)
        if value is not None:
            item[name] = {"S": value}
    if expires_at is not None:
        item["expires_at"] = {"N": str(expires_at)}
    return item


def _job(item: dict[str, Any]) -> Job:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return Job(
        id=item["id"]["S"],
        type=item["type"]["S"],
        queue=item["queue"]["S"],
        status=JobStatus(item["status"]["S"]),
        priority=int(item["priority"]["N"]),
        payload=json.loads(item["payload"]["S"]),
        result=json.loads(item["result"]["S"]) if "result" in item else None,
        attempts=int(item["attempts"]["N"]),
        max_attempts=int(item["max_attempts"]["N"]),
        timeout=int(item["timeout"]["N"]),
        error_message=text("error_message"),
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        processed_at=text("processed_at"),
        failed_at=text("failed_at"),
        delay_until=text("delay_until"),
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class JobStore(TableStore):
    """Job records in one DynamoDB table (see ``JobsTable`` in template.yaml)."""

    # --- creation -------------------------------------------------------------------------------

    def put_new(self, job: Job) -> None:
        self._call("put_item", Item=_item(job), ConditionExpression="attribute_not_exists(id)")

    def put_many(self, jobs: Sequence[Job]) -> None:
        """Bulk create: 25 items a request, unprocessed items retried with backoff."""
        batch_write(self.client, self.table, [{"PutRequest": {"Item": _item(job)}} for job in jobs])

    def delete_if_queued(self, job_id: str) -> None:
        """Undo a create whose Redis half failed, unless a worker already picked the job up."""
        with contextlib.suppress(TransitionRefused):
            self._call(
                "delete_item",
                Key={"id": {"S": job_id}},
                ConditionExpression="#s = :q",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":q": {"S": JobStatus.QUEUED}},
            )

    # --- reads ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        answer = self._call("get_item", Key={"id": {"S": job_id}}, ConsistentRead=True)
        return _job(answer["Item"]) if "Item" in answer else None

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        found: dict[str, Job] = {}
        for chunk in _chunks(list(dict.fromkeys(job_ids)), 100):
            keys: list[dict[str, Any]] = [{"id": {"S": i}} for i in chunk]
            for attempt in range(8):
                try:
                    answer = self.client.batch_get_item(RequestItems={self.table: {"Keys": keys}})
                except (ClientError, BotoCoreError) as error:
                    raise StoreUnavailable(f"DynamoDB batch_get_item failed: {error}") from error
                found.update((item["id"]["S"], _job(item)) for item in answer["Responses"].get(self.table, []))
                keys = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
        return found

    def matching_ids(self, filters: dict[str, str], before_id: str | None = None) -> Iterator[str]:
        """Ids of jobs matching every filter, newest first, from the most selective index."""
        index_key = next((k for k in ("status", "type", "queue") if k in filters), None)
        names = {"#id": "id"} | {f"#{k}": k for k in filters}
        values: dict[str, Any] = {f":{k}": {"S": v} for k, v in filters.items()}
        rest = [f"#{k} = :{k}" for k in filters if k != index_key]
        kwargs: dict[str, Any] = {"ProjectionExpression": "#id", "ExpressionAttributeNames": names}
        if index_key is None:
            operation = "scan"  # no filter: every job; ids are time-ordered, so sorting them orders it
        else:
            operation = "query"
            condition = f"#{index_key} = :{index_key}"
            if before_id:
                condition += " AND #id < :before"
                values[":before"] = {"S": before_id}
            kwargs |= {"IndexName": INDEXES[index_key], "ScanIndexForward": False, "KeyConditionExpression": condition}
        if rest:
            kwargs["FilterExpression"] = " AND ".join(rest)
        if values:
            kwargs["ExpressionAttributeValues"] = values
        while True:
            answer = self._call(operation, **kwargs)
            yield from (item["id"]["S"] for item in answer.get("Items", []))
            if "LastEvaluatedKey" not in answer:
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def list(self, page: int = 1, per_page: int = 10, **filters: str | None) -> JobPage:
        """One page of jobs, newest first, with the total that matched."""
        wanted = {k: v for k, v in filters.items() if v}
        ids = list(self.matching_ids(wanted))
        if not wanted:
            ids.sort(reverse=True)
        total = len(ids)
        page_ids = ids[(page - 1) * per_page : page * per_page]
        found = self.get_many(page_ids)
        jobs = [found[i] for i in page_ids if i in found]
        return JobPage(jobs, total, max(1, -(-total // per_page)) if total else 0)

    def count_by_status(self) -> dict[str, int]:
        def count(status: JobStatus) -> int:
            kwargs: dict[str, Any] = {
                "IndexName": INDEXES["status"],
                "Select": "COUNT",
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": status}},
            }
            total = 0
            while True:
                answer = self._call("query", **kwargs)
                total += int(answer["Count"])
                if "LastEvaluatedKey" not in answer:
                    return total
                kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

        with ThreadPoolExecutor(max_workers=len(JobStatus)) as pool:
            counts = dict(zip([str(s) for s in JobStatus], pool.map(count, JobStatus), strict=True))
        return {"total": sum(counts.values()), **counts}

    # --- status transitions (all conditional) ---------------------------------------------------

    def _update(self, job_id: str, update: str, condition: str, values: dict[str, Any]) -> Job:
        attribute_names = {k: v for k, v in _NAMES.items() if k in update or k in condition}
        answer = self._call(
            "update_item",
            Key={"id": {"S": job_id}},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=attribute_names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _job(answer["Attributes"])

    def start(self, job_id: str, attempt: int) -> Job:
        """queued -> processing for ``attempt``. Also taken from ``processing`` when a newer
        attempt replaces one whose worker died (its lease expired), never by an older attempt."""
        now = to_text(self.clock())
        return self._update(
            job_id,
            "SET #s = :p, #a = :a, #u = :now, processed_at = if_not_exists(processed_at, :now) REMOVE delay_until",
            "attribute_exists(id) AND #s IN (:q, :p) AND #a < :a",
            {
                ":p": {"S": JobStatus.PROCESSING},
                ":q": {"S": JobStatus.QUEUED},
                ":a": {"N": str(attempt)},
                ":now": {"S": now},
            },
        )

    def complete(self, job_id: str, attempt: int, result: Any) -> Job:
        now = to_text(self.clock())
        return self._update(
            job_id,
            "SET #s = :c, #r = :r, #u = :now, expires_at = :exp REMOVE error_message",
            "#s = :p AND #a = :a",
            {
                ":c": {"S": JobStatus.COMPLETED},
                ":p": {"S": JobStatus.PROCESSING},
                ":a": {"N": str(attempt)},
                ":r": {"S": json.dumps(result, separators=(",", ":"))},
                ":now": {"S": now},
                ":exp": {"N": str(self._expires())},
            },
        )

    def fail(self, job_id: str, attempt: int, error: str) -> Job:
        """processing -> failed for good (attempts spent, or an error no retry can fix)."""
        now = to_text(self.clock())
        return self._update(
            job_id,
            "SET #s = :f, error_message = :e, failed_at = :now, #u = :now, expires_at = :exp",
            "#s = :p AND #a = :a",
            {
                ":f": {"S": JobStatus.FAILED},
                ":p": {"S": JobStatus.PROCESSING},
                ":a": {"N": str(attempt)},
                ":e": {"S": error[:2000]},
                ":now": {"S": now},
                ":exp": {"N": str(self._expires())},
            },
        )

    def requeue(self, job_id: str, attempt: int, error: str | None, due_ms: int) -> Job:
        """processing -> queued after a failed attempt that will be retried at ``due_ms``."""
        now = self.clock()
        values: dict[str, Any] = {
            ":q": {"S": JobStatus.QUEUED},
            ":p": {"S": JobStatus.PROCESSING},
            ":a": {"N": str(attempt)},
            ":now": {"S": to_text(now)},
            ":e": {"S": (error or "lease expired")[:2000]},
        }
        update = "SET #s = :q, #u = :now, error_message = :e"
        if due_ms > now:
            update += ", delay_until = :d"
            values[":d"] = {"S": to_text(due_ms)}
        return self._update(job_id, update, "#s = :p AND #a = :a", values)

    def defer_unstarted(self, job_id: str, attempt: int, due_ms: int) -> Job:
        """processing -> queued for an attempt that never ran (its exclusive lock was taken): the
        attempt is given back, so waiting for a lock never uses up a job's attempts."""
        return self._update(
            job_id,
            "SET #s = :q, #a = :prev, #u = :now, delay_until = :d",
            "#s = :p AND #a = :a",
            {
                ":q": {"S": JobStatus.QUEUED},
                ":p": {"S": JobStatus.PROCESSING},
                ":a": {"N": str(attempt)},
                ":prev": {"N": str(attempt - 1)},
                ":now": {"S": to_text(self.clock())},
                ":d": {"S": to_text(due_ms)},
            },
        )

    def cancel(self, job_id: str) -> Job:
        """queued or failed -> cancelled (the contract allows nothing else)."""
        now = to_text(self.clock())
        return self._update(
            job_id,
            "SET #s = :x, #u = :now, expires_at = :exp",
            "#s IN (:q, :f)",
            {
                ":x": {"S": JobStatus.CANCELLED},
                ":q": {"S": JobStatus.QUEUED},
                ":f": {"S": JobStatus.FAILED},
                ":now": {"S": now},
                ":exp": {"N": str(self._expires())},
            },
        )

    def reopen(self, job_id: str) -> Job:
        """failed -> queued with a fresh set of attempts (the retry action for failed jobs)."""
        now = self.clock()
        values: dict[str, Any] = {
            ":q": {"S": JobStatus.QUEUED},
            ":f": {"S": JobStatus.FAILED},
            ":zero": {"N": "0"},
            ":now": {"S": to_text(now)},
        }
        update = "SET #s = :q, #a = :zero, #u = :now REMOVE error_message, failed_at, expires_at, #r"
        return self._update(job_id, update, "#s = :f", values)

    def revert_reopen(self, job_id: str) -> None:
        """Put a reopened job back to failed when its Redis half could not be queued."""
        with contextlib.suppress(TransitionRefused):
            self._update(
                job_id,
                "SET #s = :f, failed_at = :now, #u = :now, expires_at = :exp",
                "#s = :q AND #a = :zero",
                {
                    ":f": {"S": JobStatus.FAILED},
                    ":q": {"S": JobStatus.QUEUED},
                    ":zero": {"N": "0"},
                    ":now": {"S": to_text(self.clock())},
                    ":exp": {"N": str(self._expires())},
                },
            )

    def cancel_waiting(self, job_ids: Sequence[str]) -> int:
        """Mark jobs taken out of Redis by a queue clear as cancelled; returns how many changed."""

        def one(job_id: str) -> bool:
            try:
                self._update(
                    job_id,
                    "SET #s = :x, #u = :now, expires_at = :exp",
                    "#s = :q",
                    {
                        ":x": {"S": JobStatus.CANCELLED},
                        ":q": {"S": JobStatus.QUEUED},
                        ":now": {"S": to_text(self.clock())},
                        ":exp": {"N": str(self._expires())},
                    },
                )
            except TransitionRefused:
                return False
            return True

        with ThreadPoolExecutor(max_workers=16) as pool:
            return sum(pool.map(one, job_ids))

    def purge_finished(self, older_than_ms: int) -> int:
        """Delete finished jobs created before ``older_than_ms`` (TTL does this too, lazily)."""
        before = f"job_{older_than_ms:012x}"
        doomed: list[str] = []
        for status in FINISHED:
            doomed += self.matching_ids({"status": str(status)}, before_id=before)
        batch_write(self.client, self.table, [{"DeleteRequest": {"Key": {"id": {"S": i}}}} for i in doomed])
        return len(doomed)
