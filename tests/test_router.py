"""The router: model ids, retries only before the first meaningful event, and listing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator, Iterator, Sequence

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
    Retrying,
    TextDelta,
    ToolCall,
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
from openchat_desktop.providers.ollama import OllamaProvider
from openchat_desktop.providers.router import ProviderStatus, Router
from tests.fake_provider import FakeProvider, Reply

REQUEST = ChatRequest("any-model", (ChatMessage("user", "hi"),))
Step = Event | Exception


class Scripted:
    """An in-memory provider: each chat attempt plays the next list of events/exceptions."""

    def __init__(self, config: ProviderConfig, attempts: Sequence[Sequence[Step]] = ()) -> None:
        self.config = config
        self.attempts = [list(steps) for steps in attempts]
        self.requests: list[ChatRequest] = []
        self.closed_streams = 0
        self.closed = False
        self.models: list[ModelInfo] | Exception = [ModelInfo(config.id, "m")]
        self.list_delay = 0.0

    def list_models(self) -> list[ModelInfo]:
        time.sleep(self.list_delay)
        if isinstance(self.models, Exception):
            raise self.models
        return self.models

    def model_info(self, name: str) -> ModelInfo:
        return ModelInfo(self.config.id, name)

    def close(self) -> None:
        self.closed = True

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]:
        self.requests.append(request)
        steps = self.attempts.pop(0)
        try:
            for step in steps:
                if isinstance(step, Exception):
                    raise step
                yield step
        finally:
            self.closed_streams += 1


class RecordingCancel(Cancel):
    """Records the backoff waits instead of sleeping through them."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return super().wait(0)


def router_with(*providers: Scripted, **kwargs: object) -> Router:
    by_id = {p.config.id: p for p in providers}
    return Router([p.config for p in providers], factory=lambda c: by_id[c.id], **kwargs)


def scripted(*attempts: Sequence[Step], provider_id: str = "p", kind: str = "openai") -> Scripted:
    config = ProviderConfig(id=provider_id, kind=kind, base_url="http://127.0.0.1:1/v1")
    return Scripted(config, attempts)


def busy(retry_after: float | None = 0.0) -> ProviderUnavailable:
    return ProviderUnavailable("busy", retry_after=retry_after)


def drain(
    router: Router, cancel: Cancel | None = None, model: str = "p/m"
) -> list[Event | Retrying]:
    return list(router.stream_chat(model, REQUEST, cancel))


# --- model ids -----------------------------------------------------------------------------


def test_resolve_splits_at_the_first_slash():
    provider = scripted(provider_id="ollama", kind="ollama")
    router = router_with(provider)
    assert router.resolve("ollama/hf.co/bartowski/Qwen3-8B-GGUF:Q4_K_M") == (
        provider,
        "hf.co/bartowski/Qwen3-8B-GGUF:Q4_K_M",
    )


def test_resolve_unknown_provider_and_bad_ids():
    router = router_with(scripted(provider_id="ollama"))
    with pytest.raises(ModelNotFound) as unknown:
        router.resolve("lmstudio/qwen3")
    assert unknown.value.message == (
        "There is no provider “lmstudio” for the model “qwen3”. Add it in Settings, or pick "
        "another model."
    )
    for bad in ("llama3.2", "/llama3.2", "ollama/"):
        with pytest.raises(ModelNotFound, match="should look like “ollama/llama3.2”"):
            router.resolve(bad)


def test_the_provider_gets_its_own_model_name():
    provider = scripted([TextDelta("ok"), Finish("stop")])
    drain(router_with(provider), model="p/org/model:tag")
    assert provider.requests[0].model == "org/model:tag"
    assert provider.requests[0].messages == REQUEST.messages


def test_router_is_immutable_and_ids_are_unique():
    router = router_with(scripted())
    with pytest.raises(TypeError):
        router.providers["q"] = scripted(provider_id="q")  # type: ignore[index]
    with pytest.raises(ValueError, match="unique"):
        router_with(scripted(), scripted())


def test_close_closes_every_provider():
    one, two = scripted(provider_id="a"), scripted(provider_id="b")
    with router_with(one, two):
        pass
    assert one.closed and two.closed


