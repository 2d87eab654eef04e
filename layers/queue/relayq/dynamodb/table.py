"""DynamoDB calls as every store of the layer makes them: a refused condition becomes
``TransitionRefused``, any other failure ``StoreUnavailable`` (503), and batch writes retry the
items DynamoDB leaves unprocessed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from relayq.domain.clock import Clock, now_ms
from relayq.domain.errors import StoreUnavailable, TransitionRefused

REFUSED = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def refused(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in REFUSED


def call_table(client: Any, table: str, operation: str, **kwargs: Any) -> Any:
    try:
        return getattr(client, operation)(TableName=table, **kwargs)
    except ClientError as error:
        if refused(error):
            raise TransitionRefused(str(error)) from error
        raise StoreUnavailable(f"DynamoDB {operation} failed: {error.response['Error'].get('Code')}") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"DynamoDB {operation} failed: {type(error).__name__}") from error


def batch_write(client: Any, table: str, requests: Sequence[dict[str, Any]]) -> None:
    """Put/delete requests, 25 a call, unprocessed items retried with backoff."""
    for start in range(0, len(requests), 25):
        pending = list(requests[start : start + 25])
        for attempt in range(8):
            try:
                answer = client.batch_write_item(RequestItems={table: pending})
            except (ClientError, BotoCoreError) as error:
                raise StoreUnavailable(f"DynamoDB batch_write_item failed: {error}") from error
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise StoreUnavailable("DynamoDB kept items unprocessed in batch_write_item")


class TableStore:
    """Base of a store over one table: its calls go through ``call_table`` and the items it
    finishes expire (DynamoDB TTL) after the retention."""

    def __init__(self, client: Any, table: str, *, retention_days: int = 14, clock: Clock = now_ms) -> None:
        self.client = client
        self.table = table
        self.retention_s = retention_days * 86400
        self.clock = clock

    def _call(self, operation: str, **kwargs: Any) -> Any:
        return call_table(self.client, self.table, operation, **kwargs)

    def _expires(self) -> int:
        """The TTL attribute's value for an item finished now (epoch seconds)."""
        return self.clock() // 1000 + self.retention_s
