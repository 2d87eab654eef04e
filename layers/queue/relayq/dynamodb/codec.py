"""The one item codec of the stores: Python values and pydantic models to DynamoDB items and back.

It is boto3's ``TypeSerializer`` / ``TypeDeserializer`` with the conventions the tables were
written with: an attribute or expression value that is None is left out (absent, never ``NULL``),
ints are numbers (``N``; boto3 refuses floats), strings ``S``, bools ``BOOL``, dicts maps, sets of
ints number sets; the fields a model stores ``as_json`` are compact JSON strings (``S``). Numbers
come back as ``Decimal`` (boto3's choice), which the models validate into their ints.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, Generic, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel

# An item or a key: attribute name -> AttributeValue ({"S": "..."}, {"N": "5"}, ...).
Item = dict[str, Any]
ModelT = TypeVar("ModelT", bound=BaseModel)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_json(value: Any) -> str:
    """The compact JSON the JSON-string attributes hold (a job's payload and result, a batch's results)."""
    return json.dumps(value, separators=(",", ":"))


def attributes(values: Mapping[str, Any]) -> Item:
    """An item or a key from plain values."""
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def expression_values(**values: Any) -> Item:
    """``ExpressionAttributeValues``: ``expression_values(a=3)`` is ``{":a": {"N": "3"}}``."""
    return {f":{name}": _serializer.serialize(value) for name, value in values.items() if value is not None}


def plain(item: Item) -> dict[str, Any]:
    """An item's attributes as Python values."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class ModelCodec(Generic[ModelT]):
    """A model stored as one item: an attribute per field that is not None. Attributes that are
    no field (a key of its own, the TTL, bookkeeping) are passed to ``to_item`` and ignored by
    ``from_item``, where an absent attribute takes the field's default."""

    def __init__(self, model: type[ModelT], *, as_json: Collection[str] = ()) -> None:
        self.model = model
        self.as_json = frozenset(as_json)

    def to_item(self, instance: ModelT, **extra: Any) -> Item:
        fields = {name: value for name, value in instance.model_dump().items() if value is not None}
        return attributes({name: to_json(v) if name in self.as_json else v for name, v in fields.items()} | extra)

    def from_item(self, item: Item) -> ModelT:
        values = plain({name: value for name, value in item.items() if name in self.model.model_fields})
        return self.model.model_validate(
            {name: json.loads(v) if name in self.as_json else v for name, v in values.items()}
        )
