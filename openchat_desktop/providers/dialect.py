"""What every wire-dialect parser shares: the end state, and the order of the closing events.

A parser is fed raw bytes and returns normalized events. When its stream ends it emits any
text it held back, then `Usage` (when the server reported any), then `Finish` — the last only
when the reply ended the way the protocol says a complete reply ends.

`terminal` is None while the stream is open, then:
  "done"   the protocol's end marker arrived
  "eof"    the bytes ran out first (a truncated reply, except Gemini after a finishReason)
  "error"  the server sent an error inside the stream; `error` holds {message, type, code},
           or the bytes could not be parsed; `failure` holds that StreamBroken
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod

from .base import Event, Finish, JSONValue, ReasoningDelta, ToolCall, ToolDefinition, Usage
from .errors import StreamBroken
from .failure import ErrorInfo
from .redaction import excerpt
from .thinktags import ThinkTagSplitter


class DialectParser(ABC):
    def __init__(self, *, think_tags: str = "explicit") -> None:
        self.terminal: str | None = None
        self.error: ErrorInfo | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, object] | None = None  # the provider's own usage object
        self.failure: StreamBroken | None = None  # garbage or an oversized line
        self._tags = ThinkTagSplitter(think_tags)
        self._out: list[Event] = []

    @property
    def complete(self) -> bool:
        """True when the reply ended normally (the caller treats anything else as cut off)."""
        return self.terminal == "done"

    def feed(self, data: bytes) -> list[Event]:
        """The events `data` completes. After a parse failure it returns what came before it
        in the same read; the caller raises `failure` once it has passed those on."""
        if self.terminal is None and data:
            try:
                self._feed(data)
            except StreamBroken as exc:
                self._break(exc)
        return self._take()

    def feed_document(self, data: bytes) -> list[Event]:
        """A whole body sent as one JSON document (the server ignored `stream`)."""
        return self.feed(data) + self.close()

    def close(self) -> list[Event]:
        """Call at EOF: flushes what the framing held and settles `terminal`."""
        if self.terminal is None:
            try:
                self._close()
            except StreamBroken as exc:
                self._break(exc)
            if self.terminal is None:
                self._end("eof")
        return self._take()

    # --- for subclasses -------------------------------------------------------

    @abstractmethod
    def _feed(self, data: bytes) -> None:
        """Decode `data` and act on each complete frame."""

    @abstractmethod
    def _close(self) -> None:
        """Act on what the framing still held at EOF."""

    def _usage(self, raw: dict[str, object]) -> Usage:
        return Usage(raw)

    def _content(self, text: object) -> None:
        if isinstance(text, str) and text:
            self._out.extend(self._tags.feed(text))

    def _reasoning(self, text: object) -> None:
        if isinstance(text, str) and text:
            # A structured reasoning field wins over inline tags (PROTOCOLS §11.4).
            self._tags.passthrough()
            self._out.append(ReasoningDelta(text))

    def _tool_call(self, call_id: str, name: str, arguments: str) -> None:
        self._out.append(ToolCall(call_id, name, arguments))

    def _pending_calls(self) -> list[ToolCall]:
        """Tool calls a subclass assembles from pieces and can only emit at the end."""
        return []

    def _flush_pending(self) -> None:
        self._out.extend(self._pending_calls())

    def _fail(self, info: ErrorInfo) -> None:
        self.error = info
        self._end("error")

    def _break(self, exc: StreamBroken) -> None:
        if self.terminal is None:
            self.failure = exc
            self._end("error")

    def _end(self, terminal: str) -> None:
        self.terminal = terminal
        self._out.extend(self._tags.flush())
        if self.complete:
            self._flush_pending()  # half-received tool calls of a cut-off reply are useless
        if self.usage is not None:
            self._out.append(self._usage(self.usage))
        if self.complete:
            self._out.append(Finish(self.finish_reason))

    def _take(self) -> list[Event]:
        out, self._out = self._out, []
        return out


def load_json(text: str) -> object:
    """Parse one payload; garbage mid-stream means the stream is corrupt."""
    try:
        return json.loads(text)
    except ValueError:
        raise StreamBroken(
            "The server sent data that is not valid JSON, so the reply was stopped. Try again.",
            detail=excerpt(text, 300),
        ) from None


def compact_json(value: object) -> str:
    """Tool arguments as JSON text, in the compact form servers stream it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def tool_definitions(tools: tuple[ToolDefinition, ...]) -> list[JSONValue]:
    """The request's tools in the form Ollama and Chat Completions servers share."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in tools
    ]


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_list(value: object) -> list[object]:
    """A JSON array, or nothing to walk when the server put something else there."""
    return value if isinstance(value, list) else []


def as_object(value: object) -> dict[str, object]:
    """A JSON object, or an empty one when the server put something else there."""
    return value if isinstance(value, dict) else {}
