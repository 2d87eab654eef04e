"""The DynamoDB job records: the durable truth about every job.

Status changes are conditional writes. The fencing token of a Redis lease (its claim counter,
higher on every claim) fences them: ``start`` records the token of the attempt it starts in
``fence`` and counts the attempt in ``attempts``; every later write of that attempt presents the
token, and a newer token always wins over an older one, so two workers can never both complete one
job. ``attempts`` counts only attempts that started: a claim whose start never happened (its reply
was lost, the start was throttled) spends a token, not an attempt.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relayq.domain.clock import to_text
from relayq.domain.errors import StoreUnavailable, TransitionRefused
from relayq.domain.models import FINISHED, AttemptError, Job, JobStatus
from relayq.dynamodb.codec import Item, ModelCodec, attributes, expression_values, plain, to_json
from relayq.dynamodb.table import TableStore, batch_write

# Index name -> partition attribute; every index sorts by the time-ordered job id.
INDEXES = {"status": "by-status", "queue": "by-queue", "type": "by-type"}
_NAMES = {
    "#s": "status",
    "#r": "result",
    "#a": "attempts",
    "#u": "updated_at",
    "#t": "fence",
    "#m": "max_attempts",
}


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    total: int
    total_pages: int


# The payload and result are JSON strings: any JSON value, stored exactly as the job carried it.
# The attempt history too: one attribute, replaced whole by the write that records a failure.
JOB_ITEM = ModelCodec(Job, as_json=("payload", "result", "attempt_errors"))


def _item(job: Job) -> Item:
    """The item of a job record: its fields, and its fence (every dump of a job leaves that out).
    No attempt history until an attempt fails: a new job's item carries no empty list."""
    item = JOB_ITEM.to_item(job, fence=job.fence)
    if not job.attempt_errors:
        del item["attempt_errors"]
    return item


def _key(job_id: str) -> Item:
    return attributes({"id": job_id})


def _fenced(fence: int | None) -> str:
    """The condition that the attempt of token ``fence`` (value ``:t``) is the one recorded; None
    stands for a record that no start with a token has touched."""
    return "attribute_not_exists(#t)" if fence is None else "#t = :t"


