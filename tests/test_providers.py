"""Both providers against the fake server: streams, failures, Stop, requests and model lists."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openchat_desktop.providers.base import (
    WAITING,
    Cancel,
    ChatMessage,
    ChatRequest,
    Event,
    Finish,
    ModelInfo,
    ProviderConfig,
    ReasoningDelta,
    TextDelta,
    Usage,
)
from openchat_desktop.providers.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamBroken,
)
from openchat_desktop.providers.kinds import build_provider
from openchat_desktop.providers.ollama import OllamaProvider
from openchat_desktop.providers.openai_compat import OpenAICompatProvider
from openchat_desktop.providers.transport import LOCAL_RETRY_AFTER
from tests.fake_provider import FakeProvider, Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 8


pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b", "llava:7b",
    capabilities={
        "qwen3:8b": ["completion", "thinking"],
        "llava:7b": ["completion", "vision"],
    },
    context_lengths={"qwen3:8b": 40960},
)


def config_for(fake: FakeProvider, kind: str, **overrides: object) -> ProviderConfig:
    if kind == "ollama":
        return ProviderConfig(id="ollama", kind="ollama", base_url=fake.ollama_url, **overrides)
    return ProviderConfig(id="lm", kind="openai", base_url=fake.openai_url, **overrides)


@pytest.fixture(params=["ollama", "openai"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def provider(fake: FakeProvider, kind: str) -> Iterator[OllamaProvider | OpenAICompatProvider]:
    with build_provider(config_for(fake, kind)) as made:  # type: ignore[attr-defined]
        yield made


def ask(text: str = "hi", model: str = "llama3.2:3b", **kwargs: object) -> ChatRequest:
    return ChatRequest(model, (ChatMessage("user", text),), **kwargs)  # type: ignore[arg-type]


def collect(events: Iterator[Event]) -> tuple[list[Event], ProviderError | None]:
    received: list[Event] = []
    try:
        for event in events:
            received.append(event)
    except ProviderError as exc:
        return received, exc
    return received, None


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def last_body(fake: FakeProvider) -> dict:
    return fake.chat_requests()[-1].body  # type: ignore[return-value]


# --- normal streams ------------------------------------------------------------------------


def test_normal_stream(fake, provider, kind):
    fake.script(Reply(text="Hello there world", reasoning="Let me see."))
    events = list(provider.stream_chat(ask("hi", model="qwen3:8b")))
    assert text_of(events) == "Hello there world"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Let me see."
    usage, finish = events[-2:]
    assert finish == Finish("stop")
    assert isinstance(usage, Usage)
    assert (usage.prompt_tokens, usage.completion_tokens) == (1, 6)
    if kind == "ollama":
        assert usage.generation_seconds == pytest.approx(0.4)
    path = fake.chat_requests()[-1].path
    assert path == ("/api/chat" if kind == "ollama" else "/v1/chat/completions")


def test_slow_stream_arrives_piece_by_piece(fake, provider):
    fake.script(Reply(text="one two three four", mode="slow", delay=0.05))
    stamps = []
    for event in provider.stream_chat(ask()):
        if isinstance(event, TextDelta):
            stamps.append(time.monotonic())
    assert len(stamps) == 4
    assert stamps[-1] - stamps[0] >= 0.12  # not buffered until the end


def test_connection_is_kept_alive_between_replies(fake, provider):
    for _ in range(3):
        assert text_of(list(provider.stream_chat(ask()))) == "Hello world"
    assert fake.connections_accepted == 1


def test_echo_reply_uses_the_last_user_message(fake, provider):
    fake.script(Reply(echo=True))
    request = ChatRequest(
        "llama3.2:3b",
        (
            ChatMessage("system", "be brief"),
            ChatMessage("user", "first"),
            ChatMessage("assistant", "ok"),
            ChatMessage("user", "second question"),
        ),
    )
    assert text_of(list(provider.stream_chat(request))) == "second question"
    assert [m["role"] for m in last_body(fake)["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


def test_json_document_instead_of_a_stream(fake):
    document = {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Whole"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    fake.script(
        Reply(
            segments=[json.dumps(document).encode()], headers={"Content-Type": "application/json"}
        )
    )
    with OpenAICompatProvider(config_for(fake, "openai")) as provider:
        events = list(provider.stream_chat(ask()))
    assert text_of(events) == "Whole" and events[-1] == Finish("stop")


# --- failures mid-stream -------------------------------------------------------------------


def test_stall_hits_the_idle_timeout(fake, kind):
    fake.script(Reply(text="a b c d", mode="stall", after=2))
    with build_provider(config_for(fake, kind, idle_timeout=0.3)) as provider:
        started = time.monotonic()
        events, error = collect(provider.stream_chat(ask()))
    assert text_of(events) == "a b"
    assert isinstance(error, StreamBroken)
    assert error.message == (
        f"{'Ollama' if kind == 'ollama' else 'lm'} stopped sending for 0.3 s, so the reply "
        "was cut off. Try again."
    )
    assert 0.25 < time.monotonic() - started < 2
    assert fake.disconnected.wait(2)


def test_stall_before_the_first_byte_hits_the_first_byte_timeout(fake):
    fake.script(Reply(mode="stall", after=0))
    config = config_for(fake, "ollama", first_byte_timeout=0.3, idle_timeout=5)
    with OllamaProvider(config) as provider:
        events, error = collect(provider.stream_chat(ask()))
    assert events == []
    assert isinstance(error, ProviderUnavailable) and not error.retryable
    assert error.message.startswith("Ollama did not start answering within 0.3 s.")


def test_idle_timeout_also_applies_after_connection_close(fake):
    # With `Connection: close` http.client lets go of the socket early; the timeout must
    # still move from first-byte to idle.
    fake.script(Reply(text="a b c", mode="stall", after=1, headers={"Connection": "close"}))
    config = config_for(fake, "ollama", first_byte_timeout=30, idle_timeout=0.3)
    with OllamaProvider(config) as provider:
        started = time.monotonic()
        events, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, StreamBroken) and text_of(events) == "a"
    assert time.monotonic() - started < 5


def test_released_stall_finishes_normally(fake, provider):
    fake.script(Reply(text="a b c", mode="stall", after=1))
    stream = provider.stream_chat(ask())
    first = next(stream)
    fake.release()
    rest = list(stream)
    assert text_of([first, *rest]) == "a b c" and rest[-1] == Finish("stop")


def test_dropped_connection(fake, provider):
    fake.script(Reply(text="a b c d", mode="drop", after=2))
    events, error = collect(provider.stream_chat(ask()))
    assert text_of(events) == "a b"
    assert isinstance(error, StreamBroken)
    assert "cut off" in error.message and "Try again" in error.message


def test_end_of_stream_without_end_marker(fake, kind):
    if kind == "ollama":
        body = [b'{"message":{"role":"assistant","content":"Half"},"done":false}\n']
        content_type = "application/x-ndjson"
    else:
        body = [b'data: {"choices":[{"index":0,"delta":{"content":"Half"}}]}\n\n']
        content_type = "text/event-stream"
    fake.script(Reply(segments=body, headers={"Content-Type": content_type}))
    with build_provider(config_for(fake, kind)) as provider:
        events, error = collect(provider.stream_chat(ask()))
    assert text_of(events) == "Half"
    assert isinstance(error, StreamBroken)
    label = "Ollama" if kind == "ollama" else "lm"
    assert error.message == (
        f"The reply was cut off: {label} closed the stream before finishing. Try again."
    )


def test_error_in_the_middle_of_the_stream(fake, provider, kind):
    fake.script(Reply(text="a b c", mode="error_midstream", after=1))
    events, error = collect(provider.stream_chat(ask()))
    assert text_of(events) == "a"
    if kind == "ollama":
        # A bare error string has no type: the stream broke.
        assert isinstance(error, StreamBroken)
        assert error.message == (
            "Ollama stopped with an error: an error was encountered while running the model. "
            "Try again."
        )
    else:
        assert isinstance(error, ProviderUnavailable)  # type server_error
        assert error.detail is not None and "server_error" in error.detail
    assert not any(isinstance(e, Finish) for e in events)


def test_malformed_line_breaks_the_stream(fake, provider):
    fake.script(Reply(text="a b c", mode="malformed", after=1))
    events, error = collect(provider.stream_chat(ask()))
    assert text_of(events) == "a"
    assert isinstance(error, StreamBroken)
    assert error.detail is not None and "not json" in error.detail


# --- HTTP errors before the stream ---------------------------------------------------------


def test_unauthorized(fake, kind):
    fake.script(Reply(status=401))
    with build_provider(config_for(fake, kind, api_key="sk-wrong")) as provider:
        _, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, AuthenticationFailed) and not error.retryable
    label = "Ollama" if kind == "ollama" else "lm"
    assert error.message == (
        f"{label} rejected the API key (401). Check the API key for "
        f"“{'ollama' if kind == 'ollama' else 'lm'}” in Settings."
    )
    assert error.detail is not None and error.detail.startswith("401 Unauthorized: ")


def test_ollama_unauthorized_without_a_key_means_sign_in(fake):
    fake.script(Reply(status=401))
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        _, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, AuthenticationFailed)
    assert "`ollama signin`" in error.message


def test_unknown_model(fake, provider, kind):
    _, error = collect(provider.stream_chat(ask(model="nope:1b")))
    assert isinstance(error, ModelNotFound)
    if kind == "ollama":
        assert error.message == (
            "Ollama does not have the model “nope:1b”. Pull it with `ollama pull nope:1b`, "
            "or pick another model."
        )
    else:
        assert error.message.startswith("lm does not have a model named “nope:1b”.")
    assert error.detail is not None and "nope:1b" in error.detail


def test_rate_limited_with_retry_after(fake, provider):
    fake.script(Reply(status=429, headers={"Retry-After": "3"}))
    _, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, RateLimited)
    assert error.retryable and error.retry_after == 3.0
    assert error.message.endswith("(429). Wait 3 seconds and try again.")


def test_out_of_quota_is_not_retried(fake):
    body = {
        "error": {
            "message": "You exceeded your current quota.",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    fake.script(Reply(status=429, body=body))
    with OpenAICompatProvider(config_for(fake, "openai")) as provider:
        _, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, RateLimited) and not error.retryable
    assert "out of quota" in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_server_errors_are_retryable(fake, provider, status):
    fake.script(Reply(status=status))
    _, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, ProviderUnavailable) and error.retryable
    assert "Try again" in error.message or "try again" in error.message


def test_html_error_page_uses_the_status_line(fake, provider):
    fake.script(Reply(status=502, body="<html><h1>Bad Gateway</h1></html>"))
    _, error = collect(provider.stream_chat(ask()))
    assert error is not None and error.detail == "502 Bad Gateway: 502 Bad Gateway"


def test_bad_request_keeps_the_servers_words(fake):
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        _, error = collect(provider.stream_chat(ask(think=True)))  # llama3.2 cannot think
    assert isinstance(error, BadRequest)
    assert error.message.startswith(
        'Ollama refused the request (400): "llama3.2:3b" does not support thinking.'
    )


def test_redirect_is_not_followed(fake, provider, kind):
    path = "/api/chat" if kind == "ollama" else "/v1/chat/completions"
    fake.fail(path, status=308, headers={"Location": "https://elsewhere.example/v1"})
    _, error = collect(provider.stream_chat(ask()))
    assert error is not None
    assert "redirected the request to https://elsewhere.example/v1" in error.message
    assert len(fake.requests) == 1


def test_connection_refused(kind):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}" + ("" if kind == "ollama" else "/v1")
    config = ProviderConfig(id="local", kind=kind, base_url=url, connect_timeout=1)
    with build_provider(config) as provider:
        _, error = collect(provider.stream_chat(ask()))
    assert isinstance(error, ProviderUnavailable) and error.retryable
    assert error.retry_after == LOCAL_RETRY_AFTER
    if kind == "ollama":
        assert error.message == (
            f"Ollama is not running at {url}. Start it (run `ollama serve`), or pick another model."
        )
    else:
        assert error.message == (
            f"Could not reach local at {url}. Check the address and that the server is running."
        )


# --- Stop ------------------------------------------------------------------------------------


def test_closing_the_generator_closes_the_upstream_connection(fake, provider):
    fake.script(Reply(text="a b c", mode="stall", after=1))
    stream = provider.stream_chat(ask())
    assert next(event for event in stream if event != WAITING) == TextDelta("a")
    assert fake.open_streams == 1
    stream.close()
    assert fake.disconnected.wait(2)
    assert fake.wait_idle(2)


def test_cancel_from_another_thread_stops_a_blocked_read(fake, provider):
    fake.script(Reply(text="a b c", mode="stall", after=1))
    cancel = Cancel()
    received: list[Event] = []
    outcome: list[object] = []

    def consume() -> None:
        try:
            for event in provider.stream_chat(ask(), cancel):
                received.append(event)
        except Exception as exc:  # recorded for the assertion below
            outcome.append(exc)
        else:
            outcome.append("ended")

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 2
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    cancel.cancel()
    worker.join(2)
    assert not worker.is_alive() and time.monotonic() - started < 1
    # The stall came after "a": the provider said it was waiting before it blocked.
    assert outcome == ["ended"] and [e for e in received if e != WAITING] == [TextDelta("a")]
    assert received[-1] == WAITING
    assert fake.disconnected.wait(2)


# --- request bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("think", [None, True, False, "high"])
def test_ollama_sends_think_only_when_set(fake, think):
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        list(provider.stream_chat(ask(model="qwen3:8b", think=think)))
    body = last_body(fake)
    if think is None:
        assert "think" not in body
    else:
        assert body["think"] == think
    assert body["stream"] is True
    assert "options" not in body  # no num_ctx (or anything) the request did not ask for


def test_ollama_options_and_images(fake):
    request = ChatRequest(
        "llava:7b",
        (ChatMessage("user", "what is this?", images=(PNG,)),),
        options={"temperature": 0.2, "context_length": 8192, "keep_alive": "10m"},
    )
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        list(provider.stream_chat(request))
    body = last_body(fake)
    assert body["messages"] == [
        {"role": "user", "content": "what is this?", "images": [base64.b64encode(PNG).decode()]}
    ]
    assert body["options"] == {"temperature": 0.2, "num_ctx": 8192}
    assert body["keep_alive"] == "10m"


@pytest.mark.parametrize(
    ("think", "effort"), [(None, None), (True, None), (False, None), ("low", "low")]
)
def test_openai_sends_reasoning_effort_only_for_a_level(fake, think, effort):
    with OpenAICompatProvider(config_for(fake, "openai")) as provider:
        list(provider.stream_chat(ask(think=think)))
    body = last_body(fake)
    assert body.get("reasoning_effort") == effort
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert set(body) <= {"model", "messages", "stream", "stream_options", "reasoning_effort"}


def test_openai_body_images_options_and_headers(fake):
    config = config_for(
        fake, "openai", api_key="sk-test", headers=(("HTTP-Referer", "https://openchat.local"),)
    )
    request = ChatRequest(
        "llava:7b",
        (ChatMessage("system", "be kind"), ChatMessage("user", "two images", images=(PNG, JPEG))),
        options={"temperature": 0.5, "max_tokens": 64, "context_length": 4096, "top_k": 3},
    )
    with OpenAICompatProvider(config) as provider:
        list(provider.stream_chat(request))
    path, body, headers = fake.chat_requests()[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert headers["HTTP-Referer"] == "https://openchat.local"
    assert body["messages"] == [
        {"role": "system", "content": "be kind"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "two images"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
                },
                {
                    "type": "image_url",
                    "image_url": {
                        "url": "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
                    },
                },
            ],
        },
    ]
    assert body["temperature"] == 0.5 and body["max_tokens"] == 64 and body["top_k"] == 3
    assert "context_length" not in body and "num_ctx" not in body


def test_a_proxy_from_the_environment_never_sees_local_traffic(fake, provider, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert text_of(list(provider.stream_chat(ask()))) == "Hello world"


def test_no_authorization_header_without_a_key(fake, provider):
    list(provider.stream_chat(ask()))
    assert "Authorization" not in fake.chat_requests()[-1].headers


def test_bare_think_models_split_a_closing_tag(fake):
    fake.script(Reply(chunks=["Thinking it ", "over.</th", "ink>\n\nAnswer."]))
    config = config_for(fake, "openai", bare_think_models=("llama3.2*",))
    with OpenAICompatProvider(config) as provider:
        events = list(provider.stream_chat(ask()))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Thinking it over."
    assert text_of(events) == "\n\nAnswer."


# --- models --------------------------------------------------------------------------------


def test_ollama_list_models_with_capabilities_and_context(fake):
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        models = provider.list_models()
        by_name = {m.name: m for m in models}
        assert list(by_name) == ["llama3.2:3b", "qwen3:8b", "llava:7b"]
        assert by_name["qwen3:8b"].capabilities == ("completion", "thinking")
        assert by_name["qwen3:8b"].context_length == 40960
        assert by_name["llava:7b"].capabilities == ("completion", "vision")
        assert by_name["llama3.2:3b"].context_length == 8192
        assert by_name["llama3.2:3b"].details["num_ctx"] == 4096
        assert by_name["llama3.2:3b"].id == "ollama/llama3.2:3b"
        shows = sum(1 for r in fake.requests if r.path == "/api/show")
        assert shows == 3

        assert provider.list_models() == models  # cached by digest: no /api/show this time
        assert sum(1 for r in fake.requests if r.path == "/api/show") == 3

        fake.context_lengths["llama3.2:3b"] = 131072  # a new digest, as after a re-pull
        again = {m.name: m for m in provider.list_models()}
        assert again["llama3.2:3b"].context_length == 131072
        assert sum(1 for r in fake.requests if r.path == "/api/show") == 4


def test_ollama_model_info_and_missing_model(fake):
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        info = provider.model_info("qwen3:8b")
        assert (info.capabilities, info.context_length) == (("completion", "thinking"), 40960)
        with pytest.raises(ModelNotFound) as caught:
            provider.model_info("ghost:1b")
    assert "`ollama pull ghost:1b`" in caught.value.message


def test_ollama_list_models_when_show_fails_for_one(fake):
    fake.fail("/api/show", status=500)
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        models = provider.list_models()
    assert [m.capabilities for m in models] == [("completion",)] * 3


def test_openai_list_models_merges_the_settings(fake):
    config = config_for(fake, "openai", models=("custom-model", "qwen3:8b"))
    with OpenAICompatProvider(config) as provider:
        names = [m.name for m in provider.list_models()]
        assert names == ["custom-model", "qwen3:8b", "llama3.2:3b", "llava:7b"]
        fake.fail("/v1/models", status=404)
        only = provider.list_models()
        assert only == [ModelInfo("lm", "custom-model"), ModelInfo("lm", "qwen3:8b")]
        assert provider.model_info("custom-model") == ModelInfo("lm", "custom-model")
        assert provider.model_info("unlisted") == ModelInfo("lm", "unlisted")


def test_openai_list_models_with_a_rejected_key(fake):
    fake.api_key = "sk-right"
    with OpenAICompatProvider(config_for(fake, "openai", api_key="sk-wrong")) as provider:
        with pytest.raises(AuthenticationFailed):
            provider.list_models()
    with OpenAICompatProvider(config_for(fake, "openai", api_key="sk-right")) as provider:
        assert len(provider.list_models()) == 3


def test_pull_running_and_delete(fake):
    fake.registry = ["phi4:14b"]
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        progress = list(provider.pull("phi4:14b"))
        assert progress[0] == {"status": "pulling manifest"}
        assert progress[-1] == {"status": "success"}
        assert any(p.get("completed") == 1000 for p in progress)
        assert "phi4:14b" in fake.models

        with pytest.raises(ModelNotFound) as caught:
            list(provider.pull("ghost:1b"))
        assert caught.value.detail == "pull model manifest: file does not exist"

        list(provider.stream_chat(ask(model="phi4:14b")))
        running = provider.running()
        assert [m["name"] for m in running] == ["phi4:14b"]
        assert running[0]["context_length"] == 4096

        provider.delete("phi4:14b")
        assert "phi4:14b" not in fake.models
        with pytest.raises(ModelNotFound) as gone:
            provider.delete("phi4:14b")
    assert gone.value.message == "Ollama has no model “phi4:14b” to delete. Refresh the model list."
    assert fake.requests[-1].body == {"model": "phi4:14b"}


def test_pull_can_be_stopped(fake):
    fake.pull_delay = 0.05
    with OllamaProvider(config_for(fake, "ollama")) as provider:
        pull = provider.pull("big:70b")
        assert next(pull) == {"status": "pulling manifest"}
        pull.close()
    assert fake.disconnected.wait(2)
    assert "big:70b" not in fake.models


def test_build_provider_by_kind(fake):
    with build_provider(config_for(fake, "ollama")) as ollama:  # type: ignore[attr-defined]
        assert isinstance(ollama, OllamaProvider)
    with build_provider(config_for(fake, "openai")) as compat:  # type: ignore[attr-defined]
        assert isinstance(compat, OpenAICompatProvider)
    with pytest.raises(ValueError, match="use one of: ollama, openai"):
        build_provider(ProviderConfig(id="x", kind="gopher", base_url="http://127.0.0.1:1"))


def test_what_has_already_arrived_is_handed_on_in_one_piece(fake, provider):
    # The fake writes one HTTP chunk per word; once they all wait in the socket, they reach
    # the parser in pieces of many words (the last 8 KiB the HTTP client buffers go on one
    # chunk per read), not one piece per word.
    words = " ".join(f"w{index}" for index in range(300))
    fake.script(Reply(text=words))
    stream = provider.stream_chat(ask())
    first = next(event for event in stream if isinstance(event, TextDelta))
    assert fake.wait_idle(5)  # everything else is written by now
    rest = list(stream)
    text = first.text + "".join(e.text for e in rest if isinstance(e, TextDelta))
    assert text == words
    assert rest.count(WAITING) < 150


def test_a_whole_body_then_a_closed_connection_is_a_complete_reply():
    # An HTTP/1.0 server: the body has a length and the connection closes after it, which
    # takes the socket away while the last piece is being read.
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            events = [{"choices": [{"index": 0, "delta": {"content": "Hi from afar"}}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
            body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = ProviderConfig(id="old", kind="openai",
                                base_url=f"http://127.0.0.1:{server.server_port}/v1")
        with build_provider(config) as provider:  # type: ignore[attr-defined]
            events, error = collect(provider.stream_chat(ask()))
    finally:
        server.shutdown()
        server.server_close()
    assert error is None
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hi from afar"
