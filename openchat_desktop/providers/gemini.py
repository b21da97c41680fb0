"""Gemini's native streamGenerateContent?alt=sse. The parser stands on its own; the provider
class that sends requests comes with Gemini support."""

from __future__ import annotations

from .base import Usage
from .dialect import DialectParser, as_int, compact_json, load_json
from .failure import normalize_error
from .sse import SSEDecoder, SSEEvent


class GeminiParser(DialectParser):
    """Gemini SSE → events. There is no end marker: EOF after a chunk with `finishReason` is a
    complete reply (`terminal` stays "eof", as the vectors say). Parts flagged `thought` are
    reasoning; `usageMetadata` rides on every chunk and the last one wins."""

    def __init__(self) -> None:
        super().__init__(think_tags="off")
        self._events = SSEDecoder()
        self._calls = 0

    @property
    def complete(self) -> bool:
        return self.terminal == "eof" and self.finish_reason is not None

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
        if isinstance(value, list) or (isinstance(value, dict) and value.get("error")):
            info = normalize_error(value)
            if info is not None:
                self._fail(info)
                return
        if not isinstance(value, dict):
            return
        usage = value.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = usage
        candidates = value.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if isinstance(candidate, dict):
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                if isinstance(part, dict):
                    self._on_part(part)
            if isinstance(candidate.get("finishReason"), str):
                self.finish_reason = candidate["finishReason"]
        feedback = value.get("promptFeedback")
        if candidate is None and isinstance(feedback, dict):
            # A blocked prompt has no candidates; the block reason is why the reply is empty.
            reason = feedback.get("blockReason")
            if isinstance(reason, str):
                self.finish_reason = reason

    def _on_part(self, part: dict[str, object]) -> None:
        if part.get("thought") is True:
            self._reasoning(part.get("text"))
        else:
            self._content(part.get("text"))
        call = part.get("functionCall")
        if isinstance(call, dict):
            call_id = call.get("id") if isinstance(call.get("id"), str) else f"call_{self._calls}"
            self._calls += 1
            self._tool_call(
                str(call_id), str(call.get("name", "")), compact_json(call.get("args") or {})
            )

    def _usage(self, raw: dict[str, object]) -> Usage:
        candidates = as_int(raw.get("candidatesTokenCount"))
        thoughts = as_int(raw.get("thoughtsTokenCount"))
        completion = (
            None
            if candidates is None and thoughts is None
            else ((candidates or 0) + (thoughts or 0))
        )
        return Usage(raw, as_int(raw.get("promptTokenCount")), completion)
