"""Incremental Server-Sent Events decoder (WHATWG rules plus the quirks real servers have)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import StreamBroken
from .lines import MAX_LINE, LineReader


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. `fields` holds field names the spec does not know (llama.cpp's
    `error:`), joined with newlines like `data`."""

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    fields: dict[str, str] = field(default_factory=dict)


class SSEDecoder:
    """`feed(bytes)` returns the events completed so far; `close()` flushes at EOF."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        self._lines = LineReader(lone_cr=True, max_line=max_line)
        self._max_event = max_line
        self._reset()

    def feed(self, data: bytes) -> list[SSEEvent]:
        return self._process(self._lines.feed(data))

    def close(self) -> list[SSEEvent]:
        """Dispatch an unterminated event too: some servers close without the final blank line."""
        events = self._process(self._lines.close())
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _reset(self) -> None:
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._fields: dict[str, list[str]] = {}

    def _process(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
            elif line[0] != ":":  # a leading colon marks a comment (keep-alive)
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._grow(value)
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        else:
            self._grow(value)
            self._fields.setdefault(name, []).append(value)

    def _grow(self, value: str) -> None:
        # Many short data lines add up too; cap the whole event like one line.
        self._size += len(value) + 1
        if self._size > self._max_event:
            raise StreamBroken(
                "The server sent an event that is too large, so the reply was stopped.",
                detail=f"event exceeded {self._max_event} characters",
            )

    def _dispatch(self) -> SSEEvent | None:
        data = "\n".join(self._data)
        fields = {name: "\n".join(values) for name, values in self._fields.items()}
        event = SSEEvent(data, self._event or "message", self._id, self._retry, fields)
        self._reset()
        # Empty or whitespace-only data is a gateway keep-alive, not an event.
        if not data.strip() and not any(value.strip() for value in fields.values()):
            return None
        return event
