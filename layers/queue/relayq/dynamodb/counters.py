"""Atomic counters in one DynamoDB table (``CountersTable``), keyed by the counter's name: each
``next`` is one UpdateItem that adds 1 and returns the new value, so no two callers ever get the
same number, whatever runs at once. DynamoDB keeps them across Redis losing its data."""

from __future__ import annotations

import contextlib

from relayq.domain.errors import TransitionRefused
from relayq.dynamodb.codec import attributes, expression_values
from relayq.dynamodb.table import TableStore

ATTACHMENT_IDS = "attachment_id"


class Counters(TableStore):
    def next(self, name: str) -> int:
        """The counter's next value: 1 the first time."""
        answer = self._call(
            "update_item",
            Key=attributes({"name": name}),
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues=expression_values(one=1),
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["value"]["N"])

    def reserve(self, name: str, value: int) -> None:
        """Make ``next`` answer above ``value`` from now on (a value handed out by other means, such
        as the local stack's sample image); a counter already past it is left alone."""
        with contextlib.suppress(TransitionRefused):  # already at or past it
            self._call(
                "update_item",
                Key=attributes({"name": name}),
                UpdateExpression="SET #v = :value",
                ConditionExpression="attribute_not_exists(#v) OR #v < :value",
                ExpressionAttributeNames={"#v": "value"},
                ExpressionAttributeValues=expression_values(value=value),
            )
