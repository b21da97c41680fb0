"""Anthropic's Messages API through the real app against a fake Anthropic server: the exact
bodies and headers for text, a system prompt, options, images, thinking and tools (both ways
through the tool loop), the paged model list, and every error a person may meet, each as a
sentence."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from .fake_provider import Called, FakeProvider, Reply
from .files import png
from .support import Server, texts

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-3-5-haiku-latest"
OPUS = "claude-opus-4-1"
KEY = "sk-ant-api03-test-key-0123456789"
BUILTIN_TOOLS = ["current_time", "calculator", "search_chats", "read_file"]

pytestmark = pytest.mark.fake_models(SONNET, HAIKU, OPUS)


def anthropic_settings(fake: FakeProvider, *, key: str = KEY, extra: str = "") -> str:
    return (
        f'default_model = "claude/{SONNET}"\n{extra}\n'
        f'[[providers]]\nid = "claude"\nkind = "anthropic"\nbase_url = "{fake.url}"\n'
        f'api_key = "{key}"\n'
    )


@pytest.fixture
def app(start_server, fake) -> Server:
    fake.api_key = KEY
    return start_server(anthropic_settings(fake))


def last_body(fake: FakeProvider) -> dict[str, Any]:
    body = fake.chat_requests()[-1].body
    assert isinstance(body, dict)
    return body


def plain_session(app: Server, **fields: object) -> dict[str, Any]:
    """A chat without tools, so a body holds only what the test is about."""
    session = app.new_session(**fields)
    app.runtime.store.update_session(session["id"], tool_servers=[])
    return session


def of(events, kind):
    return [data for event, data in events if event == kind]


# --- what is sent ----------------------------------------------------------------------------


def test_text_and_system_prompt_go_as_anthropic_wants_them(app, fake):
    fake.script(Reply(text="Hello there."))
    session = plain_session(app, system_prompt="Answer in one line.")
    events = app.chat(session["id"], {"message": "hello"})
    assert texts(events) == "Hello there."
    request = fake.chat_requests()[-1]
    assert request.path == "/v1/messages"
    assert request.body == {
        "model": SONNET,
        "max_tokens": 8192,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": True,
        "system": "Answer in one line.",
    }
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    done = of(events, "done")[0]["message"]
    assert done["status"] == "complete" and done["model"] == f"claude/{SONNET}"

    fake.script(Reply(text="Again."))
    app.chat(session["id"], {"message": "and again"})
    assert last_body(fake)["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hello there."},
        {"role": "user", "content": "and again"},
    ]


def test_options_are_mapped_and_the_others_left_out(app, fake):
    session = plain_session(app, )
    options = {"temperature": 1.5, "top_p": 0.9, "top_k": 40, "stop": ["END"],
               "max_tokens": 300, "seed": 7, "repeat_penalty": 1.1, "presence_penalty": 0.5}
    app.chat(session["id"], {"message": "hi", "options": options})
    body = last_body(fake)
    assert {key: value for key, value in body.items() if key not in ("model", "messages")} == {
        "max_tokens": 300, "stream": True, "temperature": 1.0, "top_p": 0.9, "top_k": 40,
        "stop_sequences": ["END"],
    }


def test_an_image_goes_as_a_base64_block_with_its_type(app, fake):
    image = png()
    uploaded = app.post("/api/attachments", files={"file": ("dot.png", image, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    session = plain_session(app, )
    app.chat(session["id"], {"message": "What colour?", "attachments": [uploaded.json()["id"]]})
    assert last_body(fake)["messages"] == [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": base64.b64encode(image).decode("ascii")}},
        {"type": "text", "text": "What colour?"},
    ]}]


def test_thinking_is_sent_with_its_budget_and_streams_back(app, fake):
    fake.script(Reply(text="Hi!", reasoning="User wants a greeting."))
    session = plain_session(app, )
    events = app.chat(session["id"], {"message": "hello", "think": True,
                                      "options": {"temperature": 0.3, "max_tokens": 1000}})
    body = last_body(fake)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert body["max_tokens"] == 5096  # the reply's 1000 on top of the budget
    assert "temperature" not in body  # Anthropic refuses it with thinking
    assert texts(events, "reasoning") == "User wants a greeting."
    assert texts(events) == "Hi!"

    app.chat(session["id"], {"message": "think hard", "think": "high"})
    body = last_body(fake)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert body["max_tokens"] == 8192 + 16384
    # Earlier thinking is not sent back: Anthropic wants it signed.
    assert body["messages"][1] == {"role": "assistant", "content": "Hi!"}


def test_a_model_that_does_not_think_is_never_sent_thinking(app, fake):
    session = plain_session(app, model=f"claude/{HAIKU}")
    app.chat(session["id"], {"message": "hello", "think": True})
    assert "thinking" not in last_body(fake)
    app.chat(session["id"], {"message": "hello", "think": False, "model": f"claude/{SONNET}"})
    assert "thinking" not in last_body(fake)


def test_tools_go_out_and_their_results_come_back_in_one_user_turn(start_server, fake):
    fake.api_key = KEY
    app = start_server(anthropic_settings(
        fake, extra='[tools]\napproval = { "builtin/calculator" = "always" }\n'))
    fake.script(
        Reply(text="Let me compute.", tool_calls=[
            Called("calculator", {"expression": "6*7"}, id="toolu_a"),
            Called("calculator", {"expression": "2**10"}, id="toolu_b"),
        ]),
        Reply(text="42 and 1024."),
    )
    session = app.new_session()
    events = app.chat(session["id"], {"message": "sums"})
    assert [call["arguments"] for call in of(events, "tool_call")] == [
        {"expression": "6*7"}, {"expression": "2**10"}]
    assert texts(events).endswith("42 and 1024.")
    first, second = (request.body for request in fake.chat_requests())
    assert [tool["name"] for tool in first["tools"]] == BUILTIN_TOOLS
    calculator = first["tools"][1]
    assert set(calculator) == {"name", "description", "input_schema"}
    assert calculator["input_schema"]["type"] == "object"
    assert second["messages"] == [
        {"role": "user", "content": "sums"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me compute."},
            {"type": "tool_use", "id": "toolu_a", "name": "calculator",
             "input": {"expression": "6*7"}},
            {"type": "tool_use", "id": "toolu_b", "name": "calculator",
             "input": {"expression": "2**10"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "42"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "1024"},
        ]},
    ]


# --- models ----------------------------------------------------------------------------------


def test_the_model_list_is_read_page_by_page_with_capabilities(app, fake):
    fake.page_size = 2
    listed = app.get("/api/models").json()
    assert listed["providers"] == [{"id": "claude", "kind": "anthropic", "status": "ok",
                                    "message": None}]
    models = {model["name"]: model for model in listed["models"]}
    assert list(models) == [SONNET, HAIKU, OPUS]
    assert models[SONNET]["capabilities"] == ["completion", "vision", "tools", "thinking"]
    assert models[SONNET]["think_levels"] == ["low", "medium", "high"]
    assert models[HAIKU]["capabilities"] == ["completion", "vision", "tools"]
    assert models[OPUS]["context_length"] == 200000
    pages = [r.path for r in fake.requests if r.path.startswith("/v1/models?")]
    assert pages == ["/v1/models?limit=1000", f"/v1/models?limit=1000&after_id={HAIKU}"]


def test_test_connection_lists_the_models_with_the_key_in_its_header(server, fake):
    fake.api_key = KEY
    entry = {"id": "claude", "kind": "anthropic", "base_url": fake.url}
    wrong = server.post("/api/providers/test", {**entry, "api_key": "sk-ant-wrong-0123456789"})
    assert wrong.json()["status"] == "unauthorized"
    assert wrong.json()["message"].startswith("Anthropic rejected the API key for “claude” (401).")
    right = server.post("/api/providers/test", {**entry, "api_key": KEY})
    assert right.json() == {"status": "ok", "message": None, "models": [SONNET, HAIKU, OPUS],
                            "note": None, "address": None}
    assert fake.requests[-1].headers["x-api-key"] == KEY


# --- errors ----------------------------------------------------------------------------------


def send_refused(app: Server) -> tuple[int, dict[str, Any]]:
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    return response.status_code, response.json()["error"]


def test_a_rejected_key_is_a_sentence_naming_the_provider(start_server, fake):
    fake.api_key = KEY
    app = start_server(anthropic_settings(fake, key="sk-ant-wrong-0123456789"))
    status, error = send_refused(app)
    assert (status, error["code"]) == (502, "provider_auth_failed")
    assert error["message"] == ("Anthropic rejected the API key for “claude” (401). Check the key "
                                "in Settings, or make a new one at console.anthropic.com.")
    assert len(fake.chat_requests()) == 1


def test_an_unknown_model_is_named(app, fake):
    session = app.new_session(model="claude/claude-nonexistent-9")
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "model_not_found",
        "message": "Anthropic does not have a model named “claude-nonexistent-9”. Check the "
                   "model name in Settings, or pick another model.",
    }


def test_a_rate_limit_is_waited_out_as_asked(app, fake):
    fake.script(Reply(status=429, headers={"retry-after": "0"}), Reply(text="After the wait."))
    events = app.chat(app.new_session()["id"], {"message": "hi"})
    assert of(events, "retry")[0]["reason"] == (
        "Anthropic is limiting requests (429). Wait a moment and try again.")
    assert texts(events) == "After the wait."
    assert len(fake.chat_requests()) == 2


def test_a_long_rate_limit_wait_is_told_not_waited(app, fake):
    fake.script(Reply(status=429, headers={"retry-after": "40"}))
    status, error = send_refused(app)
    assert (status, error["code"]) == (429, "provider_rate_limited")
    assert error["message"] == ("Anthropic asked to wait 40 seconds before another try. Try "
                                "again after that.")
    assert len(fake.chat_requests()) == 1


def test_overload_is_retried_then_told(app, fake):
    fake.script(Reply(status=529), Reply(status=529), Reply(status=529))
    status, error = send_refused(app)
    assert (status, error["code"]) == (502, "provider_unavailable")
    assert error["message"] == "Anthropic is overloaded right now (529). Try again in a moment."
    assert len(fake.chat_requests()) == 3


def test_a_refused_request_quotes_anthropic_clipped(app, fake):
    said = "messages.0.content: " + "this text is far too long to be shown whole " * 10
    fake.script(Reply(status=400, body={"type": "error", "error": {
        "type": "invalid_request_error", "message": said}}))
    status, error = send_refused(app)
    assert (status, error["code"]) == (400, "provider_bad_request")
    assert error["message"].startswith("Anthropic refused the request (400): messages.0.content: "
                                       "this text is far too long")
    assert "…" in error["message"] and len(error["message"]) < 450


def test_an_overload_mid_reply_keeps_the_partial_text(app, fake):
    fake.script(Reply(text="Part of an answer", mode="error_midstream", after=2))
    events = app.chat(app.new_session()["id"], {"message": "go"})
    assert texts(events) == "Part of"
    kind, error = events[-1]
    assert kind == "error" and error["code"] == "provider_unavailable"
    assert error["message"] == ("Anthropic is overloaded right now, so the reply stopped. Try "
                                "again in a moment.")
    saved = app.get(f"/api/messages/{error['message_id']}").json()
    assert saved["status"] == "error" and saved["content"] == "Part of"
    assert saved["error"] == {"code": "provider_unavailable", "message": error["message"]}
    assert len(fake.chat_requests()) == 1, "a reply that had begun must not be retried"


SPENT = {"type": "error", "error": {
    "type": "rate_limit_error", "message": "You have reached your specified API usage limits.",
    "details": {"error_code": "enforced_spend_limit_reached"}}}


@pytest.mark.parametrize(("reply", "status", "code", "message", "tries"), [
    (Reply(status=403), 502, "provider_auth_failed",
     "Anthropic refused access (403). Check the API key for “claude” in Settings and that it "
     "may use this model.", 1),
    (Reply(status=429, body=SPENT), 429, "provider_rate_limited",
     "Anthropic says the account is out of quota. Check your plan and billing, then try again.",
     1),
    (Reply(status=500), 502, "provider_unavailable",
     "Anthropic had a server error (500). Try again in a moment; if it keeps happening, "
     "status.anthropic.com says whether Anthropic knows.", 3),
])
def test_other_refusals_are_sentences_and_retried_only_when_it_may_help(
        app, fake, reply, status, code, message, tries):
    fake.script(reply, reply, reply)
    assert send_refused(app) == (status, {"code": code, "message": message})
    assert len(fake.chat_requests()) == tries
