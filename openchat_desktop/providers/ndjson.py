"""Incremental newline-delimited JSON decoder (Ollama's native streams)."""

from __future__ import annotations

import json

from .errors import StreamBroken
from .lines import MAX_LINE, LineReader


class NDJSONDecoder:
    """`feed(bytes)` returns the JSON values completed so far; `close()` parses a last line
    that had no newline. A line that is not JSON raises StreamBroken: the stream is corrupt
    and guessing past it could drop or garble text."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self._lines = LineReader(lone_cr=False, max_line=max_line)

    def feed(self, data: bytes) -> list[object]:
        return _parse(self._lines.feed(data))

    def close(self) -> list[object]:
        return _parse(self._lines.close())


def _parse(lines: list[str]) -> list[object]:
    values: list[object] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except ValueError:
            raise StreamBroken(
                "The server sent a line that is not valid JSON, so the reply was stopped. "
                "Try again.",
                detail=line[:300],
            ) from None
    return values