# --- retries -------------------------------------------------------------------------------


def test_retries_a_failure_before_the_first_event():
    provider = scripted([busy()], [Usage({"x": 1}), busy()], [TextDelta("hi"), Finish("stop")])
    events = drain(router_with(provider))
    # Each wait is announced before it starts, with the failure's sentence.
    assert events == [Retrying(1, 0.0, "busy"), Usage({"x": 1}), Retrying(2, 0.0, "busy"),
                      TextDelta("hi"), Finish("stop")]
    assert len(provider.requests) == 3
    assert provider.closed_streams == 3


def test_gives_up_after_two_retries():
    provider = scripted([busy()], [busy()], [busy()], [TextDelta("never")])
    with pytest.raises(ProviderUnavailable):
        drain(router_with(provider))
    assert len(provider.requests) == 3


@pytest.mark.parametrize(
    "meaningful", [TextDelta("Par"), ReasoningDelta("hmm"), ToolCall("c", "f", "{}")]
)
def test_never_retries_after_something_meaningful(meaningful):
    provider = scripted([meaningful, busy()], [TextDelta("again")])
    router = router_with(provider)
    received: list[Event] = []
    with pytest.raises(ProviderUnavailable):
        for event in router.stream_chat("p/m", REQUEST):
            received.append(event)
    assert received == [meaningful]
    assert len(provider.requests) == 1


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationFailed("key"),
        ModelNotFound("model"),
        BadRequest("bad"),
        StreamBroken("broken"),
        RateLimited("quota", retryable=False),
    ],
)
def test_does_not_retry_what_waiting_cannot_fix(error):
    provider = scripted([error], [TextDelta("never")])
    with pytest.raises(type(error)):
        drain(router_with(provider))
    assert len(provider.requests) == 1


def test_honours_retry_after():
    provider = scripted([RateLimited("slow down", retry_after=0.25)], [TextDelta("ok")])
    cancel = RecordingCancel()
    assert drain(router_with(provider), cancel) == [Retrying(1, 0.25, "slow down"),
                                                   TextDelta("ok")]
    assert cancel.waits == [0.25]


def test_a_wait_longer_than_the_cap_is_not_waited_for():
    provider = scripted([RateLimited("slow down", retry_after=60, detail="429 Too Many")])
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        drain(router_with(provider))
    assert time.monotonic() - started < 1
    assert caught.value.message == (
        "p asked to wait 60 seconds before another try. Try again after that."
    )
    assert caught.value.retry_after == 60 and caught.value.detail == "429 Too Many"


def test_exponential_backoff_with_jitter():
    provider = scripted([busy(None)], [busy(None)], [TextDelta("ok")])
    cancel = RecordingCancel()
    drain(router_with(provider), cancel)
    first, second = cancel.waits
    assert 0.375 <= first <= 0.5
    assert 0.75 <= second <= 1.0


def test_cancel_during_a_backoff_returns_at_once():
    provider = scripted([busy(5.0)], [TextDelta("too late")])
    router = router_with(provider)
    cancel = Cancel()
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(drain(router, cancel)))
    worker.start()
    time.sleep(0.1)
    started = time.monotonic()
    cancel.cancel()
    worker.join(2)
    assert not worker.is_alive() and time.monotonic() - started < 0.5
    assert outcome == [[Retrying(1, 5.0, "busy")]]  # announced, then cut short
    assert len(provider.requests) == 1


def test_closing_the_stream_closes_the_provider_stream():
    provider = scripted([TextDelta("a"), TextDelta("b"), Finish("stop")])
    stream = router_with(provider).stream_chat("p/m", REQUEST)
    assert next(stream) == TextDelta("a")
    stream.close()
    assert provider.closed_streams == 1


# --- against the fake server ---------------------------------------------------------------


def test_retries_a_busy_ollama_then_streams(fake_server):
    fake_server.script(Reply(status=503, headers={"Retry-After": "0"}), Reply(text="Back again"))
    config = ProviderConfig(id="ollama", kind="ollama", base_url=fake_server.ollama_url)
    with Router([config]) as router:
        events = list(router.stream_chat("ollama/llama3.2:3b", REQUEST))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Back again"
    assert len(fake_server.chat_requests()) == 2


