"""Tools on the wire, against the fake server in each dialect: what is offered, the calls that
come back (parallel ones included) and the exact shape of calls and results sent back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openchat_desktop.providers.base import (
    ChatMessage,
    ChatRequest,
    ToolCall,
    ToolDefinition,
)
from openchat_desktop.providers.kinds import build_provider
from openchat_desktop.providers.ollama import OllamaProvider
from openchat_desktop.providers.openai_compat import OpenAICompatProvider
from tests.fake_provider import Called, FakeProvider, Reply

from .test_providers import collect, config_for, last_body

ADD = ToolDefinition(
    "add", "Adds two numbers.",
    {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
)
OFFERED = [{"type": "function", "function": {
    "name": "add", "description": "Adds two numbers.", "parameters": ADD.parameters}}]


@pytest.fixture(params=["ollama", "openai"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def provider(fake: FakeProvider, kind: str) -> Iterator[OllamaProvider | OpenAICompatProvider]:
    with build_provider(config_for(fake, kind)) as made:  # type: ignore[attr-defined]
        yield made


def test_no_tools_means_nothing_about_tools_is_sent(fake, provider):
    collect(provider.stream_chat(ChatRequest("llama3.2:3b", (ChatMessage("user", "hi"),))))
    body = last_body(fake)
    assert "tools" not in body
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_two_parallel_calls_arrive_whole_and_in_order(fake, provider, kind):
    fake.script(Reply(text="Let me add.", tool_calls=[
        Called("add", {"a": 1, "b": 2}, id="call_a"), Called("add", {"a": 30, "b": 4}, id="call_b"),
    ]))
    request = ChatRequest("llama3.2:3b", (ChatMessage("user", "sums"),), tools=(ADD,))
    events, error = collect(provider.stream_chat(request))
    assert error is None
    assert last_body(fake)["tools"] == OFFERED
    calls = [event for event in events if isinstance(event, ToolCall)]
    ids = ["call_0", "call_1"] if kind == "ollama" else ["call_a", "call_b"]
    assert calls == [ToolCall(ids[0], "add", '{"a":1,"b":2}' if kind == "ollama"
                              else '{"a": 1, "b": 2}'),
                     ToolCall(ids[1], "add", '{"a":30,"b":4}' if kind == "ollama"
                              else '{"a": 30, "b": 4}')]


def test_calls_and_results_go_back_in_the_dialects_shape(fake, provider, kind):
    calls = (ToolCall("call_a", "add", '{"a": 1, "b": 2}'), ToolCall("call_b", "add", "{oops"))
    request = ChatRequest("llama3.2:3b", (
        ChatMessage("user", "sums"),
        ChatMessage("assistant", "", tool_calls=calls),
        ChatMessage("tool", "3", tool_call_id="call_a", tool_name="add"),
        ChatMessage("tool", "The arguments are not valid JSON.", tool_call_id="call_b",
                    tool_name="add"),
    ), tools=(ADD,))
    collect(provider.stream_chat(request))
    messages = last_body(fake)["messages"]
    if kind == "ollama":
        assert messages[1:] == [
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "add", "arguments": {"a": 1, "b": 2}}},
                {"function": {"name": "add", "arguments": {}}},
            ]},
            {"role": "tool", "content": "3", "tool_name": "add"},
            {"role": "tool", "content": "The arguments are not valid JSON.", "tool_name": "add"},
        ]
    else:
        assert messages[1:] == [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}},
                {"id": "call_b", "type": "function",
                 "function": {"name": "add", "arguments": "{oops"}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "3"},
            {"role": "tool", "tool_call_id": "call_b",
             "content": "The arguments are not valid JSON."},
        ]
