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
from relayq.domain.cron import Run, RunStatus, SiteResult
from relayq.domain.errors import RunNotFound, TransitionRefused
from relayq.dynamodb.table import TableStore

HEADER = "run"
LIST_INDEX = "by-kind"


def _batch_part(index: int) -> str:
    return f"batch#{index:05d}"


def _header(item: dict[str, Any]) -> Run:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    def number(name: str) -> int:
        return int(item[name]["N"]) if name in item else 0

    return Run(
        run_id=item["run_id"]["S"],
        status=RunStatus(item["status"]["S"]),
        mode=item["mode"]["S"],
        created_at=item["created_at"]["S"],
        started_at=text("started_at"),
        finished_at=text("finished_at"),
        duration_ms=number("duration_ms") if "duration_ms" in item else None,
        triggered_by=text("triggered_by"),
        sites_total=number("sites_total"),
        batches_total=number("batches_total"),
        batches_done=number("batches_done"),
        succeeded=number("succeeded"),
        failed=number("failed"),
        status_counts={k: int(v["N"]) for k, v in item.get("status_counts", {}).get("M", {}).items()},
    )


class RunStore(TableStore):
    def create(self, run_id: str, mode: str, triggered_by: str | None) -> Run:
        now = to_text(self.clock())
        item: dict[str, Any] = {
            "run_id": {"S": run_id},
            "part": {"S": HEADER},
            "kind": {"S": HEADER},
            "status": {"S": RunStatus.QUEUED},
            "mode": {"S": mode},
            "created_at": {"S": now},
            "status_counts": {"M": {}},
            "expires_at": {"N": str(self._expires())},
        }
        if triggered_by:
            item["triggered_by"] = {"S": triggered_by}
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(run_id)")
        return _header(item)

    def discard(self, run_id: str) -> None:
        """Remove a run that was never queued after all (its enqueue failed)."""
        with contextlib.suppress(TransitionRefused):
            self._call(
                "delete_item",
                Key=self._key(run_id, HEADER),
                ConditionExpression="#s = :queued",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":queued": {"S": RunStatus.QUEUED}},
            )

    def start(self, run_id: str, sites_total: int, batches_total: int) -> bool:
        """queued -> running with the plan. False when the run already started: a run job that
        runs a second time must not send its batches again."""
        try:
            self._call(
                "update_item",
                Key=self._key(run_id, HEADER),
                UpdateExpression=(
                    "SET #s = :running, started_at = :now, sites_total = :n, batches_total = :b, batches_done = :zero"
                ),
                ConditionExpression="#s = :queued",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":running": {"S": RunStatus.RUNNING},
                    ":queued": {"S": RunStatus.QUEUED},
                    ":now": {"S": to_text(self.clock())},
                    ":n": {"N": str(sites_total)},
                    ":b": {"N": str(batches_total)},
                    ":zero": {"N": "0"},
                },
            )
        except TransitionRefused:
            return False
        return True

    def record_batch(self, run_id: str, index: int, results: Sequence[SiteResult]) -> Run | None:
        """Store a batch's results and add them to the run's totals, once per batch index.
        Returns the updated run, or None when this batch had already reported."""
        self._call(
            "put_item",
            Item={
                "run_id": {"S": run_id},
                "part": {"S": _batch_part(index)},
                "results": {"S": json.dumps([r.model_dump(exclude_none=True) for r in results], separators=(",", ":"))},
                "expires_at": {"N": str(self._expires())},
            },
        )
        counts = Counter(r.status_key for r in results)
        names = {"#d": "done_batches", "#c": "status_counts"}
        values: dict[str, Any] = {
            ":one": {"N": "1"},
            ":ok": {"N": str(sum(r.ok for r in results))},
            ":bad": {"N": str(sum(not r.ok for r in results))},
            ":idx": {"NS": [str(index)]},
            ":i": {"N": str(index)},
            ":zero": {"N": "0"},
        }
        sets = []
        for n, (key, count) in enumerate(sorted(counts.items())):
            names[f"#k{n}"] = key
            values[f":v{n}"] = {"N": str(count)}
            sets.append(f"#c.#k{n} = if_not_exists(#c.#k{n}, :zero) + :v{n}")
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
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except TransitionRefused:
            return None
        return _header(answer["Attributes"])

    def finish(self, run: Run) -> Run | None:
        """running -> completed once every batch reported; None if another caller got there first."""
        finished = self.clock()
        started = from_text(run.started_at or run.created_at)
        try:
            answer = self._call(
                "update_item",
                Key=self._key(run.run_id, HEADER),
                UpdateExpression="SET #s = :done, finished_at = :now, duration_ms = :ms",
                ConditionExpression="#s = :running AND batches_done = batches_total",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":done": {"S": RunStatus.COMPLETED},
                    ":running": {"S": RunStatus.RUNNING},
                    ":now": {"S": to_text(finished)},
                    ":ms": {"N": str(max(0, finished - started))},
                },
                ReturnValues="ALL_NEW",
            )
        except TransitionRefused:
            return None
        return _header(answer["Attributes"])

    def get(self, run_id: str, *, with_results: bool = True) -> Run:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            page = self._call(
                "query",
                KeyConditionExpression="run_id = :r" if with_results else "run_id = :r AND part = :h",
                ExpressionAttributeValues={":r": {"S": run_id}, **({} if with_results else {":h": {"S": HEADER}})},
                **kwargs,
            )
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        header = next((item for item in items if item["part"]["S"] == HEADER), None)
        if header is None:
            raise RunNotFound()
        run = _header(header)
        if with_results:
            batches = sorted((i for i in items if i["part"]["S"] != HEADER), key=lambda i: i["part"]["S"])
            run.results = [SiteResult.model_validate(r) for b in batches for r in json.loads(b["results"]["S"])]
        return run

    def list(self, limit: int = 20) -> list[Run]:
        """Newest runs first (run ids are time-ordered), without their per-site results."""
        page = self._call(
            "query",
            IndexName=LIST_INDEX,
            KeyConditionExpression="kind = :k",
            ExpressionAttributeValues={":k": {"S": HEADER}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_header(item) for item in page["Items"]]

    @staticmethod
    def _key(run_id: str, part: str) -> dict[str, Any]:
        return {"run_id": {"S": run_id}, "part": {"S": part}}
