"""Anthropic's Messages API: SSE with `event:` names from POST {base_url}/v1/messages, models
from GET /v1/models. The request body is built in anthropic_messages.py, what a model can do
is told in anthropic_models.py."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from urllib.parse import quote

from .anthropic_messages import messages_body
from .anthropic_models import model_info
from .base import Cancel, ChatRequest, Event, JSONValue, ModelInfo, ProviderConfig, Usage
from .dialect import DialectParser, as_int, as_list, as_object, compact_json, load_json
from .failure import error_info, normalize_error
from .sse import SSEDecoder, SSEEvent
from .transport import Transport, stream_events

API_VERSION = "2023-06-01"
PAGE_SIZE = 1000  # the most /v1/models gives at once
MAX_PAGES = 5  # far more models than Anthropic has; a server that never ends the list stops


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


class AnthropicProvider:
    """Anthropic's own API (or a server that speaks it); `base_url` is the root, without /v1.
    The key goes in `x-api-key`, never as a bearer token."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        auth = {"anthropic-version": API_VERSION}
        if config.api_key:
            auth["x-api-key"] = config.api_key
        self._http = Transport(config, auth=auth)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AnthropicProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def chat_body(self, request: ChatRequest) -> dict[str, JSONValue]:
        return messages_body(request)

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]:
        yield from stream_events(
            self._http,
            self._http.url("/v1/messages"),
            self.chat_body(request),
            AnthropicParser(),
            model=request.model,
            cancel=cancel,
        )

    def list_models(self) -> list[ModelInfo]:
        """The settings' `models` first, then every page of /v1/models (at most MAX_PAGES)."""
        listed: dict[str, dict[str, object]] = {}
        after: str | None = None
        for _ in range(MAX_PAGES):
            query = f"?limit={PAGE_SIZE}" + (f"&after_id={quote(after)}" if after else "")
            page = as_object(self._http.request_json("GET", self._http.url("/v1/models" + query)))
            for entry in as_list(page.get("data")):
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    listed[entry["id"]] = entry
            last = page.get("last_id")
            if page.get("has_more") is not True or not isinstance(last, str) or last == after:
                break
            after = last
        names = list(dict.fromkeys([*self.config.models, *listed]))
        return [model_info(self.config.id, name, listed.get(name)) for name in names]

    def model_info(self, name: str) -> ModelInfo:
        """From the model's own page, which also resolves aliases such as
        "claude-sonnet-4-0"."""
        url = self._http.url(f"/v1/models/{quote(name, safe='')}")
        entry = as_object(self._http.request_json("GET", url, model=name))
        return model_info(self.config.id, name, entry)