def _history(errors: Sequence[AttemptError]) -> str:
    """The ``attempt_errors`` attribute: written in the fenced write that records the failure, so
    the history read with the attempt is the one replaced (no other write changes it meanwhile)."""
    return to_json([error.model_dump() for error in errors])


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
                Key=_key(job_id),
                ConditionExpression="#s = :q",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=expression_values(q=JobStatus.QUEUED),
            )

    # --- reads ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        answer = self._call("get_item", Key=_key(job_id), ConsistentRead=True)
        return JOB_ITEM.from_item(answer["Item"]) if "Item" in answer else None

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Job]:
        found: dict[str, Job] = {}
        for chunk in _chunks(list(dict.fromkeys(job_ids)), 100):
            keys = [_key(i) for i in chunk]
            for attempt in range(8):
                try:
                    answer = self.client.batch_get_item(RequestItems={self.table: {"Keys": keys}})
                except (ClientError, BotoCoreError) as error:
                    raise StoreUnavailable(f"DynamoDB batch_get_item failed: {error}") from error
                jobs = [JOB_ITEM.from_item(item) for item in answer["Responses"].get(self.table, [])]
                found.update((job.id, job) for job in jobs)
                keys = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
        return found

    def matching_ids(self, filters: dict[str, str], before_id: str | None = None) -> Iterator[str]:
        """Ids of jobs matching every filter, newest first, from the most selective index."""
        index_key = next((k for k in ("status", "type", "queue") if k in filters), None)
        names = {"#id": "id"} | {f"#{k}": k for k in filters}
        values = expression_values(**filters)
        rest = [f"#{k} = :{k}" for k in filters if k != index_key]
        kwargs: dict[str, Any] = {"ProjectionExpression": "#id", "ExpressionAttributeNames": names}
        if index_key is None:
            operation = "scan"  # no filter: every job; ids are time-ordered, so sorting them orders it
        else:
            operation = "query"
            condition = f"#{index_key} = :{index_key}"
            if before_id:
                condition += " AND #id < :before"
                values |= expression_values(before=before_id)
            kwargs |= {"IndexName": INDEXES[index_key], "ScanIndexForward": False, "KeyConditionExpression": condition}
        if rest:
            kwargs["FilterExpression"] = " AND ".join(rest)
        if values:
            kwargs["ExpressionAttributeValues"] = values
        while True:
            answer = self._call(operation, **kwargs)
            yield from (plain(item)["id"] for item in answer.get("Items", []))
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
                "ExpressionAttributeValues": expression_values(s=status),
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

    def _update(self, job_id: str, update: str, condition: str, /, **values: Any) -> Job:
        """One conditional update; ``values`` are the expression's ``:name`` values."""
        attribute_names = {k: v for k, v in _NAMES.items() if k in update or k in condition}
        answer = self._call(
            "update_item",
            Key=_key(job_id),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=attribute_names,
            ExpressionAttributeValues=expression_values(**values),
            ReturnValues="ALL_NEW",
        )
        return JOB_ITEM.from_item(answer["Attributes"])

    def start(self, job_id: str, fence: int) -> Job:
        """queued -> processing for the lease with token ``fence``: one attempt more. Also taken
        from ``processing`` by a newer token when the attempt running was abandoned (its lease
        expired), never by an older one, and never past ``max_attempts``."""
        return self._update(
            job_id,
            "SET #s = :p, #t = :t, #a = #a + :one, #u = :now, processed_at = if_not_exists(processed_at, :now) "
            "REMOVE delay_until",
            "attribute_exists(id) AND #s IN (:q, :p) AND (attribute_not_exists(#t) OR #t < :t) AND #a < #m",
            p=JobStatus.PROCESSING,
            q=JobStatus.QUEUED,
            t=fence,
            one=1,
            now=to_text(self.clock()),
        )

    def complete(self, job_id: str, fence: int, result: Any) -> Job:
        return self._update(
            job_id,
            "SET #s = :c, #r = :r, #u = :now, expires_at = :exp REMOVE error_message",
            "#s = :p AND " + _fenced(fence),
            c=JobStatus.COMPLETED,
            p=JobStatus.PROCESSING,
            t=fence,
            r=to_json(result),
            now=to_text(self.clock()),
            exp=self._expires(),
        )

    def fail(self, job_id: str, fence: int | None, error: str, *, history: Sequence[AttemptError]) -> Job:
        """processing -> failed for good (attempts spent, or an error no retry can fix); ``history``:
        the attempt errors with this one."""
        return self._update(
            job_id,
            "SET #s = :f, error_message = :e, failed_at = :now, #u = :now, expires_at = :exp, attempt_errors = :h",
            "#s = :p AND " + _fenced(fence),
            f=JobStatus.FAILED,
            p=JobStatus.PROCESSING,
            t=fence,
            e=error[:2000],
            h=_history(history),
            now=to_text(self.clock()),
            exp=self._expires(),
        )

    def fail_waiting(self, job_id: str, attempts: int, error: str) -> Job:
        """queued -> failed for a record with no attempts left (``attempts`` as read), which no
        claim may start: e.g. one written before attempts counted only started runs."""
        return self._update(
            job_id,
            "SET #s = :f, error_message = :e, failed_at = :now, #u = :now, expires_at = :exp",
            "#s = :q AND #a = :n AND #a >= #m",
            f=JobStatus.FAILED,
            q=JobStatus.QUEUED,
            n=attempts,
            e=error[:2000],
            now=to_text(self.clock()),
            exp=self._expires(),
        )

    def requeue(
        self, job_id: str, fence: int | None, error: str, due_ms: int, *, history: Sequence[AttemptError]
    ) -> Job:
        """processing -> queued after a failed or abandoned attempt, retried at ``due_ms``;
        ``history``: the attempt errors with this one."""
        now = self.clock()
        delayed = due_ms > now
        return self._update(
            job_id,
            "SET #s = :q, #u = :now, error_message = :e, attempt_errors = :h"
            + (", delay_until = :d" if delayed else ""),
            "#s = :p AND " + _fenced(fence),
            q=JobStatus.QUEUED,
            p=JobStatus.PROCESSING,
            t=fence,
            now=to_text(now),
            e=error[:2000],
            h=_history(history),
            d=to_text(due_ms) if delayed else None,
        )

    def defer_unstarted(self, job_id: str, fence: int, due_ms: int) -> Job:
        """processing -> queued for an attempt that never ran (its exclusive lock was taken): the
        attempt is given back, so waiting for a lock never uses up a job's attempts."""
        return self._update(
            job_id,
            "SET #s = :q, #a = #a - :one, #u = :now, delay_until = :d",
            "#s = :p AND " + _fenced(fence),
            q=JobStatus.QUEUED,
            p=JobStatus.PROCESSING,
            t=fence,
            one=1,
            now=to_text(self.clock()),
            d=to_text(due_ms),
        )

    def make_due(self, job_id: str) -> Job:
        """A queued job waiting for its time (a delay or a retry's backoff) is due now."""
        return self._update(
            job_id,
            "SET #u = :now REMOVE delay_until",
            "#s = :q AND attribute_exists(delay_until)",
            q=JobStatus.QUEUED,
            now=to_text(self.clock()),
        )

    def cancel(self, job_id: str) -> Job:
        """queued or failed -> cancelled (the contract allows nothing else)."""
        return self._update(
            job_id,
            "SET #s = :x, #u = :now, expires_at = :exp",
            "#s IN (:q, :f)",
            x=JobStatus.CANCELLED,
            q=JobStatus.QUEUED,
            f=JobStatus.FAILED,
            now=to_text(self.clock()),
            exp=self._expires(),
        )

    def reopen(self, job_id: str) -> Job:
        """failed -> queued with a fresh set of attempts (the retry action for failed jobs)."""
        return self._update(
            job_id,
            "SET #s = :q, #a = :zero, #u = :now REMOVE error_message, failed_at, expires_at, #r",
            "#s = :f",
            q=JobStatus.QUEUED,
            f=JobStatus.FAILED,
            zero=0,
            now=to_text(self.clock()),
        )

    def revert_reopen(self, job_id: str) -> None:
        """Put a reopened job back to failed when its Redis half could not be queued."""
        with contextlib.suppress(TransitionRefused):
            self._update(
                job_id,
                "SET #s = :f, failed_at = :now, #u = :now, expires_at = :exp",
                "#s = :q AND #a = :zero",
                f=JobStatus.FAILED,
                q=JobStatus.QUEUED,
                zero=0,
                now=to_text(self.clock()),
                exp=self._expires(),
            )

    def cancel_waiting(self, job_ids: Sequence[str]) -> int:
        """Mark jobs taken out of Redis by a queue clear as cancelled; returns how many changed."""

        def one(job_id: str) -> bool:
            try:
                self._update(
                    job_id,
                    "SET #s = :x, #u = :now, expires_at = :exp",
                    "#s = :q",
                    x=JobStatus.CANCELLED,
                    q=JobStatus.QUEUED,
                    now=to_text(self.clock()),
                    exp=self._expires(),
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
        batch_write(self.client, self.table, [{"DeleteRequest": {"Key": _key(i)}} for i in doomed])
        return len(doomed)
