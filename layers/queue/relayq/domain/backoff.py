"""When a failed attempt runs again: the plugin's schedule (60 s, 300 s, 900 s, then
min(2^attempt x 60 s, 3600 s)), or a type's own, with jitter so retries of a burst spread out."""

from __future__ import annotations

import random
from collections.abc import Sequence


def retry_delay(
    attempt: int, delays: Sequence[int], *, max_delay: int = 3600, jitter: float = 0.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    base = float(delays[attempt - 1]) if attempt <= len(delays) else float(min(2**attempt * 60, max_delay))
    if jitter:
        base *= 1 + (rng or random).uniform(-jitter, jitter)
    return max(0.0, base)
