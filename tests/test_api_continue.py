"""Continue: more text streamed into the same reply, for a reply cut short by its length, Stop,
an error or a crash, against fake Ollama and OpenAI-compatible servers (the exact request each
receives: the partial reply as a final assistant message where the server continues it, else
followed by an instruction). The old text is never lost: not by a refusal, a failure, a Stop or
a re-attach."""

from __future__ import annotations

from typing import Any

import pytest

from openchat_desktop.chat.continuing import CONTINUE_INSTRUCTION

from .fake_provider import FakeProvider, Reply
from .support import (
    Server,
    iter_events,
    provider_settings,
    read_events,
    texts,
    wait_for,
)
from .test_local_engine import MODEL as STARTER
from .test_local_engine import STARTER_FILE, engine_settings, first_text

OLD = "The first part"
NEW = " and the rest."
KINDS = {"ollama": "ollama/llama3.2:3b", "compat": "compat/llama3.2:3b"}


@pytest.fixture
def app(start_server, both_kinds_settings) -> Server:
    return start_server(both_kinds_settings)


def ask(app: Server, model: str, text: str = "Tell me a story") -> tuple[str, list]:
    """A chat with one finished reply; (reply id, its events)."""
    session = app.new_session()
    events = app.chat(session["id"], {"message": text, "model": model})
    return events[0][1]["assistant_message"]["id"], events


def stream_into(app: Server, kind: str) -> str:
    """Start a reply (a send) that the test then cuts short its own way; the reply id."""
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "Tell me a story", "model": KINDS[kind]}, stream=True)
    assert response.status_code == 200, response.text
    stream = iter_events(response)
    reply_id: str = next(stream)[1]["assistant_message"]["id"]
    wait_for(lambda: app.get(f"/api/messages/{reply_id}").json()["content"] == OLD)
    response.close()
    return reply_id


def continue_(app: Server, message_id: str, **kw: Any):
    return app.post(f"/api/messages/{message_id}/continue", stream=True, **kw)


def message(app: Server, message_id: str) -> dict:
    return app.get(f"/api/messages/{message_id}").json()


