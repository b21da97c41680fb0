"""Fallback models in the router: the next model answers when one fails before it delivered
anything and its retries did not help; never after the first token, never after Stop."""

from __future__ import annotations

import pytest

from openchat_desktop.providers.base import (
    Cancel,
    FallingBack,
    Finish,
    ReasoningDelta,
    Retrying,
    TextDelta,
    ToolCall,
)
from openchat_desktop.providers.errors import (
    AuthenticationFailed,
    ProviderError,
    ProviderUnavailable,
    StreamBroken,
)
from tests.test_router import REQUEST, RecordingCancel, router_with, scripted

DOWN = "Could not connect to the server at 127.0.0.1:1."
OVERLOADED = "Anthropic is overloaded right now. Try again in a moment."


def unreachable() -> ProviderUnavailable:
    return ProviderUnavailable(DOWN)


def overloaded() -> ProviderUnavailable:
    # Anthropic's 529: retryable, and retried first.
    return ProviderUnavailable(OVERLOADED, detail="529 overloaded_error")


def answer(text: str = "Hello") -> list:
    return [TextDelta(text), Finish("stop")]


def test_an_unreachable_model_hands_the_request_to_its_fallback_after_its_retries():
    first = scripted([unreachable()], [unreachable()], [unreachable()], provider_id="a")
    second = scripted(answer(), provider_id="b")
    router = router_with(first, second, max_retries=2)
    model = router.model("a/big", ["b/small"])
    events = list(router.stream_chat(model, REQUEST, RecordingCancel()))
    assert [e for e in events if isinstance(e, Retrying)] != []
    assert len(first.requests) == 3  # the retries ran first
    assert FallingBack("a/big", "b/small", DOWN) in events
    assert events[-2:] == answer()
    assert events.index(FallingBack("a/big", "b/small", DOWN)) < events.index(TextDelta("Hello"))
    # The same request, under the fallback's own model name.
    assert second.requests[0].model == "small"
    assert second.requests[0].messages == REQUEST.messages


def test_a_refused_key_falls_back_at_once():
    first = scripted([AuthenticationFailed("The API key was refused.")], provider_id="a")
    second = scripted(answer(), provider_id="b")
    router = router_with(first, second)
    events = list(router.stream_chat(router.model("a/m", ["b/m"]), REQUEST, RecordingCancel()))
    assert events == [FallingBack("a/m", "b/m", "The API key was refused."), *answer()]
    assert len(first.requests) == 1


def test_an_overloaded_model_is_retried_then_falls_back():
    first = scripted([overloaded()], [overloaded()], [overloaded()], provider_id="a")
    second = scripted(answer(), provider_id="b")
    router = router_with(first, second, max_retries=2)
    events = list(router.stream_chat(router.model("a/m", ["b/m"]), REQUEST, RecordingCancel()))
    assert [e.attempt for e in events if isinstance(e, Retrying)] == [1, 2]
    assert FallingBack("a/m", "b/m", OVERLOADED) in events
    assert events[-2:] == answer()


@pytest.mark.parametrize("delivered", [TextDelta("Hel"), ReasoningDelta("Hmm"),
                                       ToolCall("1", "calculator", "{}")])
def test_no_fallback_once_something_was_delivered(delivered):
    broken = StreamBroken("The reply stopped halfway.")
    first = scripted([delivered, broken], provider_id="a")
    second = scripted(answer(), provider_id="b")
    router = router_with(first, second)
    events = []
    with pytest.raises(StreamBroken) as raised:
        for event in router.stream_chat(router.model("a/m", ["b/m"]), REQUEST, Cancel()):
            events.append(event)
    assert raised.value is broken
    assert events == [delivered]
    assert second.requests == []


def test_no_fallback_after_stop():
    cancel = Cancel()

    class Stopped(ProviderUnavailable):
        """Raised as Stop closes the socket: the read fails after the cancel."""

        def __init__(self) -> None:
            cancel.cancel()
            super().__init__("The connection was closed.")

    first = scripted([Stopped()], provider_id="a")
    second = scripted(answer(), provider_id="b")
    router = router_with(first, second)
    with pytest.raises(ProviderUnavailable):
        list(router.stream_chat(router.model("a/m", ["b/m"]), REQUEST, cancel))
    assert second.requests == []


def test_fallbacks_are_asked_in_their_order():
    first = scripted([AuthenticationFailed("No key for a.")], provider_id="a")
    second = scripted([AuthenticationFailed("No key for b.")], provider_id="b")
    third = scripted(answer("from c"), provider_id="c")
    router = router_with(first, second, third)
    model = router.model("a/m", ["b/m", "c/m"])
    events = list(router.stream_chat(model, REQUEST, RecordingCancel()))
    assert events == [
        FallingBack("a/m", "b/m", "No key for a."),
        FallingBack("b/m", "c/m", "No key for b."),
        *answer("from c"),
    ]


def test_when_every_model_fails_the_error_names_each_failure():
    first = scripted([AuthenticationFailed("The key of a was refused.")], provider_id="a")
    second = scripted([unreachable()], provider_id="b")
    router = router_with(first, second, max_retries=0)
    with pytest.raises(ProviderUnavailable) as raised:
        list(router.stream_chat(router.model("a/m", ["b/m"]), REQUEST, RecordingCancel()))
    message = raised.value.message
    assert "a/m: The key of a was refused." in message
    assert f"b/m: {DOWN}" in message
    assert raised.value.code == "provider_unavailable"


def test_a_model_without_fallbacks_fails_as_before():
    failure = AuthenticationFailed("The API key was refused.")
    router = router_with(scripted([failure], provider_id="a"))
    with pytest.raises(ProviderError) as raised:
        list(router.stream_chat("a/m", REQUEST, RecordingCancel()))
    assert raised.value is failure


def test_the_chain_leaves_out_the_model_itself_repeats_and_unknown_providers():
    router = router_with(scripted(provider_id="a"), scripted(provider_id="b"))
    model = router.model("a/m", ["a/m", "b/x", "gone/y", "b/x", "a/other"])
    assert [m.id for m in model.chain] == ["a/m", "b/x", "a/other"]
    assert model.answered_by("b/x").fallbacks == ()
    assert model.answered_by("b/x").name == "x"
