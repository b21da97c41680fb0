"""A provider's events written as OpenAI writes them: `chat.completion.chunk` objects while
streaming, one `chat.completion` when not, with `usage` and a `finish_reason` of OpenAI's.

Thinking goes out as `reasoning_content` beside `content`, as llama.cpp and DeepSeek send
it; tool calls the model makes come back whole, each under its own `index`, and the answer
finishes with "tool_calls".
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from typing import Any

from ..chat.tokens import prompt_tokens, text_tokens
from ..errors import AppError
from ..providers.base import ChatMessage, Event, Finish, ReasoningDelta, TextDelta, ToolCall, Usage
from .errors import error_type

FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter"}


def completion_id() -> str:
    return f"chatcmpl-{secrets.token_hex(12)}"


def sse(value: dict[str, Any] | str) -> bytes:
    """One Server-Sent Event of the stream: a JSON object, or the closing `[DONE]`."""
    data = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def error_body(error: AppError) -> dict[str, Any]:
    """An error that ends a stream already under way, in the shape of the HTTP ones."""
    return {"error": {"message": error.message, "type": error_type(error.status),
                      "param": None, "code": error.code}}


class Completion:
    """One answer as it arrives: `chunks(event)` gives what to stream for each event, `end()`
    the last chunks, `whole()` the answer as one object. Tokens the provider did not count
    are estimated (chat/tokens.py), so `usage` is always whole numbers."""

    def __init__(self, model: str, prompt: Iterable[ChatMessage], *,
                 answer_id: str | None = None) -> None:
        self.id = answer_id or completion_id()
        self.model = model
        self.created = int(time.time())
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[ToolCall] = []
        self._prompt_estimate = prompt_tokens(prompt)
        self._usage: Usage | None = None
        self._finish: str | None = None
        self._opened = False

    # --- streaming --------------------------------------------------------------------------

    def chunks(self, event: Event) -> list[dict[str, Any]]:
        delta: dict[str, Any]
        if isinstance(event, TextDelta) and event.text:
            self.text.append(event.text)
            delta = {"content": event.text}
        elif isinstance(event, ReasoningDelta) and event.text:
            self.reasoning.append(event.text)
            delta = {"reasoning_content": event.text}
        elif isinstance(event, ToolCall):
            index = len(self.calls)
            self.calls.append(event)
            delta = {"tool_calls": [{"index": index, **call_json(event)}]}
        elif isinstance(event, Usage):
            self._usage = event
            return []
        elif isinstance(event, Finish):
            self._finish = event.reason
            return []
        else:
            return []
        if not self._opened:
            self._opened = True
            delta = {"role": "assistant", **delta}
        return [self._chunk(delta, None)]

    def end(self, include_usage: bool) -> list[dict[str, Any]]:
        """The chunk that says why the answer ended, then the usage when asked for."""
        delta = {} if self._opened else {"role": "assistant", "content": ""}
        last = [self._chunk(delta, self.finish_reason())]
        if include_usage:
            last.append({**self._head("chat.completion.chunk"), "choices": [],
                         "usage": self.usage()})
        return last

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {**self._head("chat.completion.chunk"),
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}]}

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model,
                "system_fingerprint": None}

    # --- the whole answer -------------------------------------------------------------------

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or (
            None if self.calls else ""), "refusal": None}
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.calls:
            message["tool_calls"] = [call_json(call) for call in self.calls]
        return {**self._head("chat.completion"),
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": self.finish_reason()}],
                "usage": self.usage()}

    def finish_reason(self) -> str:
        if self.calls:
            return "tool_calls"
        return self._finish if self._finish in FINISH_REASONS else "stop"

    def usage(self) -> dict[str, int]:
        usage = self._usage
        prompt = usage.prompt_tokens if usage and usage.prompt_tokens is not None else (
            self._prompt_estimate)
        completion = usage.completion_tokens if usage and usage.completion_tokens is not None \
            else self.estimated_completion()
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def estimated_completion(self) -> int:
        written = "".join(self.text) + "".join(self.reasoning)
        written += "".join(call.name + call.arguments for call in self.calls)
        return text_tokens(written)

    def tokens_used(self) -> int:
        """Every token so far: the provider's count once it gave one, else the estimate."""
        return self.usage()["total_tokens"]

    def answer(self) -> ChatMessage:
        """The answer as a client sends it back in its next call."""
        return ChatMessage("assistant", "".join(self.text), tool_calls=tuple(self.calls))


def call_json(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": call.arguments}}
