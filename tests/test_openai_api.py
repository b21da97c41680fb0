"""The OpenAI-compatible endpoint read by the official `openai` client: models, answers
streamed and not, usage, tools both ways, images, reasoning, and errors in OpenAI's shape.

These calls say `store: false` (nothing recorded); tests/test_openai_recording.py is about the
chats recorded calls become."""

from __future__ import annotations

import base64
import json

import openai
import pytest

from .fake_provider import Called, Reply
from .support import TOKEN, Server
from .test_local_engine import MODEL, STARTER_FILE, engine_settings

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
NOT_STORED = {"store": False}


def client(app: Server, token: str = TOKEN) -> openai.OpenAI:
    return openai.OpenAI(base_url=app.url("/v1"), api_key=token, max_retries=0, timeout=10)


@pytest.fixture
def compat_app(start_server, both_kinds_settings) -> Server:
    return start_server(both_kinds_settings)


def test_the_models_are_those_of_the_app(app):
    listed = client(app).models.list()
    ids = [model.id for model in listed.data]
    assert ids == [model["id"] for model in app.get("/api/models").json()["models"]]
    assert "ollama/llama3.2:3b" in ids
    assert all(model.owned_by == "ollama" and model.object == "model" for model in listed.data)
    one = client(app).models.retrieve("ollama/llama3.2:3b")
    assert one.id == "ollama/llama3.2:3b"
    with pytest.raises(openai.NotFoundError):
        client(app).models.retrieve("ollama/no-such-model")


@pytest.mark.parametrize("provider", ["ollama", "compat"])
def test_an_answer_streams_with_its_usage(compat_app, fake, provider):
    fake.script(Reply(text="Hello there, friend"))
    stream = client(compat_app).chat.completions.create(
        model=f"{provider}/llama3.2:3b", messages=[{"role": "user", "content": "Hi"}],
        stream=True, stream_options={"include_usage": True}, extra_body=NOT_STORED,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there, friend"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].id.startswith("chatcmpl-") and len({c.id for c in chunks}) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.total_tokens == (
        chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens)


def test_an_answer_whole_with_options_reaching_the_provider(compat_app, fake):
    fake.script(Reply(text="Four."))
    answer = client(compat_app).chat.completions.create(
        model="compat/llama3.2:3b",
        messages=[{"role": "developer", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "2+2?"}]}],
        temperature=0.3, top_p=0.9, max_completion_tokens=20, seed=7, stop=["\n\n"],
        presence_penalty=0.5, extra_body=NOT_STORED,
    )
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "Four."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.completion_tokens > 0
    body = fake.chat_requests()[-1].body
    assert body["model"] == "llama3.2:3b"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["stop"] == ["\n\n"] and body["presence_penalty"] == 0.5
    assert 20 in (body.get("max_tokens"), body.get("max_completion_tokens"))


@pytest.mark.parametrize("provider", ["ollama", "compat"])
def test_tools_go_to_the_model_and_its_calls_come_back(compat_app, fake, provider):
    weather = {"type": "function", "function": {
        "name": "weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    fake.script(Reply(text="", tool_calls=[Called("weather", {"city": "Paris"}, id="call_1"),
                                           Called("weather", {"city": "Oslo"}, id="call_2")]))
    stream = client(compat_app).chat.completions.create(
        model=f"{provider}/llama3.2:3b", messages=[{"role": "user", "content": "Weather?"}],
        tools=[weather], stream=True, extra_body=NOT_STORED,
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for call in choice.delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": call.id, "name": "", "arguments": ""})
            entry["name"] += call.function.name or ""
            entry["arguments"] += call.function.arguments or ""
    assert finish == "tool_calls"
    assert [c["name"] for c in calls.values()] == ["weather", "weather"]
    assert [json.loads(c["arguments"]) for c in calls.values()] == [{"city": "Paris"},
                                                                    {"city": "Oslo"}]
    sent = fake.chat_requests()[-1].body["tools"]
    assert sent[0]["function"]["name"] == "weather"

    # The client runs the tool and sends the result back: the model reads it.
    fake.script(Reply(text="Sunny in Paris."))
    first = calls[0]
    answer = client(compat_app).chat.completions.create(
        model=f"{provider}/llama3.2:3b", tools=[weather], extra_body=NOT_STORED,
        messages=[
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": first["id"], "type": "function",
                 "function": {"name": "weather", "arguments": first["arguments"]}}]},
            {"role": "tool", "tool_call_id": first["id"], "content": "sunny"},
        ],
    )
    assert answer.choices[0].message.content == "Sunny in Paris."
    messages = fake.chat_requests()[-1].body["messages"]
    assert messages[-1]["role"] == "tool" and messages[-1]["content"] == "sunny"
    assert messages[-2]["tool_calls"][0]["function"]["name"] == "weather"


def test_a_whole_answer_carries_its_tool_calls(compat_app, fake):
    fake.script(Reply(text="", tool_calls=[Called("weather", {"city": "Rome"}, id="call_9")]))
    answer = client(compat_app).chat.completions.create(
        model="compat/llama3.2:3b", messages=[{"role": "user", "content": "Weather?"}],
        tools=[{"type": "function", "function": {"name": "weather"}}], extra_body=NOT_STORED,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "weather"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"city": "Rome"}


