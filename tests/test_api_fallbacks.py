"""Fallback models through the real app: two real fake model servers, the first down or
failing; the reply comes from the second, its `model` and `meta` say so, and the stream
announced it before the first word. A chat's own fallbacks win over the settings'; the tool
loop goes on with the model that answered; the OpenAI-compatible endpoint falls back too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_provider import Called, FakeProvider, Reply
from .support import Server, provider_settings, texts
from .test_router import free_port

FIRST = "first/big"
SECOND = "second/small"
THIRD = "third/tiny"
ALWAYS = '\n[tools]\napproval = { "builtin/calculator" = "always" }\n'


@pytest.fixture
def second() -> Iterator[FakeProvider]:
    with FakeProvider(models=["small"]) as server:
        yield server


@pytest.fixture
def third() -> Iterator[FakeProvider]:
    with FakeProvider(models=["tiny"]) as server:
        yield server


def settings(first_url: str, second: FakeProvider, third: FakeProvider | None = None,
             fallbacks: str = f'"{FIRST}" = ["{SECOND}"]') -> str:
    providers = [("first", "openai", first_url), ("second", "openai", second.openai_url)]
    if third is not None:
        providers.append(("third", "openai", third.openai_url))
    return (provider_settings(*providers, default_model=FIRST)
            + f"\n[fallbacks]\n{fallbacks}\n" + ALWAYS)


def down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"


def fallback_events(events):
    return [data for event, data in events if event == "fallback"]


def test_a_model_that_is_down_is_answered_for_by_its_fallback(start_server, second):
    app: Server = start_server(settings(down_url(), second))
    second.script(Reply(text="Hello from the fallback."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hi"})
    kinds = [event for event, _ in events]
    assert "fallback" in kinds and kinds.index("fallback") < kinds.index("delta"), kinds
    (note,) = fallback_events(events)
    assert (note["from"], note["to"]) == (FIRST, SECOND)
    assert "127.0.0.1" in note["reason"]
    assert texts(events) == "Hello from the fallback."
    reply = events[-1][1]["message"]
    assert reply["status"] == "complete"
    assert reply["model"] == SECOND
    assert reply["meta"]["fallback"] == {
        "asked": FIRST, "answered": SECOND,
        "failures": [{"model": FIRST, "reason": note["reason"]}],
    }
    # Still there when the chat is read again.
    (_, saved) = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert saved["model"] == SECOND and saved["meta"]["fallback"] == reply["meta"]["fallback"]
    assert second.chat_requests()[0].body["model"] == "small"


@pytest.mark.parametrize("status", [500, 401])
def test_a_failing_server_is_answered_for_by_the_fallback(start_server, second, status):
    with FakeProvider(models=["big"]) as first:
        # 500 is retried twice first; 401 is not retried.
        first.script(*[Reply(status=status)] * 3)
        app = start_server(settings(first.openai_url, second))
        second.script(Reply(text="Fine."))
        session = app.new_session()
        events = app.chat(session["id"], {"message": "hi"})
        assert len(first.chat_requests()) == (3 if status == 500 else 1)
    (note,) = fallback_events(events)
    assert note["from"] == FIRST and note["to"] == SECOND and note["reason"]
    assert events[-1][1]["message"]["model"] == SECOND
    assert texts(events) == "Fine."


def test_no_fallback_once_the_first_model_began(start_server, second):
    with FakeProvider(models=["big"]) as first:
        first.script(Reply(text="one two three", mode="drop", after=2))
        app = start_server(settings(first.openai_url, second))
        session = app.new_session()
        events = app.chat(session["id"], {"message": "hi"})
    assert fallback_events(events) == []
    assert events[-1][0] == "error"
    assert second.chat_requests() == []
    (_, saved) = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert saved["model"] == FIRST and saved["status"] == "error" and saved["content"]


def test_when_every_model_fails_the_error_names_each(start_server, second):
    second.script(Reply(status=401))
    app = start_server(settings(down_url(), second))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hi"})
    assert response.status_code == 502, response.text
    message = response.json()["error"]["message"]
    assert f"{FIRST}: " in message and f"{SECOND}: " in message
    (_, saved) = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert saved["status"] == "error"
    assert saved["meta"]["fallback"]["asked"] == FIRST
    assert "answered" not in saved["meta"]["fallback"]


def test_a_chats_own_fallbacks_win_over_the_settings(start_server, second, third):
    app = start_server(settings(down_url(), second, third))
    third.script(Reply(text="From the third."))
    session = app.new_session()
    patched = app.patch(f"/api/sessions/{session['id']}", {"fallbacks": [THIRD]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["fallbacks"] == [THIRD]
    events = app.chat(session["id"], {"message": "hi"})
    assert [(n["from"], n["to"]) for n in fallback_events(events)] == [(FIRST, THIRD)]
    assert events[-1][1]["message"]["model"] == THIRD
    assert second.chat_requests() == []
    # Null: the settings' fallbacks again.
    assert app.patch(f"/api/sessions/{session['id']}", {"fallbacks": None}).json()[
        "fallbacks"] is None
    second.script(Reply(text="From the second."))
    events = app.chat(session["id"], {"message": "again"})
    assert events[-1][1]["message"]["model"] == SECOND


@pytest.mark.parametrize("value, says", [
    ("second/small", "must be a list"),
    (["second/small", "second/small"], "twice"),
    (["nowhere/model"], "no provider"),
    ([3], "must be a list"),
])
def test_a_chats_fallbacks_are_checked(start_server, second, value, says):
    app = start_server(settings(down_url(), second))
    session = app.new_session()
    response = app.patch(f"/api/sessions/{session['id']}", {"fallbacks": value})
    assert response.status_code == 422
    assert says in response.json()["error"]["message"]


def test_the_tool_loop_goes_on_with_the_model_that_answered(start_server, second):
    with FakeProvider(models=["big"]) as first:
        first.script(Reply(status=401), Reply(text="never asked"))
        app = start_server(settings(first.openai_url, second))
        second.script(
            Reply(text="Let me compute.", tool_calls=[Called("calculator", {"expression": "6*7"})]),
            Reply(text="It is 42."),
        )
        session = app.new_session()
        events = app.chat(session["id"], {"message": "what is 6*7?"})
        assert len(first.chat_requests()) == 1
    assert len(second.chat_requests()) == 2
    results = [data for event, data in events if event == "tool_result"]
    assert results and results[0]["content"] == "42"
    assert texts(events).endswith("It is 42.")
    assert events[-1][1]["message"]["model"] == SECOND


def test_the_openai_endpoint_uses_the_settings_fallbacks(start_server, second):
    app = start_server(settings(down_url(), second))
    second.script(Reply(text="Hello over /v1."))
    response = app.post("/v1/chat/completions", {
        "model": FIRST, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "Hello over /v1."
    assert body["model"] == SECOND


def test_the_settings_check_fallbacks(start_server, second):
    app = start_server(settings(down_url(), second,
                                fallbacks=f'"{FIRST}" = ["{SECOND}", "elsewhere/model"]'))
    warnings = app.get("/api/settings").json()
    assert "elsewhere" in str(warnings)
    refused = app.patch("/api/settings", {"fallbacks": {FIRST: [FIRST]}})
    assert refused.status_code == 422, refused.text
    assert "itself" in refused.json()["error"]["message"]
    saved = app.patch("/api/settings", {"fallbacks": {FIRST: [SECOND]}})
    assert saved.status_code == 200, saved.text
    assert "[fallbacks]" in app.settings_path.read_text()
