"""Reading request bodies and query strings with clear messages for wrong shapes and types."""

from __future__ import annotations

import json
from typing import TypeVar

from flask import request

from ..errors import InvalidRequest

T = TypeVar("T")


def json_body(*, required: bool = True) -> dict:
    """The request's JSON object; an empty body is `{}` when the body is optional."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise InvalidRequest("Send a JSON object as the request body.")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def field(body: dict, name: str, kind: type[T], *, max_length: int | None = None) -> T | None:
    """`body[name]` checked for type (`bool` is never taken for a number); None when the field
    is absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and kind is not bool:
        raise InvalidRequest(f"`{name}` has the wrong type.")
    if not isinstance(value, kind):
        raise InvalidRequest(f"`{name}` must be {_type_name(kind)}.")
    if max_length is not None and isinstance(value, str) and len(value) > max_length:
        raise InvalidRequest(f"`{name}` is longer than {max_length:,} characters.")
    return value


def present(body: dict, name: str, kind: type[T], *, max_length: int | None = None) -> T:
    """Like `field`, for a field that must be there and must not be null."""
    if name not in body:
        raise InvalidRequest(f"`{name}` is required.")
    value = field(body, name, kind, max_length=max_length)
    if value is None:
        raise InvalidRequest(f"`{name}` must not be null.")
    return value


def only_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(
            f"Unknown field(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}."
        )


def int_arg(
    name: str, *, default: int | None = None, low: int = 0, high: int = 10_000
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"`{name}` must be a whole number.") from None
    if not low <= value <= high:
        raise InvalidRequest(f"`{name}` must be between {low} and {high}.")
    return value


def _type_name(kind: type) -> str:
    return {str: "a string", bool: "true or false", int: "a whole number", float: "a number",
            dict: "an object", list: "a list"}.get(kind, kind.__name__)
