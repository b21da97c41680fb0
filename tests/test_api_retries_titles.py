"""Retries the client is told about (`retry` events, Stop during the wait), and titles the
chat's model writes after the first reply (setting `chat.auto_title`, off by default; the
person's own title always wins)."""

from __future__ import annotations

import threading
import time

import pytest

from openchat_desktop.chat.titles import INSTRUCTION, TitleWriter, clean_title

from .fake_provider import Reply
from .support import (
    Server,
    iter_events,
    open_stream,
    provider_settings,
    read_events,
    texts,
    wait_for,
)

MODEL = "ollama/llama3.2:3b"
WAIT_1S = {"Retry-After": "1"}


# --- retries ----------------------------------------------------------------------------------


def test_each_retry_is_an_event_before_the_reply(app, fake):
    fake.script(Reply(status=503), Reply(status=503), Reply(text="Finally here."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hello"})
    kinds = [event for event, _ in events]
    assert kinds[:3] == ["start", "retry", "retry"], kinds
    retries = [data for event, data in events if event == "retry"]
    assert [r["attempt"] for r in retries] == [1, 2]
    assert all(0 < r["seconds"] <= 1.0 and r["reason"] for r in retries)
    assert texts(events) == "Finally here."
    assert events[-1][1]["message"]["status"] == "complete"


def test_a_wait_worth_showing_opens_the_stream_at_once_and_stop_ends_it(app, fake):
    fake.script(Reply(status=503, headers={"Retry-After": "5"}), Reply(text="too late"))
    session = app.new_session()
    began = time.monotonic()
    response = open_stream(app, session["id"], {"message": "hello"})
    stream = iter_events(response)
    start = next(stream)
    retry = next(stream)
    assert time.monotonic() - began < 4, "the stream waited for the retry"
    assert start[0] == "start" and retry[0] == "retry"
    assert (retry[1]["attempt"], retry[1]["seconds"]) == (1, 5.0)
    assert retry[1]["reason"]
    reply_id = start[1]["assistant_message"]["id"]
    stopped = app.post(f"/api/messages/{reply_id}/stop").json()["message"]
    assert stopped["status"] == "stopped"
    rest = list(stream)
    assert rest[-1][0] == "done" and rest[-1][1]["message"]["status"] == "stopped"
    assert len(fake.chat_requests()) == 1  # the wait ended; nobody asked again


def test_a_failure_after_a_shown_wait_is_an_error_event(app, fake):
    fake.script(*[Reply(status=503, headers=WAIT_1S)] * 3)
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hello"})
    kinds = [event for event, _ in events]
    assert kinds[:3] == ["start", "retry", "retry"] and kinds[-1] == "error", kinds
    error = events[-1][1]
    assert error["code"] == "provider_unavailable"
    # Each wait gave the reason the last failure gives: a sentence, not a status code.
    assert [data["reason"] for event, data in events if event == "retry"] == [error["message"]] * 2
    reply_id = events[0][1]["assistant_message"]["id"]
    saved = app.get(f"/api/messages/{reply_id}").json()
    assert saved["status"] == "error" and saved["error"]["code"] == "provider_unavailable"


# --- titles -----------------------------------------------------------------------------------


@pytest.fixture
def titled(start_server, fake) -> Server:
    return start_server(provider_settings(("ollama", "ollama", fake.ollama_url),
                                          default_model=MODEL) + "\n[chat]\nauto_title = true\n")


def session_of(app: Server, session_id: str) -> dict:
    return next(s for s in app.get("/api/sessions").json()["sessions"] if s["id"] == session_id)


def test_no_title_is_asked_for_by_default(app, fake):
    fake.script(Reply(text="Hello there."), Reply(text="A Title"))
    session = app.new_session()
    app.chat(session["id"], {"message": "hi, how are you"})
    time.sleep(0.3)  # a title job would have asked by now
    assert len(fake.chat_requests()) == 1
    listed = session_of(app, session["id"])
    assert (listed["title"], listed["title_pending"]) == ("hi, how are you", False)


def test_the_model_titles_the_chat_after_its_first_reply_only(titled, fake):
    fake.script(Reply(text="Paris is the capital."),
                Reply(text='"The Capital of France."\nMore words'),
                Reply(text="About two million."))
    session = titled.new_session()
    titled.chat(session["id"], {"message": "What is the capital of France?"})
    wait_for(lambda: session_of(titled, session["id"])["title"] == "The Capital of France")
    assert session_of(titled, session["id"])["title_pending"] is False
    asked = fake.chat_requests()[1].body
    prompt = asked["messages"][-1]["content"]
    assert prompt.startswith(INSTRUCTION)
    assert "What is the capital of France?" in prompt and "Paris is the capital." in prompt
    assert "max_tokens" in str(asked) or "num_predict" in str(asked)  # a small request
    assert session_of(titled, session["id"])["title_by_person"] is False
    # A later reply does not title the chat again.
    titled.chat(session["id"], {"message": "How many people live there?"})
    time.sleep(0.3)
    assert len(fake.chat_requests()) == 3
    assert session_of(titled, session["id"])["title"] == "The Capital of France"


def test_a_title_the_person_gives_during_the_reply_wins(titled, fake):
    fake.script(Reply(text="one two three", mode="stall", after=1), Reply(text="Model Title"))
    session = titled.new_session()
    response = open_stream(titled, session["id"], {"message": "count to three"})
    stream = iter_events(response)
    next(stream)
    renamed = titled.patch(f"/api/sessions/{session['id']}", {"title": "My own name"}).json()
    assert renamed["title_by_person"] is True
    fake.release()
    assert list(stream)[-1][0] == "done"
    time.sleep(0.3)
    wait_for(lambda: not session_of(titled, session["id"])["title_pending"])
    assert session_of(titled, session["id"])["title"] == "My own name"


def test_a_title_that_fails_leaves_the_first_message_title(titled, fake):
    fake.script(Reply(text="Sure."), Reply(status=400, body={"error": "no"}))
    session = titled.new_session()
    titled.chat(session["id"], {"message": "Help me plan a trip"})
    wait_for(lambda: len(fake.chat_requests()) == 2)
    wait_for(lambda: not session_of(titled, session["id"])["title_pending"])
    assert session_of(titled, session["id"])["title"] == "Help me plan a trip"


def test_the_list_says_a_title_is_coming_until_it_is_there(titled, fake):
    fake.script(Reply(text="Sure."), Reply(text="Trip Plans", mode="stall", after=1))
    session = titled.new_session()
    titled.chat(session["id"], {"message": "Help me plan a trip"})
    wait_for(lambda: session_of(titled, session["id"])["title_pending"])
    fake.release()
    wait_for(lambda: session_of(titled, session["id"])["title"] == "Trip Plans")
    assert session_of(titled, session["id"])["title_pending"] is False


def test_a_stopped_first_reply_gets_no_title(titled, fake):
    fake.script(Reply(text="one two three", mode="stall", after=1), Reply(text="Model Title"))
    session = titled.new_session()
    response = open_stream(titled, session["id"], {"message": "count"})
    reply_id = next(iter_events(response))[1]["assistant_message"]["id"]
    titled.post(f"/api/messages/{reply_id}/stop")
    read_events(response)
    time.sleep(0.3)
    assert len(fake.chat_requests()) == 1
    assert session_of(titled, session["id"])["title"] == "count"


@pytest.mark.parametrize(
    ("answer", "title"),
    [
        ('"Weekend Trip to Rome."', "Weekend Trip to Rome"),
        ("Title: **Baking Bread**\n\nI chose this because…", "Baking Bread"),
        ("\n\n  ‘Quiet   Evenings’!  \n", "Quiet Evenings"),
        ("A " + "very " * 30 + "long title", "A" + " very" * 11),
        ('""', None),
        ("...", None),
    ],
)
def test_a_title_is_cleaned(answer, title):
    assert clean_title(answer) == title
    if title:
        assert len(title) <= 60


def test_titles_are_written_one_at_a_time_and_each_chat_waits_for_its_own():
    writer = TitleWriter()
    running: list[str] = []
    overlap: list[bool] = []
    gate = threading.Event()

    def job(name: str):
        def write(cancel) -> bool:
            running.append(name)
            overlap.append(len(running) > 1)
            gate.wait(5)
            running.remove(name)
            return True
        return write

    queued = [writer.start(name, job(name)) for name in ("a", "b", "c")]
    assert writer.start("a", job("a")) is None  # already waiting for its title
    for queue in queued:
        assert queue is not None
        queue()
    assert all(writer.pending(name) for name in "abc")
    gate.set()
    deadline = time.monotonic() + 5
    while any(writer.pending(name) for name in "abc") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(writer.pending(name) for name in "abc")
    assert overlap == [False, False, False]
    assert gone_soon("titles")  # no thread stays once every title is written


def gone_soon(name: str) -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if not any(t.name == name for t in threading.enumerate()):
            return True
        time.sleep(0.01)
    return False


def test_a_title_waits_while_replies_stream_and_gives_way_to_a_new_one():
    streaming = threading.Event()
    streaming.set()  # a reply streams: the title waits
    writer = TitleWriter(busy=streaming.is_set)
    calls: list[str] = []
    asked = threading.Event()

    def write(cancel) -> bool:
        calls.append("asked")
        asked.set()
        if len(calls) == 1:
            cancel.wait(5)  # the model is writing; a reply starts and stops it
            return False
        return True

    queue = writer.start("chat", write)
    assert queue is not None
    queue()
    time.sleep(0.3)
    assert calls == [] and writer.pending("chat")
    streaming.clear()
    assert asked.wait(5)
    streaming.set()  # the person sends the next message
    writer.make_way()
    time.sleep(0.3)
    assert calls == ["asked"] and writer.pending("chat")  # stopped, waiting its turn again
    streaming.clear()
    deadline = time.monotonic() + 5
    while writer.pending("chat") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ["asked", "asked"] and not writer.pending("chat")