@pytest.mark.parametrize("provider", ["ollama", "compat"])
def test_an_image_part_reaches_the_provider(compat_app, fake, provider):
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    client(compat_app).chat.completions.create(
        model=f"{provider}/llama3.2:3b", extra_body=NOT_STORED,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": url}}]}],
    )
    last = fake.chat_requests()[-1].body["messages"][-1]
    if provider == "ollama":
        assert last["images"] == [base64.b64encode(PNG).decode()]
    else:
        assert {"type": "image_url", "image_url": {"url": url}} in last["content"]


@pytest.mark.fake_models("qwen3:8b", capabilities={"qwen3:8b": ["completion", "thinking"]})
def test_reasoning_streams_as_reasoning_content(start_server, ollama_settings, fake):
    app = start_server(ollama_settings)
    fake.script(Reply(text="Yes.", reasoning="Let me think."))
    chunks = list(client(app).chat.completions.create(
        model="ollama/qwen3:8b", messages=[{"role": "user", "content": "Sure?"}],
        stream=True, extra_body=NOT_STORED,
    ))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert reasoning == "Let me think."
    assert "".join(d.content or "" for d in deltas) == "Yes."


def test_an_unknown_model_is_not_found(app):
    with pytest.raises(openai.NotFoundError) as raised:
        client(app).chat.completions.create(
            model="nowhere/model", messages=[{"role": "user", "content": "Hi"}])
    error = raised.value.body
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    assert "nowhere" in error["message"]


def test_a_wrong_token_is_refused(app):
    with pytest.raises(openai.AuthenticationError) as raised:
        client(app, token="wrong").chat.completions.create(
            model="ollama/llama3.2:3b", messages=[{"role": "user", "content": "Hi"}])
    assert raised.value.body["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError):
        client(app, token="wrong").models.list()


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": [{"role": "user", "content": "Hi"}]}, "model"),
    ({"model": "ollama/llama3.2:3b", "messages": []}, "messages"),
    ({"model": "ollama/llama3.2:3b", "messages": [{"role": "user", "content": "Hi"}],
      "temperature": 9}, "temperature"),
    ({"model": "ollama/llama3.2:3b", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]},
     "messages[0].content[0]"),
])
def test_a_bad_body_is_refused_naming_the_field(app, body, param):
    response = app.post("/v1/chat/completions", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["message"].endswith(".") and "Traceback" not in error["message"]


def test_a_provider_down_is_a_502_in_openai_shape(app, fake):
    fake.stop()
    with pytest.raises(openai.InternalServerError) as raised:
        client(app).chat.completions.create(
            model="ollama/llama3.2:3b", messages=[{"role": "user", "content": "Hi"}],
            extra_body=NOT_STORED)
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "provider_unavailable"
    assert raised.value.body["type"] == "api_error"


def test_a_failure_midway_ends_the_stream_with_an_error_chunk(app, fake):
    fake.script(Reply(text="one two three", mode="error_midstream", after=1))
    response = app.post("/v1/chat/completions", {
        "model": "ollama/llama3.2:3b", "messages": [{"role": "user", "content": "Hi"}],
        "stream": True, "store": False}, stream=True)
    lines = [line for line in response.iter_lines() if line]
    assert json.loads(lines[0].removeprefix(b"data: "))["choices"][0]["delta"]["content"]
    last = json.loads(lines[-1].removeprefix(b"data: "))
    assert last["error"]["type"] == "api_error" and last["error"]["message"]
    assert b"[DONE]" not in lines[-1]


def test_the_client_closing_a_stream_closes_the_provider(app, fake):
    # The server learns that the client left when it next writes: the provider keeps talking.
    fake.script(Reply(text=" ".join(["word"] * 400), mode="slow", delay=0.02))
    stream = client(app).chat.completions.create(
        model="ollama/llama3.2:3b", messages=[{"role": "user", "content": "Hi"}],
        stream=True, extra_body=NOT_STORED)
    next(iter(stream))
    stream.close()
    assert fake.wait_idle(5.0)
    assert fake.disconnected


@pytest.mark.skipif(not STARTER_FILE.is_file(),
                    reason="the starter model is fetched by scripts/setup.sh")
@pytest.mark.parametrize("stream", [False, True])
def test_the_built_in_engine_answers(start_server, stream):
    """Streamed, the call is also recorded: the engine's reply is saved as the chat's."""
    app = start_server(engine_settings())
    answer = client(app).with_options(timeout=120).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Say hello."}], max_tokens=16,
        stream=stream, extra_body={"store": stream}, stream_options=(
            {"include_usage": True} if stream else openai.NOT_GIVEN),
    )
    if stream:
        chunks = list(answer)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
    else:
        text, usage = answer.choices[0].message.content, answer.usage
    assert text.strip()
    assert 0 < usage.completion_tokens <= 16
    sessions = app.get("/api/sessions").json()["sessions"]
    assert len(sessions) == (1 if stream else 0)
    if stream:
        reply = app.get(f"/api/sessions/{sessions[0]['id']}/messages").json()["messages"][-1]
        assert reply["content"] == text and reply["model"] == MODEL
