"""Clients that count round trips: Redis commands sent and DynamoDB requests made."""

from __future__ import annotations

from collections import Counter
from typing import Any

import redis


class CountingRedis(redis.Redis):
    """A Redis client that counts each round trip (a command, or a whole pipeline)."""

    round_trips = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        self.round_trips += 1  # its commands go out together in one round trip
        return _UncountedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class _UncountedPipeline(redis.client.Pipeline):
    pass


def counting_redis(url: str) -> CountingRedis:
    return CountingRedis(connection_pool=redis.ConnectionPool.from_url(url, decode_responses=True))


class DynamoCounter:
    """Counts requests a boto3 client sends, by operation (hooked on botocore's events)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())
