"""Time in the forms the queue uses: epoch milliseconds inside, the contract's text outside."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

# Epoch milliseconds now; services and stores take one so tests can move time.
Clock = Callable[[], int]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_text(epoch_ms: int) -> str:
    """The contract's timestamp form, UTC: ``2025-10-10 12:34:56``."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def from_text(text: str) -> int:
    """Epoch milliseconds of a contract timestamp (UTC)."""
    parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
