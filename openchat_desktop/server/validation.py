"""Reading request bodies and query strings with clear messages for wrong shapes and types.

Every body and every address passes one gate before a route sees it: no string in it may hold
a NUL or a lone surrogate (neither is text: SQLite, the settings file and JSON replies would
fail on them), a body may not nest deeper than `MAX_DEPTH`, and its numbers must be ones the
app can store."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from flask import Flask, request

from ..errors import InvalidRequest

T = TypeVar("T")

MAX_DEPTH = 64
"""How deeply a body's objects and lists may nest. The API's deepest is 3 (a provider's headers
in a settings change); thousands of levels are only there to exhaust the parser's recursion."""

MAX_INTEGER = 2**63 - 1
"""The largest whole number SQLite stores; JSON bodies may not carry larger ones."""

NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")
"""NUL and the halves of surrogate pairs: JSON and URLs can spell them, but they are not text."""

# A JSON string (skipped whole, brackets inside it do not count) or a bracket.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def not_text(where: str) -> InvalidRequest:
    return InvalidRequest(
        f"{where} contains a character that is not text (a NUL or half of a surrogate pair); "
        "remove it and try again."
    )


def json_body(*, required: bool = True) -> dict:
    """The request's JSON object; an empty body is `{}` when the body is optional."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise InvalidRequest("Send a JSON object as the request body.")
        return {}
    check_depth(raw)
    try:
        body = json.loads(
            raw, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_storable
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for where, text in strings(body):
        if NOT_TEXT.search(text):
            raise not_text(where)
    return body


def check_depth(raw: bytes) -> None:
    """Refuse a body nested deeper than MAX_DEPTH before the parser recurses into it, naming
    the top-level field that holds the nesting."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return  # too few brackets to nest that deep: the common case, decided in C
    depth = 0
    field = b""
    for token in _JSON_TOKEN.finditer(raw):
        match token.group():
            case b"[" | b"{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidRequest(
                        f"{_field_name(field)} is nested more than {MAX_DEPTH} levels deep; "
                        "send it as flatter JSON."
                    )
            case b"]" | b"}":
                depth -= 1
            case text if depth == 1:
                field = text  # in the top object, the last string before a container is its key


def _field_name(token: bytes) -> str:
    try:
        name = json.loads(token)
    except ValueError:
        name = None
    if isinstance(name, str) and name and len(name) <= 100 and not NOT_TEXT.search(name):
        return f"`{name}`"
    return "The request body"


def strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed body, keys included, with where it is (`plan.planner`)."""
    if isinstance(value, str):
        yield f"`{where}`" if where else "The request body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            if NOT_TEXT.search(key):
                yield f"A key in {f'`{where}`' if where else 'the request body'}", key
            yield from strings(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{where}[{index}]")


def _refuse_constant(name: str) -> Any:
    raise InvalidRequest(f"The request body holds {name}, which is not a JSON number; "
                         "send a plain number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _too_large()
    return value


def _storable(text: str) -> int:
    # Checked by length first: converting thousands of digits is slow and raises a Python error.
    if len(text.lstrip("-")) > len(str(MAX_INTEGER)) or abs(int(text)) > MAX_INTEGER:
        raise _too_large()
    return int(text)


def _too_large() -> InvalidRequest:
    return InvalidRequest(f"The request body holds a number too large to use (beyond "
                          f"{MAX_INTEGER:,}); send a smaller number.")


def check_address() -> None:
    """The address's path parameters and query, checked once for every route."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and NOT_TEXT.search(value):
            raise not_text(f"`{name}` in the address")
    for key, value in request.args.items(multi=True):
        if NOT_TEXT.search(key):
            raise not_text("A key in the address")
        if NOT_TEXT.search(value):
            raise not_text(f"`{key}` in the address")


def init_app(app: Flask) -> None:
    app.before_request(check_address)


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
