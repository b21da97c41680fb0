"""Gemini through the real server against a fake Gemini API: the exact requests (text, system
instruction, options, images, thinking, function calling both ways through the tool loop), the
key only in its header, the paged model list with capabilities, and Google's errors as
sentences: a bad key (a 400!), a missing key, an unknown model, 429 with its retryDelay, 503,
an error inside the stream, a blocked prompt."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from openchat_desktop.providers.base import ChatMessage, ChatRequest, ProviderConfig, ToolDefinition
from openchat_desktop.providers.gemini import GeminiProvider

from .fake_gemini import FakeGemini, google_error, model, retry_info
from .fake_provider import Called, Reply
from .files import png
from .support import read_events, texts

KEY = "AIzaSyFakeKeyForTests0123456789abcdefg"
FLASH = "gem/gemini-2.5-flash"
ALWAYS = '\n[tools]\napproval = { "builtin/calculator" = "always" }\n'


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def app(start_server, gemini):
    return start_server(gemini.settings(key=KEY, default_model=FLASH))


def vector_segments(vector_id: str) -> list[bytes]:
    from .test_wire_vectors import BY_ID, segments

    return segments(BY_ID[vector_id])


def of(events, kind):
    return [data for event, data in events if event == kind]


def final(events) -> dict:
    return of(events, "done")[-1]["message"]


# --- what is sent -------------------------------------------------------------------------


def test_text_goes_with_its_system_instruction_and_options_and_the_key_only_in_its_header(
        app, gemini):
    session = app.new_session(system_prompt="Answer in French.")
    app.runtime.store.update_session(session["id"], tool_servers=[])  # no tools offered
    gemini.script(Reply(text="Bonjour le monde"))
    events = app.chat(session["id"], {"message": "Say hello", "options": {
        "temperature": 0.3, "top_p": 0.9, "top_k": 20, "max_tokens": 64, "stop": ["END"],
        "seed": 7, "presence_penalty": 0.5}})
    assert texts(events) == "Bonjour le monde"
    assert final(events)["status"] == "complete"
    path, body, headers = gemini.chat_requests()[-1]
    assert path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert headers["x-goog-api-key"] == KEY
    assert "Authorization" not in headers
    assert body == {
        "contents": [{"role": "user", "parts": [{"text": "Say hello"}]}],
        "systemInstruction": {"parts": [{"text": "Answer in French."}]},
        "generationConfig": {"temperature": 0.3, "topP": 0.9, "topK": 20,
                             "maxOutputTokens": 64, "stopSequences": ["END"], "seed": 7},
    }
    # The whole conversation goes back with the assistant as "model".
    gemini.script(Reply(text="Salut"))
    app.chat(session["id"], {"message": "Again"})
    assert gemini.chat_requests()[-1].body["contents"] == [
        {"role": "user", "parts": [{"text": "Say hello"}]},
        {"role": "model", "parts": [{"text": "Bonjour le monde"}]},
        {"role": "user", "parts": [{"text": "Again"}]},
    ]
    assert all(KEY not in request.path for request in gemini.requests)
    assert final(events)["usage"]["prompt_tokens"] == 7


def test_an_image_goes_as_inline_data_before_the_text(app, gemini):
    image = png()
    upload = app.post("/api/attachments", files={"file": ("photo.png", image, "image/png")})
    assert upload.status_code == 201, upload.text
    session = app.new_session()
    app.chat(session["id"], {"message": "What is this?", "attachments": [upload.json()["id"]]})
    assert gemini.chat_requests()[-1].body["contents"] == [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "image/png",
                        "data": base64.b64encode(image).decode("ascii")}},
        {"text": "What is this?"},
    ]}]


def test_thinking_on_shows_the_thoughts_and_off_sets_no_budget(app, gemini):
    session = app.new_session()
    gemini.script(Reply(segments=vector_segments("GE-2")))
    events = app.chat(session["id"], {"message": "2+2?", "think": True})
    assert texts(events, "reasoning") == "**Answering a sum**\n\nTrivial."
    assert texts(events) == "4"
    config = gemini.chat_requests()[-1].body["generationConfig"]
    assert config == {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": -1}}
    app.chat(session["id"], {"message": "3+3?", "think": False})
    config = gemini.chat_requests()[-1].body["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingBudget": 0}}
    # A model the listing does not mark as thinking is sent nothing about it.
    other = app.new_session(model="gem/gemini-2.0-flash")
    app.chat(other["id"], {"message": "Hi", "think": True})
    assert "generationConfig" not in gemini.chat_requests()[-1].body


def test_levels_are_budgets_and_models_that_always_think_only_hide_their_thoughts(gemini):
    provider = GeminiProvider(ProviderConfig("gem", "gemini", gemini.url, api_key=KEY))
    ask = (ChatMessage("user", "Hi"),)

    def thinking(think, name="gemini-2.5-flash"):
        body = provider.chat_body(ChatRequest(name, ask, think=think))
        return body["generationConfig"]["thinkingConfig"]

    with provider:
        assert thinking("low") == {"includeThoughts": True, "thinkingBudget": 1024}
        assert thinking("medium") == {"includeThoughts": True, "thinkingBudget": 8192}
        assert thinking("high") == {"includeThoughts": True, "thinkingBudget": 24576}
        assert thinking(False, "gemini-2.5-pro") == {"includeThoughts": False}


def test_function_calls_run_in_the_tool_loop_and_their_results_go_back(start_server, gemini):
    app = start_server(gemini.settings(key=KEY, default_model=FLASH) + ALWAYS)
    session = app.new_session()
    gemini.script(Reply(text="Let me compute.", tool_calls=[
                      Called("calculator", {"expression": "6*7"}),
                      Called("calculator", {"expression": "2**10"})]),
                  Reply(text="42 and 1024."))
    events = app.chat(session["id"], {"message": "Compute"})
    assert [r["content"] for r in of(events, "tool_result")] == ["42", "1024"]
    assert texts(events) == "Let me compute.\n\n42 and 1024."
    first, second = gemini.chat_requests()[-2:]
    declarations = first.body["tools"][0]["functionDeclarations"]
    calculator = next(d for d in declarations if d["name"] == "calculator")
    assert calculator["parameters"]["properties"]["expression"]["type"] == "string"
    # current_time takes no arguments: an empty object schema is refused by Gemini.
    assert "parameters" not in next(d for d in declarations if d["name"] == "current_time")
    assert second.body["contents"] == [
        {"role": "user", "parts": [{"text": "Compute"}]},
        {"role": "model", "parts": [
            {"text": "Let me compute."},
            {"functionCall": {"name": "calculator", "args": {"expression": "6*7"}}},
            {"functionCall": {"name": "calculator", "args": {"expression": "2**10"}}},
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "calculator", "response": {"result": "42"}}},
            {"functionResponse": {"name": "calculator", "response": {"result": "1024"}}},
        ]},
    ]


def test_each_call_goes_back_with_its_thought_signature_round_after_round(start_server):
    with FakeGemini(api_key=KEY, sign_calls=True) as gemini:
        app = start_server(gemini.settings(key=KEY, default_model=FLASH) + ALWAYS)
        session = app.new_session()
        gemini.script(Reply(text="", tool_calls=[Called("calculator", {"expression": "1+1"})]),
                      Reply(text="", tool_calls=[Called("calculator", {"expression": "2+2"})]),
                      Reply(text="2 and 4."))
        events = app.chat(session["id"], {"message": "Compute"})
        assert texts(events) == "2 and 4."
        last = gemini.chat_requests()[-1].body["contents"]
    calls = [part for content in last for part in content["parts"] if "functionCall" in part]
    assert calls == [
        {"functionCall": {"name": "calculator", "args": {"expression": "1+1"}},
         "thoughtSignature": "sig-0"},
        {"functionCall": {"name": "calculator", "args": {"expression": "2+2"}},
         "thoughtSignature": "sig-1"},
    ]


def test_tool_schemas_lose_only_the_keys_gemini_refuses(gemini):
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "additionalProperties": False,
        "properties": {
            "default": {"type": "string", "default": "x", "examples": ["a"]},
            "items": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                 "properties": {"n": {"type": "integer"}}}},
            "either": {"anyOf": [{"type": "string", "const": "a"}, {"type": "null"}]},
        },
        "required": ["default"],
    }
    tool = ToolDefinition("pick", "Pick one.", schema)
    with GeminiProvider(ProviderConfig("gem", "gemini", gemini.url)) as provider:
        body = provider.chat_body(ChatRequest("gemini-2.5-flash", (ChatMessage("user", "Hi"),),
                                              tools=(tool,)))
    assert body["tools"] == [{"functionDeclarations": [{
        "name": "pick", "description": "Pick one.",
        "parameters": {
            "type": "object",
            "properties": {
                "default": {"type": "string", "default": "x"},
                "items": {"type": "array", "items": {
                    "type": "object", "properties": {"n": {"type": "integer"}}}},
                "either": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["default"],
        },
    }]}]


# --- models -------------------------------------------------------------------------------


def test_the_model_list_is_paged_and_keeps_only_chat_models_with_their_capabilities(
        start_server):
    models = [model("gemini-2.5-flash", thinking=True),
              model("text-embedding-004", methods=("embedContent",), input_limit=2048),
              model("gemini-2.0-flash"), model("gemini-2.5-pro", thinking=True),
              model("gemma-3-27b-it", input_limit=131072)]
    with FakeGemini(models, api_key=KEY, page_size=2) as gemini:
        app = start_server(gemini.settings(key=KEY))
        answer = app.get("/api/models").json()
        listings = [r.path for r in gemini.requests if r.path.startswith("/v1beta/models?")]
    assert listings == ["/v1beta/models?pageSize=1000", "/v1beta/models?pageSize=1000&pageToken=2",
                        "/v1beta/models?pageSize=1000&pageToken=4"]
    assert answer["providers"] == [{"id": "gem", "kind": "gemini", "status": "ok",
                                    "message": None}]
    listed = {m["id"]: (m["capabilities"], m["context_length"]) for m in answer["models"]}
    assert listed == {
        "gem/gemini-2.5-flash": (["completion", "vision", "tools", "thinking"], 1048576),
        "gem/gemini-2.0-flash": (["completion", "vision", "tools"], 1048576),
        "gem/gemini-2.5-pro": (["completion", "vision", "tools", "thinking"], 1048576),
        "gem/gemma-3-27b-it": (["completion", "vision", "tools"], 131072),
    }


def test_test_connection_lists_the_models_and_says_when_the_key_is_wrong(server, gemini):
    entry = {"id": "gem", "kind": "gemini", "base_url": gemini.url, "api_key": KEY}
    answer = server.post("/api/providers/test", entry).json()
    assert answer["status"] == "ok"
    assert answer["models"] == ["gemini-2.5-flash", "gemini-2.0-flash"]
    wrong = server.post("/api/providers/test", {**entry, "api_key": "AIza-wrong"}).json()
    assert wrong["status"] == "unauthorized"
    assert wrong["message"] == ("Gemini rejected the API key: it is not valid or has expired. "
                                "Check the API key for “gem” in Settings.")
    assert "AIza-wrong" not in json.dumps(wrong)


# --- errors -------------------------------------------------------------------------------


def test_a_bad_key_is_a_400_from_gemini_and_told_as_a_key_problem(start_server, gemini):
    app = start_server(gemini.settings(key="AIza-not-the-key", default_model=FLASH))
    session = app.new_session()
    error = error_of(app, session["id"], {"message": "Hi"})
    assert error["code"] == "provider_auth_failed"
    assert error["message"] == ("Gemini rejected the API key: it is not valid or has expired. "
                                "Check the API key for “gem” in Settings.")
    assert len(gemini.chat_requests()) == 1  # not retried


def test_no_key_at_all_asks_for_one(start_server, gemini):
    app = start_server(gemini.settings(key="", default_model=FLASH))
    status = app.get("/api/models").json()["providers"][0]
    assert status["status"] == "unauthorized"
    assert status["message"] == ("Gemini needs an API key. Add one for “gem” in Settings "
                                 "(Google AI Studio gives you one).")


def error_of(app, session_id: str, body: dict) -> dict:
    """The error of a send: a plain HTTP error when it is known before the reply starts,
    else the stream's error event."""
    response = app.post(f"/api/sessions/{session_id}/chat/stream", body, stream=True)
    if response.status_code != 200:
        return response.json()["error"]
    (error,) = of(read_events(response), "error")
    return error


