"""Faults the tests inject into the two stores: DynamoDB answering ``ThrottlingException`` (past
botocore's retries when the client's retries are spent), and Redis scripts whose call fails before
they run or whose reply is lost after they ran (the caller sees a ``ConnectionError`` either way).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from redis.exceptions import ConnectionError as RedisConnectionError

from relayq.redis.connection import RedisConnection
from relayq.redis.scripts import Scripts

THROTTLED = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}'


class _Raw:
    """The raw body of an injected HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def throttled(url: str) -> AWSResponse:
    """DynamoDB's answer to a request over the table's capacity."""
    headers = HTTPHeaders()
    headers["x-amzn-ErrorType"] = "ThrottlingException"
    return AWSResponse(url, 400, headers, _Raw(THROTTLED))


Select = Callable[[str, dict[str, Any]], bool]


def starts(operation: str, params: dict[str, Any]) -> bool:
    """The ``start`` transition (queued -> processing) of relayq.dynamodb.jobs."""
    return operation == "UpdateItem" and "processed_at" in params.get("UpdateExpression", "")


def updates(operation: str, params: dict[str, Any]) -> bool:
    """Any status transition of a job record (every one is a conditional UpdateItem)."""
    return operation == "UpdateItem"


class Throttle:
    """Answers ``ThrottlingException`` to the requests of ``client`` that an armed selector picks
    (by operation name and parameters), as many times as it was armed for (None: every one).
    ``throttled`` lists the label of each answer.

    ``before-send`` (moto's server, AWS) answers in place of the HTTP response, so botocore's
    retries see it: give the client no retries and one throttled request is a request past them.
    ``before-call`` answers before the request is made, as a throttle that outlasted the retries;
    moto's in-process ``mock_aws`` applies every request it sees sent, so it needs this one."""

    def __init__(
        self, client: Any, select: Select | None = None, times: int | None = None, *, hook: str = "before-send"
    ) -> None:
        self.client = client
        self.hook = hook
        self.armed: list[tuple[str, Select, list[int | None]]] = []
        self.throttled: list[str] = []
        if select is not None:
            self.arm(select, times)

    def arm(self, select: Select, times: int | None = 1, label: str = "") -> None:
        self.armed.append((label, select, [times]))

    def _take(self, operation: str, params: dict[str, Any]) -> bool:
        for label, select, left in self.armed:
            if left[0] != 0 and select(operation, params):
                if left[0] is not None:
                    left[0] -= 1
                self.throttled.append(label or operation)
                return True
        return False

    def before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rpartition(".")[2]
        body = request.body if isinstance(request.body, str | bytes) else b"{}"  # DynamoDB's JSON text
        return throttled(request.url) if self._take(operation, json.loads(body or b"{}")) else None

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        # ``params`` is the request about to be sent; its body is the operation's JSON parameters.
        if not self._take(model.name, json.loads(params.get("body") or b"{}")):
            return None
        error = {"Code": "ThrottlingException", "Message": "slow down"}
        return throttled(""), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    def __enter__(self) -> Throttle:
        handler = self.before_send if self.hook == "before-send" else self.before_call
        self.client.meta.events.register_first(f"{self.hook}.dynamodb", handler)
        return self

    def __exit__(self, *_: object) -> None:
        handler = self.before_send if self.hook == "before-send" else self.before_call
        self.client.meta.events.unregister(f"{self.hook}.dynamodb", handler)


class FaultyScripts(Scripts):
    """The layer's scripts with faults on demand: ``fail(name)`` makes the next call of script
    ``name`` fail before Redis runs it, ``lose(name)`` lets it run and loses the reply."""

    def __init__(self, conn: RedisConnection) -> None:
        super().__init__(conn)
        self._fail: Counter[str] = Counter()
        self._lose: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    def fail(self, name: str, times: int = 1) -> None:
        self._fail[name] += times

    def lose(self, name: str, times: int = 1) -> None:
        self._lose[name] += times

    def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        if self._fail[name]:
            self._fail[name] -= 1
            self.injected[f"failed {name}"] += 1
            raise RedisConnectionError(f"injected: {name} never reached Redis")
        answer = super().run(name, keys, args)
        if self._lose[name]:
            self._lose[name] -= 1
            self.injected[f"lost {name} reply"] += 1
            raise RedisConnectionError(f"injected: the reply of {name} was lost")
        return answer
