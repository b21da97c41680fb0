"""A Chat Completions body read into what the app sends a provider: messages (text, images
from data URLs, tool calls and their results), the tools offered, and the sampling fields as
the app's own options (chat/options.py), each checked with the rule the app uses everywhere.

Fields OpenAI defines that change nothing here (`user`, `metadata`, `service_tier`,
`parallel_tool_calls`…) are accepted and left out, as OpenAI-compatible servers do, so a
client written for OpenAI works unchanged.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from ..chat.options import Options, check_value, rule
from ..providers.base import ChatMessage, ToolCall, ToolDefinition
from .errors import FieldInvalid

ROLES = ("system", "developer", "user", "assistant", "tool")
# Sampling fields OpenAI defines, by the option each one is (chat/options.py); the last three
# are llama.cpp's and Ollama's own, which their OpenAI-compatible servers accept too.
OPTION_FIELDS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "top_k": "top_k",
    "min_p": "min_p",
    "repeat_penalty": "repeat_penalty",
}
# OpenAI's reasoning efforts as the app's `think`: a level where the model takes one.
REASONING_EFFORTS: dict[str, bool | str] = {
    "minimal": False, "low": "low", "medium": "medium", "high": "high",
}
_DATA_URL = re.compile(r"data:(image/[a-z0-9.+-]+);base64,(.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What a Chat Completions call asks for. `model` is an id of `/api/models`; `think`
    comes from `reasoning_effort` (None: the model's default); `store`: whether the call may
    be kept as a chat."""

    model: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolDefinition, ...]
    options: Options
    stream: bool
    include_usage: bool
    store: bool
    think: bool | str | None


def completion_request(body: Any) -> CompletionRequest:
    """The body of `POST /v1/chat/completions`, checked; a refusal names the field."""
    if not isinstance(body, dict):
        raise FieldInvalid("The body must be a JSON object such as "
                           '{"model": "…", "messages": [{"role": "user", "content": "Hi"}]}.')
    model = body.get("model")
    if not isinstance(model, str) or not model.strip() or len(model) > 500:
        raise FieldInvalid("`model` is required: a model id from GET /v1/models.", param="model")
    if body.get("n", 1) not in (1, None):
        raise FieldInvalid("`n` must be 1: one answer per call.", param="n")
    stream = _flag(body, "stream", False)
    stream_options = body.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise FieldInvalid("`stream_options` must be an object such as "
                           '{"include_usage": true}.', param="stream_options")
    include_usage = bool(stream_options and stream_options.get("include_usage") is True)
    tools = _tools(body.get("tools"))
    if not _tool_choice(body.get("tool_choice")):
        tools = ()
    return CompletionRequest(
        model=model.strip(),
        messages=messages(body.get("messages")),
        tools=tools,
        options=options(body),
        stream=stream,
        include_usage=include_usage,
        store=_flag(body, "store", True),
        think=_think(body.get("reasoning_effort")),
    )


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldInvalid(f"`{name}` must be true or false.", param=name)
    return value


def options(body: dict[str, Any]) -> Options:
    """The sampling fields as options; `max_completion_tokens` wins over `max_tokens`."""
    found: Options = {}
    for name, option in OPTION_FIELDS.items():
        value = body.get(name)
        if value is None or (option in found and name == "max_tokens"):
            continue
        used = check_value(option, value)
        if used is None:
            raise FieldInvalid(f"`{name}` must be {rule(option)}.", param=name)
        found[option] = used
    return found


def _think(value: Any) -> bool | str | None:
    if value is None:
        return None
    if value not in REASONING_EFFORTS:
        raise FieldInvalid("`reasoning_effort` must be one of "
                           f"{', '.join(REASONING_EFFORTS)}.", param="reasoning_effort")
    return REASONING_EFFORTS[value]


def _tool_choice(value: Any) -> bool:
    """Whether the tools are offered: "auto" (or left out) offers them, "none" does not. A
    call cannot force a tool: not every provider can be asked to."""
    if value is None or value == "auto":
        return True
    if value == "none":
        return False
    raise FieldInvalid('`tool_choice` must be "auto" or "none": the model decides whether to '
                       "call one of the tools.", param="tool_choice")


