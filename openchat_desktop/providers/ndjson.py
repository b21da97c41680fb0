"""Incremental newline-delimited JSON decoder (Ollama's native streams)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .errors import StreamBroken
from .lines import MAX_LINE, LineReader


class NDJSONDecoder:
    """`feed(bytes)` returns the JSON values completed so far; `close()` parses a last line
    that had no newline. A line that is not JSON raises StreamBroken: the stream is corrupt
    and guessing past it could drop or garble text. Values are parsed as they are taken, so
    the lines before a bad one in the same read are handled before it raises."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self._lines = LineReader(lone_cr=False, max_line=max_line)

    def feed(self, data: bytes) -> Iterator[object]:
        return _parse(self._lines.feed(data))  # the lines are split now, parsed when taken

    def close(self) -> Iterator[object]:
        return _parse(self._lines.close())


def _parse(lines: list[str]) -> Iterator[object]:
    for line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise StreamBroken(
                "The server sent a line that is not valid JSON, so the reply was stopped. "
                "Try again.",
                detail=line[:300],
            ) from None
        yield value
