"""A ChatRequest as the body of Anthropic's POST /v1/messages.

Where the Messages API differs from the others: system prompts go in `system`, not in a
message; `max_tokens` is required; a tool's result is a block of the next user turn (the
results of one round share that turn); an assistant turn's tool calls are `tool_use` blocks
whose `input` is an object. Thinking from earlier turns is not sent back: Anthropic wants it
with its signature, which is not kept.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence

from .anthropic_models import default_max_tokens
from .base import ChatMessage, ChatRequest, JSONValue, ToolCall
from .dialect import as_int
from .images import media_type

# Thinking budgets in tokens: `think=True` means the middle one. Anthropic's least is 1024.
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
DEFAULT_LEVEL = "medium"
TEMPERATURE_MAX = 1.0  # Anthropic's scale is 0–1, the app's 0–2
THINKING_TOP_P_MIN = 0.95  # with thinking, top_p may only be between 0.95 and 1


def messages_body(request: ChatRequest) -> dict[str, JSONValue]:
    """The whole request body, streamed. With thinking, `max_tokens` is the reply's limit
    plus the budget, since Anthropic counts the thinking within it and wants it larger."""
    limit = as_int(request.options.get("max_tokens")) or default_max_tokens(request.model)
    body: dict[str, JSONValue] = {
        "model": request.model,
        "max_tokens": limit,
        "messages": turns(request.messages),
        "stream": True,
    }
    system = [m.content for m in request.messages if m.role == "system" and m.content]
    if system:
        body["system"] = "\n\n".join(system)
    budget = thinking_budget(request.think)
    if budget is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = limit + budget
    body.update(sampling(request.options, thinking=budget is not None))
    if request.tools:
        body["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in request.tools
        ]
    return body


def thinking_budget(think: bool | str | None) -> int | None:
    """The budget `think` asks for; None: no thinking (Anthropic's default)."""
    if think is True:
        return THINKING_BUDGETS[DEFAULT_LEVEL]
    if isinstance(think, str):
        return THINKING_BUDGETS.get(think, THINKING_BUDGETS[DEFAULT_LEVEL])
    return None


def sampling(options: Mapping[str, JSONValue], *, thinking: bool) -> dict[str, JSONValue]:
    """The options the Messages API takes; the others stay out, since it refuses unknown
    fields. Thinking does not allow temperature or top_k, and top_p only near 1."""
    fields: dict[str, JSONValue] = {}
    temperature = options.get("temperature")
    if isinstance(temperature, int | float) and not thinking:
        fields["temperature"] = min(float(temperature), TEMPERATURE_MAX)
    top_p = options.get("top_p")
    if isinstance(top_p, int | float) and (not thinking or top_p >= THINKING_TOP_P_MIN):
        fields["top_p"] = top_p
    top_k = as_int(options.get("top_k"))
    if top_k and not thinking:  # 0 means "all words", which is Anthropic's default
        fields["top_k"] = top_k
    stop = options.get("stop")
    if isinstance(stop, list) and stop:
        fields["stop_sequences"] = stop
    return fields


def turns(messages: Sequence[ChatMessage]) -> list[JSONValue]:
    """The conversation without its system prompts. The results of one round of tool calls
    become one user turn; a message with nothing to send is left out, as Anthropic refuses
    empty turns."""
    out: list[dict[str, JSONValue]] = []
    results: list[JSONValue] | None = None  # the tool results of the turn being built
    for index, message in enumerate(messages):
        if message.role == "system":
            continue
        if message.role == "tool":
            block = {"type": "tool_result", "tool_use_id": message.tool_call_id or "",
                     "content": message.content}
            if results is None:
                results = []
                out.append({"role": "user", "content": results})
            results.append(block)
            continue
        results = None
        last = index == len(messages) - 1
        content = _content(message, prefill=last and message.role == "assistant")
        if content:
            out.append({"role": message.role, "content": content})
    return list(out)


def _content(message: ChatMessage, *, prefill: bool) -> JSONValue:
    """Plain text as a string; blocks when there are images or tool calls."""
    text = message.content
    if prefill:
        text = text.rstrip()  # Anthropic refuses a reply to continue that ends in whitespace
    if not message.images and not message.tool_calls:
        return text
    blocks: list[JSONValue] = [_image(image) for image in message.images]
    if text:
        blocks.append({"type": "text", "text": text})
    blocks.extend(_tool_use(call) for call in message.tool_calls)
    return blocks


def _image(data: bytes) -> JSONValue:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type(data),
                                        "data": base64.b64encode(data).decode("ascii")}}


def _tool_use(call: ToolCall) -> JSONValue:
    # `input` must be an object; arguments the model wrote as broken JSON were answered with
    # an error result already, so the call goes back as asking for nothing.
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        arguments = {}
    return {"type": "tool_use", "id": call.id, "name": call.name,
            "input": arguments if isinstance(arguments, dict) else {}}
