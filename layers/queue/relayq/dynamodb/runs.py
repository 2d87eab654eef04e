"""Runs and their per-site results in one DynamoDB table (``RunsTable``): a header item per run
(part ``run``: status, totals, per-status counts) and one item per batch with its results.
Batches report with one conditional update each, so a batch job that runs twice counts once."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from relayq.domain.clock import from_text, to_text
from relayq.domain.cron import Run, RunStatus, SiteResult, finished_status
from relayq.domain.errors import RunNotFound, TransitionRefused
from relayq.dynamodb.codec import Item, ModelCodec, attributes, expression_values, plain, to_json
from relayq.dynamodb.table import TableStore

HEADER = "run"
LIST_INDEX = "by-kind"


def _batch_part(index: int) -> str:
    return f"batch#{index:05d}"


# A header item is read as the run; it is written field by field (``create``, then the updates).
RUN_HEADER = ModelCodec(Run)


class RunStore(TableStore):
    def create(self, run_id: str, mode: str, triggered_by: str | None) -> Run:
        item = attributes(
            {
                "run_id": run_id,
                "part": HEADER,
                "kind": HEADER,
                "status": RunStatus.QUEUED,
                "mode": mode,
                "created_at": to_text(self.clock()),
                "triggered_by": triggered_by or None,
                "status_counts": {},  # the map the batches' per-status counts are set in
                "expires_at": self._expires(),
            }
        )
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(run_id)")
        return RUN_HEADER.from_item(item)

    def discard(self, run_id: str) -> None:
        """Remove a run that was never queued after all (its enqueue failed)."""
        with contextlib.suppress(TransitionRefused):
            self._call(
                "delete_item",
                Key=self._key(run_id, HEADER),
                ConditionExpression="#s = :queued",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=expression_values(queued=RunStatus.QUEUED),
            )

    def start(self, run_id: str, sites_total: int, batches_total: int) -> bool:
        """queued -> running with the plan. False when the run already started: a run job that
        runs a second time must not send its batches again."""
        try:
            self._call(
                "update_item",
                Key=self._key(run_id, HEADER),
                UpdateExpression=(
                    "SET #s = :running, started_at = :now, sites_total = :n, batches_total = :b, batches_done = :zero,"
                    " succeeded = :zero, failed = :zero"
                ),
                ConditionExpression="#s = :queued",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=expression_values(
                    running=RunStatus.RUNNING,
                    queued=RunStatus.QUEUED,
                    now=to_text(self.clock()),
                    n=sites_total,
                    b=batches_total,
                    zero=0,
                ),
            )
        except TransitionRefused:
            return False
        return True

    def record_batch(self, run_id: str, index: int, results: Sequence[SiteResult]) -> Run | None:
        """Store a batch's results and add them to the run's totals, once per batch index.
        Returns the updated run, or None when this batch had already reported."""
        self._call(
            "put_item",
            Item=attributes(
                {
                    "run_id": run_id,
                    "part": _batch_part(index),
                    "results": to_json([r.model_dump(exclude_none=True) for r in results]),
                    "expires_at": self._expires(),
                }
            ),
        )
        counts = dict(sorted(Counter(r.status_key for r in results).items()))
        names = {"#d": "done_batches", "#c": "status_counts"} | {f"#k{n}": key for n, key in enumerate(counts)}
        added = {f"v{n}": count for n, count in enumerate(counts.values())}
        sets = [f"#c.#k{n} = if_not_exists(#c.#k{n}, :zero) + :v{n}" for n in range(len(counts))]
        expression = "ADD batches_done :one, succeeded :ok, failed :bad, #d :idx"
        if sets:
            expression += " SET " + ", ".join(sets)
        try:
            answer = self._call(
                "update_item",
                Key=self._key(run_id, HEADER),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(run_id) AND NOT contains(#d, :i)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=expression_values(
                    one=1,
                    ok=sum(r.ok for r in results),
                    bad=sum(not r.ok for r in results),
                    idx={index},
                    i=index,
                    zero=0,
                    **added,
                ),
                ReturnValues="ALL_NEW",
            )
        except TransitionRefused:
            return None
        return RUN_HEADER.from_item(answer["Attributes"])

    def finish(self, run: Run) -> Run | None:
        """running -> what the run came to (succeeded, completed_with_errors, failed, no_sites) once
        every batch reported, with the counts it was decided on; None if another caller got there
        first or the counts moved since ``run`` was read."""
        finished = self.clock()
        started = from_text(run.started_at or run.created_at)
        try:
            answer = self._call(
                "update_item",
                Key=self._key(run.run_id, HEADER),
                UpdateExpression="SET #s = :done, finished_at = :now, duration_ms = :ms",
                ConditionExpression=(
                    "#s = :running AND batches_done = batches_total AND sites_total = :n"
                    " AND succeeded = :ok AND failed = :bad"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=expression_values(
                    done=finished_status(run.sites_total, run.succeeded, run.failed),
                    running=RunStatus.RUNNING,
                    now=to_text(finished),
                    ms=max(0, finished - started),
                    n=run.sites_total,
                    ok=run.succeeded,
                    bad=run.failed,
                ),
                ReturnValues="ALL_NEW",
            )
        except TransitionRefused:
            return None
        return RUN_HEADER.from_item(answer["Attributes"])

    def get(self, run_id: str, *, with_results: bool = True) -> Run:
        items: list[Item] = []
        start: Item | None = None
        while True:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self._call(
                "query",
                KeyConditionExpression="run_id = :r" if with_results else "run_id = :r AND part = :h",
                ExpressionAttributeValues=expression_values(r=run_id, h=None if with_results else HEADER),
                **kwargs,
            )
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        by_part = {plain(item)["part"]: item for item in items}
        header = by_part.pop(HEADER, None)
        if header is None:
            raise RunNotFound()
        run = RUN_HEADER.from_item(header)
        if with_results:
            batches = [plain(by_part[part]) for part in sorted(by_part)]
            run.results = [SiteResult.model_validate(r) for b in batches for r in json.loads(b["results"])]
        return run

    def list(self, limit: int = 20) -> list[Run]:
        """Newest runs first (run ids are time-ordered), without their per-site results."""
        page = self._call(
            "query",
            IndexName=LIST_INDEX,
            KeyConditionExpression="kind = :k",
            ExpressionAttributeValues=expression_values(k=HEADER),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [RUN_HEADER.from_item(item) for item in page["Items"]]

    @staticmethod
    def _key(run_id: str, part: str) -> Item:
        return attributes({"run_id": run_id, "part": part})
