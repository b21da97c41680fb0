"""Anthropic Messages streaming (SSE with `event:` names). The parser stands on its own; the
provider class that sends requests comes with Anthropic support."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Usage
from .dialect import DialectParser, as_int, compact_json, load_json
from .failure import error_info, normalize_error
from .sse import SSEDecoder, SSEEvent


@dataclass(slots=True)
class _ToolBlock:
    id: str
    name: str
    input: object
    json_parts: list[str] = field(default_factory=list)


class AnthropicParser(DialectParser):
    """Messages SSE → events. `data.type` is the authority, not the `event:` line; `ping` and
    unknown events are ignored; usage from `message_start` is overwritten key by key by the
    cumulative counts in `message_delta`; tool input JSON is joined per content block."""

    def __init__(self) -> None:
        super().__init__(think_tags="off")  # thinking has its own blocks
        self._events = SSEDecoder()
        self._tools: dict[int, _ToolBlock] = {}

    def _feed(self, data: bytes) -> None:
        for event in self._events.feed(data):
            self._on_event(event)

    def _close(self) -> None:
        for event in self._events.close():
            self._on_event(event)

    def _on_event(self, event: SSEEvent) -> None:
        if self.terminal is not None or not event.data.strip():
            return
        value = load_json(event.data)
        if not isinstance(value, dict):
            return
        kind = value.get("type") or event.event
        if kind == "message_start":
            message = value.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self.usage = dict(usage)
        elif kind == "content_block_start":
            self._block_start(as_int(value.get("index")), value.get("content_block"))
        elif kind == "content_block_delta":
            self._block_delta(as_int(value.get("index")), value.get("delta"))
        elif kind == "content_block_stop":
            block = self._tools.pop(as_int(value.get("index")) or 0, None)
            if block is not None:
                arguments = "".join(block.json_parts) or compact_json(block.input or {})
                self._tool_call(block.id, block.name, arguments)
        elif kind == "message_delta":
            delta = value.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.finish_reason = delta["stop_reason"]
            usage = value.get("usage")
            if isinstance(usage, dict):
                merged = dict(self.usage or {})
                merged.update({k: v for k, v in usage.items() if v is not None})
                self.usage = merged
        elif kind == "message_stop":
            self._end("done")
        elif kind == "error":
            self._fail(normalize_error(value) or error_info(event.data))

    def _block_start(self, index: int | None, block: object) -> None:
        if not isinstance(block, dict):
            return
        kind = block.get("type")
        if kind == "text":
            self._content(block.get("text"))
        elif kind == "thinking":
            self._reasoning(block.get("thinking"))
        elif kind in ("tool_use", "server_tool_use"):
            self._tools[index or 0] = _ToolBlock(
                str(block.get("id", "")), str(block.get("name", "")), block.get("input")
            )

    def _block_delta(self, index: int | None, delta: object) -> None:
        if not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta":
            self._content(delta.get("text"))
        elif kind == "thinking_delta":
            self._reasoning(delta.get("thinking"))
        elif kind == "input_json_delta":
            block = self._tools.get(index or 0)
            if block is not None and isinstance(delta.get("partial_json"), str):
                block.json_parts.append(delta["partial_json"])

    def _usage(self, raw: dict[str, object]) -> Usage:
        # input_tokens leaves out cached tokens; the prompt is all three together.
        parts = [
            as_int(raw.get(key))
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ]
        known = [part for part in parts if part is not None]
        return Usage(
            raw,
            prompt_tokens=sum(known) if known else None,
            completion_tokens=as_int(raw.get("output_tokens")),
        )
