"""The conventions people expect of an OpenAI-compatible client: an address without /v1 is
found at /v1 (and the person told where), stream_options dropped for a server that refuses
it, OpenRouter's attribution headers. Against the fake server, a real HTTP server that serves
the OpenAI-compatible API under /v1 only, as LM Studio, llama.cpp and vLLM do."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openchat_desktop.providers.addresses import with_v1
from openchat_desktop.providers.base import ChatMessage, ChatRequest, ProviderConfig, TextDelta
from openchat_desktop.providers.errors import BadRequest, ProviderError
from openchat_desktop.providers.openai_compat import (
    APP_TITLE,
    OpenAICompatProvider,
    UsageRefusals,
    attribution_headers,
    project_site,
    refuses_stream_options,
)

from .fake_provider import FakeProvider, Reply
from .support import provider_settings, texts

# What Mistral's API answers to a field it does not take, `stream_options` among them.
MISTRAL_422 = {
    "object": "error",
    "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "stream_options"],
                            "msg": "Extra inputs are not permitted",
                            "input": {"include_usage": True}}]},
    "type": "invalid_request_message_error",
    "param": None,
    "code": None,
}


def ask(text: str = "Hi") -> ChatRequest:
    return ChatRequest(model="llama3.2:3b", messages=(ChatMessage("user", text),))


def paths(fake: FakeProvider) -> list[str]:
    return [received.path for received in fake.requests]


# --- the /v1 retry ---------------------------------------------------------------------------


def test_with_v1_appends_it_once():
    assert with_v1("http://127.0.0.1:1234") == "http://127.0.0.1:1234/v1"
    assert with_v1("http://127.0.0.1:1234/") == "http://127.0.0.1:1234/v1"
    assert with_v1("https://host/proxy") == "https://host/proxy/v1"
    assert with_v1("http://127.0.0.1:1234/v1") is None
    assert with_v1("http://127.0.0.1:1234/V1/") is None


def test_test_connection_names_the_address_that_works(server, fake):
    response = server.post("/api/providers/test",
                           {"id": "lmstudio", "kind": "openai", "base_url": fake.url})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["models"] == ["llama3.2:3b", "qwen3:8b"]
    assert body["address"] == fake.openai_url
    assert f"The server answers at {fake.openai_url}" in body["message"]
    assert "use that address" in body["message"]
    assert paths(fake)[-2:] == ["/models", "/v1/models"]


def test_a_server_that_lists_nothing_says_where_to_name_models(server):
    with FakeProvider(models=[]) as empty:
        listed_nothing = server.post(
            "/api/providers/test", {"id": "bare", "kind": "openai", "base_url": empty.openai_url}
        ).json()
        assert listed_nothing["status"] == "ok"
        assert listed_nothing["address"] is None
        assert f"lists no models at {empty.openai_url}" in listed_nothing["message"]
        assert "Models" in listed_nothing["message"]
        # Nothing at the address, nothing at /v1 after it: not "ok, 0 models" in silence.
        nowhere = f"{empty.url}/nothing"
        at_neither = server.post(
            "/api/providers/test", {"id": "bare", "kind": "openai", "base_url": nowhere}
        ).json()
        assert at_neither["address"] is None
        assert f"lists no models at {nowhere}" in at_neither["message"]
        assert paths(empty)[-2:] == ["/nothing/models", "/nothing/v1/models"]
        # Models named in the entry are the answer: nothing to say.
        named = server.post("/api/providers/test", {"id": "bare", "kind": "openai",
                                                    "base_url": empty.openai_url,
                                                    "models": ["m"]}).json()
        assert named["message"] is None


def test_a_chat_through_an_address_without_v1_works(start_server, fake):
    fake.default = Reply(echo=True)
    app = start_server(provider_settings(("lmstudio", "openai", fake.url),
                                         default_model="lmstudio/llama3.2:3b"))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "Hello there"})
    assert events[-1][0] == "done", events
    assert texts(events) == "Hello there"
    assert fake.chat_requests()[-1].path == "/v1/chat/completions"
    status = next(p for p in app.get("/api/models").json()["providers"] if p["id"] == "lmstudio")
    assert status["status"] == "ok"
    assert f"The server answers at {fake.openai_url}" in status["message"]


def test_the_provider_finds_v1_on_its_first_chat(fake):
    fake.default = Reply(echo=True)
    config = ProviderConfig(id="lmstudio", kind="openai", base_url=fake.url)
    with OpenAICompatProvider(config) as provider:
        events = list(provider.stream_chat(ask("Hello")))
        assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello"]
        assert provider.address == fake.openai_url
        assert provider.notice is not None and fake.openai_url in provider.notice
        assert paths(fake) == ["/chat/completions", "/v1/models", "/v1/chat/completions"]
        list(provider.stream_chat(ask("Again")))
        assert paths(fake)[-1] == "/v1/chat/completions"
        assert len(fake.requests) == 4  # found once, used from then on


def test_a_missing_model_is_not_taken_for_a_missing_v1(fake):
    config = ProviderConfig(id="lm", kind="openai", base_url=fake.openai_url)
    with OpenAICompatProvider(config) as provider, pytest.raises(ProviderError) as caught:
        list(provider.stream_chat(replace(ask(), model="no-such-model")))
    assert caught.value.code == "model_not_found"
    assert paths(fake) == ["/v1/chat/completions"]


# --- stream_options dropped and remembered -----------------------------------------------------


def test_a_server_refusing_stream_options_gets_it_no_more(start_server, fake):
    fake.default = Reply(echo=True)
    fake.script(Reply(status=422, body=MISTRAL_422))
    settings = provider_settings(("mistral", "openai", fake.openai_url),
                                 default_model="mistral/llama3.2:3b")
    app = start_server(settings)
    session = app.new_session()
    first = app.chat(session["id"], {"message": "One"})
    assert first[-1][0] == "done", first
    assert texts(first) == "One"
    assert first[-1][1]["message"]["status"] == "complete"
    sent = [r.body for r in fake.chat_requests()]
    assert [("stream_options" in body) for body in sent] == [True, False]
    assert sent[0]["messages"] == sent[1]["messages"]
    second = app.chat(session["id"], {"message": "Two"})
    assert texts(second) == "Two"
    assert "stream_options" not in fake.chat_requests()[-1].body
    # A settings change builds new providers: the refusal is still remembered.
    changed = app.patch("/api/settings", {"theme": "light"})
    assert changed.status_code == 200, changed.text
    third = app.chat(session["id"], {"message": "Three"})
    assert texts(third) == "Three"
    assert len(fake.chat_requests()) == 4
    assert "stream_options" not in fake.chat_requests()[-1].body


def test_a_refusal_for_another_reason_is_reported_and_not_remembered(fake):
    refusals = UsageRefusals()
    config = ProviderConfig(id="mistral", kind="openai", base_url=fake.openai_url)
    other = {"object": "error", "message": "frequency_penalty is not supported",
             "type": "invalid_request_error", "param": None, "code": None}
    fake.script(Reply(status=422, body=other), Reply(status=422, body=other))
    with OpenAICompatProvider(config, refusals=refusals) as provider:
        with pytest.raises(BadRequest) as caught:
            list(provider.stream_chat(ask()))
        assert "frequency_penalty is not supported" in caught.value.message
        assert [("stream_options" in r.body) for r in fake.chat_requests()] == [True, False]
        assert provider.sends_usage()
        list(provider.stream_chat(ask()))
        assert "stream_options" in fake.chat_requests()[-1].body


def test_a_400_counts_only_when_it_names_the_field():
    naming = BadRequest("refused", detail="400 Bad Request: Unrecognized request argument "
                                          "supplied: stream_options")
    other = BadRequest("refused", detail="400 Bad Request: temperature must be at most 1")
    mistral = BadRequest("refused", detail="422 Unprocessable Entity: Extra inputs are not "
                                           "permitted")
    assert refuses_stream_options(naming)
    assert refuses_stream_options(mistral)
    assert not refuses_stream_options(other)
    assert not refuses_stream_options(ProviderError("x", detail="422 stream_options"))


def test_a_400_naming_stream_options_is_sent_again_without_it(fake):
    fake.default = Reply(echo=True)
    fake.script(Reply(status=400, body={"error": {
        "message": "Unrecognized request argument supplied: stream_options",
        "type": "invalid_request_error", "param": None, "code": None}}))
    config = ProviderConfig(id="strict", kind="openai", base_url=fake.openai_url)
    with OpenAICompatProvider(config, refusals=UsageRefusals()) as provider:
        events = list(provider.stream_chat(ask("Fine")))
        assert [e.text for e in events if isinstance(e, TextDelta)] == ["Fine"]
        assert not provider.sends_usage()


# --- OpenRouter's attribution ------------------------------------------------------------------


def openrouter(**overrides: object) -> ProviderConfig:
    return ProviderConfig(id="openrouter", kind="openai",
                          base_url="https://openrouter.ai/api/v1", **overrides)


def test_attribution_headers_for_openrouter_only():
    site = "https://example.org/openchat"
    hosts = {"openrouter.ai"}
    assert dict(attribution_headers(openrouter(), hosts, site)) == {
        "X-Title": APP_TITLE, "HTTP-Referer": site}
    assert dict(attribution_headers(openrouter(), hosts, None)) == {"X-Title": APP_TITLE}
    sub = replace(openrouter(), base_url="https://eu.openrouter.ai/api/v1")
    assert dict(attribution_headers(sub, hosts, site))["X-Title"] == APP_TITLE
    assert attribution_headers(openrouter(attribution=False), hosts, site) == ()
    elsewhere = ProviderConfig(id="groq", kind="openai", base_url="https://api.groq.com/openai/v1")
    assert attribution_headers(elsewhere, hosts, site) == ()
    lookalike = replace(elsewhere, base_url="https://notopenrouter.ai/api/v1")
    assert attribution_headers(lookalike, hosts, site) == ()
    # The person's own headers win, whatever their case.
    own = openrouter(headers=(("x-title", "My Lab"),))
    assert attribution_headers(own, hosts, site) == (("HTTP-Referer", site), ("x-title", "My Lab"))


@pytest.mark.parametrize("attribution", [True, False])
def test_attribution_goes_out_on_every_request(fake, attribution):
    config = ProviderConfig(id="openrouter", kind="openai", base_url=fake.openai_url,
                            attribution=attribution)
    # The fake stands in for openrouter.ai: its host is the one that gets the headers.
    with OpenAICompatProvider(config, attributed_hosts={"127.0.0.1"}) as provider:
        provider.list_models()
        list(provider.stream_chat(ask()))
    assert len(fake.requests) == 2
    for received in fake.requests:
        assert received.headers.get("X-Title") == (APP_TITLE if attribution else None)
        site = project_site() if attribution else None
        assert received.headers.get("HTTP-Referer") == site


def test_other_hosts_get_no_attribution(fake):
    config = ProviderConfig(id="lm", kind="openai", base_url=fake.openai_url)
    with OpenAICompatProvider(config) as provider:
        list(provider.stream_chat(ask()))
    assert "X-Title" not in fake.requests[-1].headers


def test_attribution_false_is_a_setting(start_server, fake, tmp_path):
    app = start_server(
        f'[[providers]]\nid = "openrouter"\nkind = "openai"\nbase_url = "{fake.openai_url}"\n'
        "attribution = false\n"
    )
    stored = app.get("/api/settings").json()["settings"]["providers"][0]
    assert stored["attribution"] is False
    assert app.runtime.settings.current.providers[0].attribution is False
    # Saved back as the page shows it, the entry keeps it; a default stays unwritten.
    saved = app.patch("/api/settings", {"providers": [stored, {**stored, "id": "other",
                                                               "attribution": True}]})
    assert saved.status_code == 200, saved.text
    assert app.settings_path.read_text().count("attribution") == 1
    wrong = start_server(
        f'[[providers]]\nid = "openrouter"\nkind = "openai"\nbase_url = "{fake.openai_url}"\n'
        'attribution = "no"\n',
        data_dir=tmp_path / "other",
    )
    problem = wrong.get("/api/settings").json()["problem"]
    assert "attribution" in problem["message"] and "true or false" in problem["message"]


def test_a_validation_report_reads_as_words_not_as_code(fake):
    """Mistral answers a field it does not take with a validation report as its `message`:
    the person reads what was refused, not a dump of the report."""
    config = ProviderConfig(id="mistral", kind="openai", base_url=fake.openai_url)
    report = {**MISTRAL_422, "message": {"detail": [
        {"type": "extra_forbidden", "loc": ["body", "top_k"],
         "msg": "Extra inputs are not permitted", "input": 40}]}}
    fake.script(Reply(status=422, body=report), Reply(status=422, body=report))
    with OpenAICompatProvider(config) as provider, pytest.raises(BadRequest) as caught:
        list(provider.stream_chat(ask()))
    assert "Extra inputs are not permitted (top_k)" in caught.value.message
    assert "{" not in caught.value.message and "'detail'" not in caught.value.message
