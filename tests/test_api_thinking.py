"""Thinking through the real server: the per-chat Think setting, `think` sent only to models
that think (with levels where they take them), reasoning streamed, saved and replayed, and the
reply's timings."""

from __future__ import annotations

import pytest

from .fake_provider import Reply
from .support import read_events, texts

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b", "gpt-oss:20b", "deepseek-r1:8b",
    capabilities={
        "qwen3:8b": ["completion", "thinking"],
        "gpt-oss:20b": ["completion", "thinking", "tools"],
    },
)


@pytest.fixture
def default_model():
    return "ollama/qwen3:8b"


@pytest.fixture
def app(start_server, both_kinds_settings):
    # The line belongs to the last provider: compat.
    return start_server(both_kinds_settings + 'bare_think_models = ["deepseek-r1*"]\n')


def last_body(fake):
    return fake.chat_requests()[-1].body


def test_the_chat_keeps_its_think_setting(app):
    session = app.new_session()
    assert session["think"] is None
    for value in (True, False, "high", None):
        saved = app.patch(f"/api/sessions/{session['id']}", {"think": value})
        assert saved.status_code == 200 and saved.json()["think"] == value
        assert app.get(f"/api/sessions/{session['id']}").json()["think"] == value
    for bad in ("extreme", 3, ["high"]):
        refused = app.patch(f"/api/sessions/{session['id']}", {"think": bad})
        assert refused.status_code == 422
        assert "`think`" in refused.json()["error"]["message"]
    assert app.get(f"/api/sessions/{session['id']}").json()["think"] is None


def test_think_goes_only_to_models_that_think(app, fake):
    session = app.new_session()
    app.patch(f"/api/sessions/{session['id']}", {"think": True})
    app.chat(session["id"], {"message": "hi", "model": "ollama/qwen3:8b"})
    assert last_body(fake)["think"] is True
    app.chat(session["id"], {"message": "hi", "model": "ollama/llama3.2:3b"})
    assert "think" not in last_body(fake)
    # OpenAI-compatible servers do not say what a model can do: nothing is sent.
    app.patch(f"/api/sessions/{session['id']}", {"think": "high"})
    app.chat(session["id"], {"message": "hi", "model": "compat/qwen3:8b"})
    body = last_body(fake)
    assert "think" not in body and "reasoning_effort" not in body


def test_levels_go_to_models_that_take_them_and_mean_on_elsewhere(app, fake):
    session = app.new_session()
    app.patch(f"/api/sessions/{session['id']}", {"think": "high"})
    app.chat(session["id"], {"message": "hi", "model": "ollama/gpt-oss:20b"})
    assert last_body(fake)["think"] == "high"
    app.chat(session["id"], {"message": "hi", "model": "ollama/qwen3:8b"})
    assert last_body(fake)["think"] is True
    app.patch(f"/api/sessions/{session['id']}", {"think": False})
    app.chat(session["id"], {"message": "hi", "model": "ollama/qwen3:8b"})
    assert last_body(fake)["think"] is False


def test_a_request_think_overrides_the_chat_for_one_reply(app, fake):
    session = app.new_session()
    app.patch(f"/api/sessions/{session['id']}", {"think": False})
    app.chat(session["id"], {"message": "hi", "think": "low", "model": "ollama/gpt-oss:20b"})
    assert last_body(fake)["think"] == "low"
    app.chat(session["id"], {"message": "hi", "think": None, "model": "ollama/gpt-oss:20b"})
    assert "think" not in last_body(fake)
    app.chat(session["id"], {"message": "hi", "model": "ollama/gpt-oss:20b"})
    assert last_body(fake)["think"] is False
    refused = app.post(f"/api/sessions/{session['id']}/chat/stream",
                       {"message": "hi", "think": "extreme"})
    assert refused.status_code == 422


def test_regenerate_uses_the_chats_think_setting(app, fake):
    session = app.new_session()
    app.patch(f"/api/sessions/{session['id']}", {"think": "medium"})
    events = app.chat(session["id"], {"message": "hi", "model": "ollama/gpt-oss:20b"})
    reply = events[-1][1]["message"]
    response = app.post(f"/api/messages/{reply['id']}/regenerate", {}, stream=True)
    with response:
        response.content  # noqa: B018 - read the whole stream
    assert last_body(fake)["think"] == "medium"


def test_reasoning_streams_is_saved_and_replayed_with_its_time(app, fake):
    fake.script(Reply(text="The answer is 4.", reasoning="Two plus two is four."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "2+2?"})
    kinds = [kind for kind, _ in events]
    assert kinds.index("reasoning") < kinds.index("delta")
    assert texts(events, "reasoning") == "Two plus two is four."
    assert texts(events) == "The answer is 4."
    final = events[-1][1]["message"]
    assert final["reasoning"] == "Two plus two is four."
    usage = final["usage"]
    assert usage["completion_tokens"] and usage["tokens_per_second"]
    assert usage["time_to_first_token_ms"] is not None
    assert usage["thinking_ms"] is not None
    assert 0 <= usage["thinking_ms"] <= usage["duration_ms"]
    stored = app.get(f"/api/messages/{final['id']}").json()
    assert stored["reasoning"] == "Two plus two is four."
    replay = app.get(f"/api/messages/{final['id']}/events?after=0", stream=True)

    replayed = read_events(replay)
    assert texts(replayed, "reasoning") == "Two plus two is four."
    assert texts(replayed) == "The answer is 4."


def test_a_reply_without_reasoning_has_no_thinking_time(app, fake):
    fake.script(Reply(text="Plain."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hi", "model": "ollama/llama3.2:3b"})
    assert events[-1][1]["message"]["usage"]["thinking_ms"] is None


def test_inline_think_tags_become_reasoning(app, fake):
    fake.script(Reply(chunks=["<think>", "Weighing ", "options.", "</think>", "Go ", "left."]))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "Which way?", "model": "compat/llama3.2:3b"})
    assert texts(events, "reasoning") == "Weighing options."
    assert texts(events) == "Go left."
    assert events[-1][1]["message"]["reasoning"] == "Weighing options."


def test_a_missing_opening_tag_is_read_for_the_models_named_in_settings(app, fake):
    fake.script(Reply(chunks=["The user ", "greets me.", "</think>", "\n\nHello!"]))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "Hi", "model": "compat/deepseek-r1:8b"})
    assert texts(events, "reasoning") == "The user greets me."
    assert texts(events).strip() == "Hello!"


def test_models_say_which_can_think_and_with_which_levels(app):
    models = {m["id"]: m for m in app.get("/api/models").json()["models"]}
    assert models["ollama/gpt-oss:20b"]["think_levels"] == ["low", "medium", "high"]
    assert models["ollama/qwen3:8b"]["think_levels"] == []
    assert models["ollama/qwen3:8b"]["capabilities_known"] is True
    assert models["compat/qwen3:8b"]["capabilities_known"] is False