def assert_continued(app: Server, fake: FakeProvider, kind: str, reply_id: str) -> None:
    """Continue the reply (the fake answers NEW): one stream that starts from the reply as it
    is, sends only the new text, and ends with both; the request carried the partial reply."""
    fake.script(Reply(text=NEW))
    response = continue_(app, reply_id)
    assert response.status_code == 200, response.text
    events = read_events(response)
    kinds = [event for event, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done", kinds
    started = events[0][1]["assistant_message"]
    assert (started["id"], started["status"], started["content"]) == (reply_id, "streaming", OLD)
    assert texts(events) == NEW  # the new text only
    final = events[-1][1]["message"]
    assert (final["id"], final["status"], final["content"]) == (reply_id, "complete", OLD + NEW)
    assert final["html"] == f"<p>{OLD}{NEW}</p>\n"
    saved = message(app, reply_id)
    assert (saved["status"], saved["content"], saved["error"]) == ("complete", OLD + NEW, None)
    # The exact request: the branch, then the partial reply to continue.
    body = fake.chat_requests()[-1].body
    sent = [{"role": m["role"], "content": m["content"]} for m in body["messages"]]
    if kind == "ollama":  # Ollama continues a final assistant message
        assert sent[-2:] == [{"role": "user", "content": "Tell me a story"},
                             {"role": "assistant", "content": OLD}]
    else:  # an OpenAI-compatible server is told to go on
        assert sent[-3:] == [{"role": "user", "content": "Tell me a story"},
                             {"role": "assistant", "content": OLD},
                             {"role": "user", "content": CONTINUE_INSTRUCTION}]
    # One message in the chat, not two.
    session_id = saved["session_id"]
    branch = app.get(f"/api/sessions/{session_id}/messages").json()["messages"]
    assert [m["id"] for m in branch][-1] == reply_id and len(branch) == 2


# --- refused ----------------------------------------------------------------------------------


def test_a_complete_reply_is_not_continued(app, fake):
    fake.script(Reply(text="A whole answer."))
    reply_id, _ = ask(app, KINDS["ollama"])
    before = message(app, reply_id)
    response = continue_(app, reply_id)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "reply_not_continuable"
    assert error["message"].startswith("This reply is complete")
    assert message(app, reply_id) == before
    assert len(fake.chat_requests()) == 1


def test_a_user_message_an_unknown_one_and_a_body_are_refused(app, fake):
    fake.script(Reply(text=OLD, finish_reason="length"))
    reply_id, events = ask(app, KINDS["ollama"])
    user_id = events[0][1]["user_message"]["id"]
    refused = continue_(app, user_id)
    assert refused.status_code == 422 and refused.json()["error"]["message"] == (
        "Only a reply can be continued.")
    assert continue_(app, "nope").status_code == 404
    extra = continue_(app, reply_id, json={"model": "ollama/qwen3:8b"})
    assert extra.status_code == 422 and "model" in extra.json()["error"]["message"]
    assert message(app, reply_id)["content"] == OLD
    assert len(fake.chat_requests()) == 1


def test_a_reply_being_written_is_not_continued(app, fake):
    fake.script(Reply(text=f"{OLD} more", mode="stall", after=3))
    reply_id = stream_into(app, "ollama")
    response = continue_(app, reply_id)
    assert response.status_code == 409
    assert response.json()["error"]["message"].startswith("This reply is still being written")
    fake.release()
    wait_for(lambda: message(app, reply_id)["status"] == "complete")
    assert message(app, reply_id)["content"] == f"{OLD} more"


def test_a_failed_continue_keeps_the_old_text(app, fake):
    fake.script(Reply(text=OLD, finish_reason="length"),
                Reply(status=400, body={"error": "bad request"}))
    reply_id, _ = ask(app, KINDS["ollama"])
    response = continue_(app, reply_id)
    assert response.status_code == 400, response.text
    saved = message(app, reply_id)
    assert (saved["status"], saved["content"]) == ("error", OLD)
    assert saved["error"]["code"] == "provider_bad_request"
    # And it can be continued again, from the same text.
    assert_continued(app, fake, "ollama", reply_id)


# --- each end state, each kind of server ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_cut_by_its_length_is_continued(app, fake, kind):
    fake.script(Reply(text=OLD, finish_reason="length"))
    reply_id, events = ask(app, KINDS[kind])
    first = events[-1][1]["message"]
    assert first["status"] == "complete" and first["usage"]["finish_reason"] == "length"
    assert_continued(app, fake, kind, reply_id)
    assert message(app, reply_id)["usage"]["finish_reason"] == "stop"


@pytest.mark.parametrize("kind", KINDS)
def test_a_stopped_reply_is_continued(app, fake, kind):
    fake.script(Reply(text=f"{OLD} never sent", mode="stall", after=3))
    reply_id = stream_into(app, kind)
    assert app.post(f"/api/messages/{reply_id}/stop").json()["message"]["status"] == "stopped"
    assert_continued(app, fake, kind, reply_id)


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_that_failed_midway_is_continued(app, fake, kind):
    fake.script(Reply(text=f"{OLD} never sent", mode="error_midstream", after=3))
    reply_id, events = ask(app, KINDS[kind])
    assert events[-1][0] == "error"
    assert message(app, reply_id)["status"] == "error"
    assert_continued(app, fake, kind, reply_id)


@pytest.mark.parametrize("kind", KINDS)
def test_an_interrupted_reply_is_continued_after_a_restart(start_server, fake, kind):
    settings = provider_settings(("ollama", "ollama", fake.ollama_url),
                                 ("compat", "openai", fake.openai_url))
    first = start_server(settings)
    fake.script(Reply(text=f"{OLD} never sent", mode="stall", after=3))
    reply_id = stream_into(first, kind)
    first.runtime.shutdown()
    app = start_server(settings, data_dir=first.data_dir)
    assert message(app, reply_id)["status"] == "interrupted"
    assert_continued(app, fake, kind, reply_id)


# --- while it streams -------------------------------------------------------------------------


def test_stop_during_a_continue_keeps_both_parts(app, fake):
    fake.script(Reply(text=OLD, finish_reason="length"),
                Reply(text=" and then the", chunks=[" and", " then", " the"], mode="stall",
                      after=2))
    reply_id, _ = ask(app, KINDS["ollama"])
    response = continue_(app, reply_id)
    stream = iter_events(response)
    assert next(stream)[0] == "start"
    wait_for(lambda: message(app, reply_id)["content"] == OLD + " and then")
    stopped = app.post(f"/api/messages/{reply_id}/stop").json()["message"]
    assert (stopped["status"], stopped["content"]) == ("stopped", OLD + " and then")
    rest = list(stream)
    assert rest[-1][0] == "done" and rest[-1][1]["message"]["content"] == OLD + " and then"
    assert message(app, reply_id)["content"] == OLD + " and then"


def test_a_client_re_attaching_sees_one_growing_message(app, fake):
    fake.script(Reply(text="# Title\n\nThe first part", finish_reason="length"),
                Reply(text=" goes on", chunks=[" goes", " on"], mode="stall", after=1))
    reply_id, _ = ask(app, KINDS["ollama"])
    old = "# Title\n\nThe first part"
    response = continue_(app, reply_id)
    wait_for(lambda: message(app, reply_id)["content"] == old + " goes")
    live = message(app, reply_id)
    assert live["status"] == "streaming" and "goes" in live["html"]
    again = app.get(f"/api/messages/{reply_id}/events?after=0", stream=True)
    fake.release()
    events = read_events(again)
    response.close()
    assert events[0][0] == "start" and events[0][1]["assistant_message"]["content"] == old
    # The replay's text events are the new text; its render covers old and new.
    assert texts(events) == " goes on"
    renders = [data for event, data in events if event == "render"]
    assert renders and renders[0]["start"] == 0 and "<h1>Title</h1>" in renders[0]["blocks"][0]
    final = events[-1][1]["message"]
    assert final["content"] == old + " goes on"
    assert final["html"] == "<h1>Title</h1>\n<p>The first part goes on</p>\n"


@pytest.mark.fake_models("llama3.2:3b", "qwen3:8b", capabilities={"qwen3:8b": ["thinking"]})
def test_the_reasoning_is_kept_and_new_reasoning_appended(app, fake):
    fake.script(Reply(text=OLD, reasoning="Hmm.", finish_reason="length"),
                Reply(text=NEW, reasoning=" Also this."))
    reply_id, _ = ask(app, "ollama/qwen3:8b")
    assert message(app, reply_id)["reasoning"] == "Hmm."
    events = read_events(continue_(app, reply_id))
    assert texts(events, "reasoning") == " Also this."
    saved = message(app, reply_id)
    assert (saved["reasoning"], saved["content"]) == ("Hmm. Also this.", OLD + NEW)


# --- the built-in engine ----------------------------------------------------------------------


@pytest.mark.skipif(not STARTER_FILE.is_file(),
                    reason="the starter model is fetched by scripts/setup.sh")
def test_a_stopped_reply_of_the_built_in_engine_is_continued(start_server):
    """The real starter model (a small window keeps it quick): stopped after its first words,
    continued into the same message, the old text kept exactly."""
    app = start_server(engine_settings())
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "Write a long poem about the sea.", "model": STARTER},
                        stream=True)
    stream = iter_events(response)
    reply_id = first_text(stream)
    stopped = app.post(f"/api/messages/{reply_id}/stop").json()["message"]
    assert stopped["status"] == "stopped" and stopped["content"]
    list(stream)
    old = message(app, reply_id)["content"]
    events = read_events(continue_(app, reply_id))
    assert events[0][1]["assistant_message"]["content"] == old
    assert events[-1][0] == "done", events[-1]
    final = events[-1][1]["message"]
    assert final["status"] == "complete" and final["id"] == reply_id
    assert final["content"] == old + texts(events)
    assert message(app, reply_id)["content"] == old + texts(events)
