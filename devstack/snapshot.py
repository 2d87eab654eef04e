"""DynamoDB data that survives a restart of moto's server (which keeps state in memory only):
every item of the stack's tables is written to a JSON file (atomically, periodically and on stop)
and put back on start, through the DynamoDB API as any client would."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class TableSnapshot:
    def __init__(self, client: Any, tables: Iterable[str], path: Path) -> None:
        self.client = client
        self.tables = list(tables)
        self.path = path
        self._lock = threading.Lock()
        self._last: str | None = None

    def restore(self) -> int:
        """Put back every saved item; returns how many."""
        if not self.path.exists():
            return 0
        saved: dict[str, list[dict[str, Any]]] = json.loads(self.path.read_text())
        count = 0
        for table, items in saved.items():
            if table not in self.tables:
                continue
            for start in range(0, len(items), 25):
                requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                pending: dict[str, Any] = {table: requests}
                while pending:
                    pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            count += len(items)
        return count

    def save(self) -> bool:
        """Write every item if anything changed since the last save; True when written."""
        with self._lock:
            data = {table: self._scan(table) for table in self.tables}
            text = json.dumps(data, sort_keys=True)
            if text == self._last:
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            with partial.open("w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(self.path)
            self._last = text
            return True

    def _scan(self, table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items.extend(page["Items"])
        return items


class PeriodicSaver:
    """Saves every ``interval`` seconds, so a crash loses at most that much."""

    def __init__(self, snapshot: TableSnapshot, interval: float) -> None:
        self.snapshot = snapshot
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshot", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.snapshot.save()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.snapshot.save()
