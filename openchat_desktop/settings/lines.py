"""Where a key is written in the file, so messages can name its line: parsed values do not say."""

from __future__ import annotations

import json
import re

from .problems import KeyPath

_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_PART = re.compile(_BARE_OR_QUOTED)
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_HEADER_LINE = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?")
_KEY_LINE = re.compile(rf"\s*({_DOTTED})\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for part in _KEY_PART.findall(dotted):
        if part[:1] == '"':
            part = json.loads(part)
        elif part[:1] == "'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _key_lines(text: str) -> dict[KeyPath, int]:
    """The line where each key and table starts, by key path (array entries by index)."""
    lines: dict[KeyPath, int] = {}
    prefix: KeyPath = ()
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables name -> index of its latest entry
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER_LINE.fullmatch(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                arrays[parts] = arrays.get(parts, -1) + 1
                prefix = parts + (arrays[parts],)
            else:
                prefix = parts
                for size in range(len(parts) - 1, 0, -1):
                    if parts[:size] in arrays:  # e.g. [providers.headers] after [[providers]]
                        prefix = parts[:size] + (arrays[parts[:size]],) + parts[size:]
                        break
            lines.setdefault(prefix, number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            lines.setdefault(prefix + _split_key(key.group(1)), number)
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
                    break
    return lines


def _line_of(text: str, path: KeyPath) -> int | None:
    """The line of a key, or of the nearest enclosing table or key that is written down."""
    lines = _key_lines(text)
    for size in range(len(path), 0, -1):
        if path[:size] in lines:
            return lines[path[:size]]
    return None
