"""Bad query or body input becomes one 400 ``rest_invalid_param`` (``InvalidInput``), the same way
in every function: ``validate(model, data)``. How the error explains itself is each function's
contract: the API names every field in ``data.params`` (WordPress's shape), the cron function
lists ``field: reason`` in the message alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from relayq.domain.errors import InvalidInput
from relayq.domain.registry import describe_validation_error

# Where a value sat in the request; field names in error messages leave it out.
LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

Model = TypeVar("Model", bound=BaseModel)
Explain = Callable[[ValidationError], InvalidInput]


def invalid_params(errors: Iterable[Mapping[str, Any]]) -> InvalidInput:
    """One error naming every bad field and why, also as ``data.params`` (field -> first reason)."""
    params: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in LOCATIONS:
            loc = loc[1:]
        params.setdefault(".".join(loc) or "body", str(error.get("msg") or error.get("type", "invalid")))
    detail = ", ".join(f"{name} ({reason})" for name, reason in params.items())
    return InvalidInput(f"Invalid parameter(s): {detail}.", params=params)


def per_field(error: ValidationError) -> InvalidInput:
    """The API's explanation: ``name (reason), ...`` and ``data.params``."""
    return invalid_params(error.errors(include_url=False, include_context=False))


def one_line(error: ValidationError) -> InvalidInput:
    """The cron function's explanation: ``field: reason; ...`` in the message, no ``data.params``."""
    return InvalidInput(f"Invalid parameter(s): {describe_validation_error(error)}")


def validate(model: type[Model], data: Any, explain: Explain = per_field) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise explain(error) from None
