"""A generation that starts from a reply's saved texts (Continue): its log and its renderer are
seeded with them, so checkpoints and the end hold old + new text, while clients get the new
text only (they have the old in `start`) and render patches that follow on from one render of
the whole. A retry the stream announces reaches clients as a `retry` event."""

from __future__ import annotations

import json
import threading

import pytest

from openchat_desktop.chat.replies import StoredReplies
from openchat_desktop.engine import CONTENT, REASONING, Engine
from openchat_desktop.engine.generation import SHOWN_WAIT
from openchat_desktop.providers.base import ReasoningDelta, Retrying, TextDelta
from openchat_desktop.providers.errors import ProviderUnavailable
from openchat_desktop.rendering import RenderUpdate, render_markdown

from .test_engine import messages, parse, view


@pytest.fixture
def engine(store):
    made = Engine(StoredReplies(store))
    yield made
    made.shutdown(timeout=0.5)

OLD = "# Title\n\nThe first"


def seeded(engine: Engine, store, stream, seed=None):
    user, reply = messages(store)
    return reply, engine.start(
        message_id=reply.id,
        session_id=reply.session_id,
        start={"user_message": view(user), "assistant_message": view(reply)},
        stream=stream,
        describe=lambda: view(store.get_message(reply.id)),
        seed={CONTENT: OLD, REASONING: "Hmm."} if seed is None else seed,
    )


def test_a_seeded_reply_keeps_its_text_and_sends_only_the_new(engine, store):
    def stream(cancel):
        yield ReasoningDelta(" More.")
        yield TextDelta(" part")
        yield TextDelta(" and the rest.")

    reply, generation = seeded(engine, store, stream)
    assert generation.wait_finished(5)
    events = parse(generation.log.replay(0))
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    sent = "".join(json.loads(data)["text"] for _, kind, data in events if kind == "delta")
    assert sent == " part and the rest."
    saved = store.get_message(reply.id)
    assert saved.content == OLD + " part and the rest." and saved.reasoning == "Hmm. More."
    assert saved.html == render_markdown(OLD + " part and the rest.")


def test_the_render_patches_follow_on_from_one_render_of_the_old_text(engine, store):
    release = threading.Event()

    def stream(cancel):
        release.wait(5)  # held until the test follows from the start: every event, uncompacted
        yield from (TextDelta(piece) for piece in [" one", "\n\nSecond", " para", "\n\n- a\n"])

    _, generation = seeded(engine, store, stream)
    follower = generation.follow(0)
    first = next(follower)
    release.set()
    events = parse(first + b"".join(follower))
    renders = [json.loads(data) for _, kind, data in events if kind == "render"]
    assert renders[0]["start"] == 0
    assert "".join(renders[0]["blocks"]) + renders[0]["tail"] == render_markdown(OLD)
    blocks: list[str] = []
    for patch in renders:
        blocks = RenderUpdate(patch["start"], tuple(patch["blocks"]), patch["tail"]).apply_to(
            blocks)
    assert "".join(blocks) == render_markdown(OLD + " one\n\nSecond para\n\n- a\n")


def test_a_seeded_reply_that_fails_at_once_keeps_its_text(engine, store):
    def stream(cancel):
        raise ProviderUnavailable("Ollama is not running.")
        yield  # a generator

    reply, generation = seeded(engine, store, stream)
    assert generation.wait_finished(5)
    assert generation.early_error is not None  # nothing new: the request answers an error
    saved = store.get_message(reply.id)
    assert (saved.status, saved.content, saved.reasoning) == ("error", OLD, "Hmm.")


def test_a_retry_is_an_event_and_a_long_wait_opens_the_stream(engine, store):
    def stream(cancel):
        yield Retrying(1, 0.2, "Busy.")
        yield Retrying(2, SHOWN_WAIT, "Still busy.")
        cancel.wait(5)

    _, generation = seeded(engine, store, stream, seed={})
    assert generation.accepted.wait(5)  # the long wait opened the stream; no text yet
    generation.stop()
    assert generation.wait_finished(5)
    events = parse(generation.log.replay(0))
    retries = [json.loads(data) for _, kind, data in events if kind == "retry"]
    assert retries == [{"attempt": 1, "seconds": 0.2, "reason": "Busy."},
                       {"attempt": 2, "seconds": SHOWN_WAIT, "reason": "Still busy."}]
    assert events[-1][1] == "done" and json.loads(events[-1][2])["message"]["status"] == "stopped"


def test_a_short_wait_does_not_open_the_stream(engine, store):
    def stream(cancel):
        yield Retrying(1, 0.2, "Busy.")
        cancel.wait(5)

    _, generation = seeded(engine, store, stream, seed={})
    assert not generation.accepted.wait(0.3)
    generation.stop()
    assert generation.wait_finished(5)