def _tools(value: Any) -> tuple[ToolDefinition, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldInvalid("`tools` must be a list of functions.", param="tools")
    tools = []
    for index, entry in enumerate(value):
        where = f"tools[{index}]"
        function = entry.get("function") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or entry.get("type", "function") != "function" or not (
            isinstance(function, dict) and isinstance(function.get("name"), str)
            and function["name"]
        ):
            raise FieldInvalid(f"`{where}` must be {{\"type\": \"function\", \"function\": "
                               '{"name": "…", "parameters": {…}}}.', param=where)
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        description = function.get("description", "")
        if not isinstance(parameters, dict) or not isinstance(description, str):
            raise FieldInvalid(f"`{where}.function` needs `parameters` as a JSON Schema object "
                               "and `description` as text.", param=where)
        tools.append(ToolDefinition(function["name"], description, parameters))
    return tuple(tools)


def messages(value: Any) -> tuple[ChatMessage, ...]:
    """The conversation as the provider reads it. A `developer` message is a system one; a
    `tool` result carries its tool's name, found on the call it answers."""
    if not isinstance(value, list) or not value:
        raise FieldInvalid("`messages` must be a list with at least one message.",
                           param="messages")
    called: dict[str, str] = {}  # tool call id -> tool name
    read: list[ChatMessage] = []
    for index, entry in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            raise FieldInvalid(f"`{where}.role` must be one of {', '.join(ROLES)}.",
                               param=f"{where}.role")
        role = entry["role"]
        if role == "user":
            text, images = _content(entry.get("content"), where, images_allowed=True)
            read.append(ChatMessage("user", text, images=images))
        elif role == "assistant":
            text, _ = _content(entry.get("content"), where, required=False)
            calls = _calls(entry.get("tool_calls"), where)
            called.update((call.id, call.name) for call in calls)
            read.append(ChatMessage("assistant", text, tool_calls=calls))
        elif role == "tool":
            call_id = entry.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise FieldInvalid(f"`{where}.tool_call_id` must name the call it answers.",
                                   param=f"{where}.tool_call_id")
            text, _ = _content(entry.get("content"), where)
            read.append(ChatMessage("tool", text, tool_call_id=call_id,
                                    tool_name=called.get(call_id)))
        else:
            text, _ = _content(entry.get("content"), where)
            read.append(ChatMessage("system", text))
    return tuple(read)


def _content(
    value: Any, where: str, *, images_allowed: bool = False, required: bool = True
) -> tuple[str, tuple[bytes, ...]]:
    """A message's text and images: a string, or a list of parts."""
    if value is None and not required:
        return "", ()
    if isinstance(value, str):
        return value, ()
    if not isinstance(value, list):
        raise FieldInvalid(f"`{where}.content` must be text or a list of parts.",
                           param=f"{where}.content")
    texts: list[str] = []
    images: list[bytes] = []
    for index, part in enumerate(value):
        at = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and images_allowed:
            images.append(_image(part.get("image_url"), at))
        else:
            allowed = 'a "text" part' + (' or an "image_url" part' if images_allowed else "")
            raise FieldInvalid(f"`{at}` must be {allowed}.", param=at)
    return "\n".join(texts), tuple(images)


def _image(value: Any, where: str) -> bytes:
    """An image part's bytes. Only data URLs: the server fetches nothing from elsewhere."""
    url = value.get("url") if isinstance(value, dict) else value
    match = _DATA_URL.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        raise FieldInvalid(f"`{where}.image_url.url` must be a data URL "
                           "(data:image/png;base64,…); images are not fetched from addresses.",
                           param=where)
    try:
        return base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise FieldInvalid(f"`{where}.image_url.url` is not valid base64.",
                           param=where) from None


def _calls(value: Any, where: str) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldInvalid(f"`{where}.tool_calls` must be a list.", param=f"{where}.tool_calls")
    calls = []
    for index, entry in enumerate(value):
        at = f"{where}.tool_calls[{index}]"
        function = entry.get("function") if isinstance(entry, dict) else None
        if not (isinstance(entry, dict) and isinstance(entry.get("id"), str)
                and isinstance(function, dict) and isinstance(function.get("name"), str)
                and isinstance(function.get("arguments", ""), str)):
            raise FieldInvalid(f"`{at}` must be {{\"id\": \"…\", \"type\": \"function\", "
                               '"function": {"name": "…", "arguments": "{…}"}}.', param=at)
        calls.append(ToolCall(entry["id"], function["name"], function.get("arguments", "")))
    return tuple(calls)