def test_an_unknown_model_is_named(app, gemini):
    session = app.new_session(model="gem/gemini-9-ultra")
    error = error_of(app, session["id"], {"message": "Hi"})
    assert error["code"] == "model_not_found"
    assert error["message"] == ("Gemini does not have a model named “gemini-9-ultra”. Check the "
                                "model name in Settings, or pick another model.")


def test_a_429_waits_the_retry_delay_gemini_gives_then_answers(app, gemini):
    session = app.new_session()
    gemini.script(Reply(status=429, body=google_error(
        429, "You exceeded your current quota.", details=[retry_info("1s")])),
        Reply(text="Now it works"))
    events = app.chat(session["id"], {"message": "Hi"})
    (retry,) = of(events, "retry")
    assert retry["seconds"] == 1
    assert retry["reason"] == "Gemini is limiting requests (429). Wait 1 second and try again."
    assert texts(events) == "Now it works"


def test_a_long_retry_delay_is_told_instead_of_waited(app, gemini):
    session = app.new_session()
    gemini.script(Reply(status=429, body=google_error(
        429, "You exceeded your current quota.", details=[retry_info("37s")])))
    error = error_of(app, session["id"], {"message": "Hi"})
    assert error["code"] == "provider_rate_limited"
    assert error["message"] == ("Gemini asked to wait 37 seconds before another try. Try again "
                                "after that.")
    assert len(gemini.chat_requests()) == 1


