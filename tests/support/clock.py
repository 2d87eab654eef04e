"""A clock the test moves by hand (epoch milliseconds), for leases, delays and backoff."""

from __future__ import annotations

from relayq.domain.clock import now_ms


class FakeClock:
    def __init__(self, start_ms: int | None = None) -> None:
        self.now = start_ms if start_ms is not None else now_ms()

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)