def test_no_retry_after_text_from_a_real_stream(fake_server):
    fake_server.script(Reply(text="a b c", mode="drop", after=1), Reply(text="second"))
    config = ProviderConfig(id="ollama", kind="ollama", base_url=fake_server.ollama_url)
    with Router([config]) as router:
        received: list[Event] = []
        with pytest.raises(StreamBroken):
            for event in router.stream_chat("ollama/llama3.2:3b", REQUEST):
                received.append(event)
    assert received == [TextDelta("a"), WAITING]
    assert len(fake_server.chat_requests()) == 1


def test_a_local_server_that_is_down_is_retried_briefly():
    config = ProviderConfig(id="ollama", kind="ollama", base_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with Router([config]) as router, pytest.raises(ProviderUnavailable, match="not running"):
        list(router.stream_chat("ollama/llama3.2:3b", REQUEST))
    assert time.monotonic() - started < 2


def test_stop_through_the_router_closes_the_upstream_connection(fake_server):
    fake_server.script(Reply(text="a b c", mode="stall", after=1))
    config = ProviderConfig(id="ollama", kind="ollama", base_url=fake_server.ollama_url)
    with Router([config]) as router:
        stream = router.stream_chat("ollama/llama3.2:3b", REQUEST)
        assert next(stream) == TextDelta("a")
        stream.close()
        assert fake_server.disconnected.wait(2)


# --- listing -------------------------------------------------------------------------------


def test_list_all_reports_every_provider(fake_server):
    locked = FakeProvider(models=["gpt-x"], api_key="sk-right").start()
    try:
        configs = [
            ProviderConfig(id="ollama", kind="ollama", base_url=fake_server.ollama_url),
            ProviderConfig(
                id="down",
                kind="openai",
                base_url=f"http://127.0.0.1:{free_port()}/v1",
                models=("pinned",),
            ),
            ProviderConfig(id="locked", kind="openai", base_url=locked.openai_url, api_key="nope"),
        ]
        with Router(configs) as router:
            models, statuses = router.list_all()
    finally:
        locked.stop()
    assert [m.id for m in models] == ["ollama/llama3.2:3b", "ollama/qwen3:8b", "down/pinned"]
    assert [(s.id, s.kind, s.status) for s in statuses] == [
        ("ollama", "ollama", "ok"),
        ("down", "openai", "unreachable"),
        ("locked", "openai", "unauthorized"),
    ]
    assert statuses[0].message is None
    assert statuses[1].message is not None and statuses[1].message.startswith(
        "Could not reach down at http://127.0.0.1:"
    )
    assert statuses[2].message == (
        "locked rejected the API key (401). Check the API key for “locked” in Settings."
    )


def test_list_all_asks_concurrently_and_survives_bugs():
    slow = [scripted(provider_id=f"slow{i}") for i in range(3)]
    for provider in slow:
        provider.list_delay = 0.3
    broken = scripted(provider_id="broken")
    broken.models = KeyError("surprise")
    failing = scripted(provider_id="failing")
    failing.models = ProviderError("odd reply")
    router = router_with(*slow, broken, failing)
    started = time.monotonic()
    models, statuses = router.list_all()
    assert time.monotonic() - started < 0.8
    assert [m.id for m in models] == ["slow0/m", "slow1/m", "slow2/m"]
    assert statuses[3] == ProviderStatus(
        "broken",
        "openai",
        "error",
        "Listing the models of “broken” failed unexpectedly (KeyError('surprise')).",
    )
    assert statuses[4] == ProviderStatus("failing", "openai", "error", "odd reply")
    assert Router([]).list_all() == ([], [])


def test_ollama_provider_is_what_the_router_builds(fake_server):
    config = ProviderConfig(id="ollama", kind="ollama", base_url=fake_server.ollama_url)
    with Router([config]) as router:
        assert isinstance(router.providers["ollama"], OllamaProvider)


@pytest.fixture
def fake_server() -> Iterator[FakeProvider]:
    with FakeProvider(models=["llama3.2:3b", "qwen3:8b"]) as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