def test_503_is_retried_and_then_told_as_a_sentence(app, gemini):
    session = app.new_session()
    gemini.script(*[Reply(status=503)] * 10)
    error = error_of(app, session["id"], {"message": "Hi"})
    assert error["code"] == "provider_unavailable"
    assert error["message"] == ("Gemini is overloaded or unavailable right now (503). Try again "
                                "in a moment.")
    assert len(gemini.chat_requests()) > 1


def test_an_error_inside_the_stream_keeps_the_partial_reply_marked(app, gemini):
    session = app.new_session()
    gemini.script(Reply(text="Part of it", mode="error_midstream", after=2))  # two words
    events = app.chat(session["id"], {"message": "Hi"})
    (error,) = of(events, "error")
    assert error["message"] == ("Gemini stopped with an error: An internal error has occurred. "
                                "Try again in a moment.")
    messages = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert messages[-1]["status"] == "error"
    assert messages[-1]["content"] == "Part of"
    assert messages[-1]["error"]["message"] == error["message"]


def test_a_blocked_prompt_and_a_reply_stopped_for_safety_are_sentences(app, gemini):
    session = app.new_session()
    blocked = b'data: {"promptFeedback": {"blockReason": "SAFETY"}}\r\n\r\n'
    gemini.script(Reply(segments=[blocked]), Reply(text="Well", finish_reason="SAFETY"))
    error = error_of(app, session["id"], {"message": "Something bad"})
    assert error["message"] == ("Gemini would not answer this message because it could be "
                                "unsafe (SAFETY). Rephrase it, or start a new conversation.")
    error = error_of(app, session["id"], {"message": "Something else"})
    assert error["message"] == ("Gemini stopped its reply because it could be unsafe (SAFETY). "
                                "Rephrase the message and try again.")


def test_a_reply_cut_at_its_token_limit_can_be_continued(app, gemini):
    session = app.new_session()
    gemini.script(Reply(text="One two", finish_reason="MAX_TOKENS"))
    events = app.chat(session["id"], {"message": "Count"})
    assert final(events)["usage"]["finish_reason"] == "length"


def test_a_key_in_an_error_is_never_repeated(app, gemini):
    session = app.new_session()
    gemini.script(Reply(status=400, body=google_error(400, f"Bad field near key={KEY}")))
    error = error_of(app, session["id"], {"message": "Hi"})
    assert KEY not in error["message"]
    assert error["code"] == "provider_bad_request"
