"""No reply stays `streaming`: a send or regenerate is refused before anything is written, or
its reply ends (as `error`, with a sentence) whatever fails after the rows are saved — in the
request, in the worker, in the renderer or in the recorder. Each test is the attack, through
the real server; faults are injected into the server running in this process."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from openchat_desktop.chat.replies import StoredReplies
from openchat_desktop.engine import Engine
from openchat_desktop.providers.router import Router
from openchat_desktop.rendering import StreamRenderer

from .fake_provider import Reply
from .files import png
from .support import Server, read_events, wait_for

VISION = "ollama/llava:7b"

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "llava:7b", "gpt-oss:20b",
    capabilities={"llava:7b": ["completion", "vision"],
                  "gpt-oss:20b": ["completion", "thinking"]},
)


@pytest.fixture
def default_model() -> str:
    return VISION


# --- what the SQLite file says ----------------------------------------------------------------


def rows(app: Server, session_id: str | None = None) -> list[tuple[str, str, str]]:
    """(id, role, status) of every message, or of one chat's, read from the file itself."""
    query = "select id, role, status from messages"
    params: tuple[str, ...] = ()
    if session_id is not None:
        query += " where session_id = ?"
        params = (session_id,)
    with sqlite3.connect(app.data_dir / "openchat.sqlite3") as db:
        found = db.execute(query + " order by created_at", params).fetchall()
    db.close()
    return found


def streaming(app: Server) -> list[str]:
    return [message_id for message_id, _, status in rows(app) if status == "streaming"]


def stream_of(app: Server, message_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The reply's event stream from the start; a reply that never ends fails here."""
    response = app.http.get(app.url(f"/api/messages/{message_id}/events"), stream=True,
                            timeout=5)
    assert response.status_code == 200, response.text
    return read_events(response)


def assert_ended_as_error(app: Server, message_id: str) -> dict[str, Any]:
    """The reply is saved as `error` with a sentence, its stream ends with that error, and
    Stop on it changes nothing."""
    saved = app.get(f"/api/messages/{message_id}").json()
    assert saved["status"] == "error", saved
    assert saved["error"]["message"] and "Traceback" not in saved["error"]["message"]
    events = stream_of(app, message_id)
    assert events[0][0] == "start"
    assert events[-1][0] == "error"
    assert events[-1][1]["message"] == saved["error"]["message"]
    stopped = app.post(f"/api/messages/{message_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["message"]["status"] == "error"
    assert app.get(f"/api/messages/{message_id}").json()["status"] == "error"
    return saved


def assert_chat_works(app: Server, session_id: str, fake: Any) -> None:
    fake.script(Reply(text="Still here."))
    events = app.chat(session_id, {"message": "Are you there?", "model": VISION})
    assert events[-1][0] == "done", events[-1]
    assert events[-1][1]["message"]["content"] == "Still here."
    assert streaming(app) == []


def once(fault: Callable[..., Any], error: BaseException) -> Callable[..., Any]:
    """`fault` that raises `error` the first time it is called, then behaves."""
    calls = []

    def patched(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return fault(*args, **kwargs)

    return patched


def upload_image(app: Server) -> dict[str, Any]:
    response = app.post("/api/attachments", files={"file": ("photo.png", png(), "image/png")})
    assert response.status_code == 201, response.text
    uploaded: dict[str, Any] = response.json()
    return uploaded


def image_path(app: Server, sha256: str):
    return app.data_dir / "attachments" / sha256[:2] / sha256


# --- refused before anything is written -------------------------------------------------------


@pytest.mark.parametrize("think", ["extreme", "", "HIGH", 2, ["low"], {"level": "high"}])
def test_an_invalid_think_is_refused_and_nothing_is_saved(app, fake, think):
    session = app.new_session()
    app.chat(session["id"], {"message": "first"})
    before = rows(app)
    for model in (VISION, "ollama/gpt-oss:20b"):
        response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                            {"message": "think hard", "think": think, "model": model})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and "`think`" in error["message"]
    reply_id = before[-1][0]
    response = app.post(f"/api/messages/{reply_id}/regenerate", {"think": think})
    assert response.status_code == 422
    assert response.json()["error"]["message"]
    assert app.patch(f"/api/sessions/{session['id']}", {"think": think}).status_code == 422
    assert rows(app) == before
    assert len(fake.chat_requests()) == 1


def test_an_image_whose_file_was_deleted_is_refused_before_saving(app, fake):
    image = upload_image(app)
    image_path(app, image["sha256"]).unlink()
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "What is this?", "attachments": [image["id"]]})
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "attachment_not_found"
    assert "photo.png" in error["message"] and "again" in error["message"]
    assert rows(app) == []
    assert fake.chat_requests() == []
    assert_chat_works(app, session["id"], fake)


def test_an_image_that_cannot_be_read_is_refused_before_saving(app, fake):
    image = upload_image(app)
    path = image_path(app, image["sha256"])
    path.unlink()
    path.mkdir()  # still "there", but not a file anyone can read
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "What is this?", "attachments": [image["id"]]})
    assert response.status_code == 404, response.text
    assert "photo.png" in response.json()["error"]["message"]
    assert rows(app) == []
    assert_chat_works(app, session["id"], fake)


def test_an_image_deleted_after_sending_leaves_the_chat_working(app, fake):
    image = upload_image(app)
    session = app.new_session()
    events = app.chat(session["id"], {"message": "What is this?", "attachments": [image["id"]]})
    assert events[-1][0] == "done"
    reply_id = events[-1][1]["message"]["id"]
    image_path(app, image["sha256"]).unlink()

    # Regenerating the answer to the image needs the image: refused, nothing saved.
    before = rows(app)
    response = app.post(f"/api/messages/{reply_id}/regenerate")
    assert response.status_code == 404, response.text
    assert "photo.png" in response.json()["error"]["message"]
    assert rows(app) == before

    # A new message in the same chat goes without the lost image.
    assert_chat_works(app, session["id"], fake)
    sent = fake.chat_requests()[-1].body["messages"]
    assert sent[0] == {"role": "user", "content": "What is this?"}
    assert sent[-1] == {"role": "user", "content": "Are you there?"}


# --- failing after the rows are saved ---------------------------------------------------------


def test_a_failure_between_saving_and_starting_ends_the_reply(app, fake, monkeypatch):
    engine = app.runtime.engine
    monkeypatch.setattr(engine, "start", once(engine.start, RuntimeError("no worker")))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "internal_error"
    saved = rows(app, session["id"])
    assert [(role, status) for _, role, status in saved] == [("user", "complete"),
                                                              ("assistant", "error")]
    ended = assert_ended_as_error(app, saved[1][0])
    assert ended["error"]["message"] == response.json()["error"]["message"]
    assert "no worker" not in ended["error"]["message"]
    assert_chat_works(app, session["id"], fake)


def test_a_failure_after_the_engine_took_the_reply_ends_it_and_its_request(
        app, fake, monkeypatch):
    # The engine took the reply and a worker began it, then starting failed anyway: the reply
    # ends as failed and the provider's request is closed, not left running unseen.
    engine = app.runtime.engine
    start = engine.start

    def start_then_fail(**kwargs: Any) -> Any:
        start(**kwargs)
        wait_for(lambda: fake.open_streams > 0)
        raise RuntimeError("lost after the hand-over")

    monkeypatch.setattr(engine, "start", start_then_fail)
    fake.script(Reply(text="never shown", mode="stall", after=0))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502, response.text
    assert_ended_as_error(app, rows(app, session["id"])[-1][0])
    assert fake.wait_idle(), "the provider's request was left open"
    monkeypatch.setattr(engine, "start", start)
    assert_chat_works(app, session["id"], fake)


def test_a_regenerate_failing_after_saving_ends_its_reply(app, fake, monkeypatch):
    session = app.new_session()
    first = app.chat(session["id"], {"message": "hello"})[-1][1]["message"]
    engine = app.runtime.engine
    monkeypatch.setattr(engine, "start", once(engine.start, RuntimeError("no worker")))
    response = app.post(f"/api/messages/{first['id']}/regenerate")
    assert response.status_code == 502, response.text
    sibling = [m for m, role, _ in rows(app, session["id"]) if role == "assistant"][-1]
    assert sibling != first["id"]
    assert_ended_as_error(app, sibling)
    assert_chat_works(app, session["id"], fake)


def test_a_router_that_raises_before_the_first_event_ends_the_reply(app, fake, monkeypatch):
    monkeypatch.setattr(Router, "stream_chat",
                        once(Router.stream_chat, TypeError("unexpected keyword")))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502, response.text
    assert "unexpected keyword" not in response.json()["error"]["message"]
    reply_id = rows(app, session["id"])[-1][0]
    assert_ended_as_error(app, reply_id)
    assert_chat_works(app, session["id"], fake)


def test_a_renderer_failing_at_the_end_still_ends_the_reply(app, fake, monkeypatch):
    monkeypatch.setattr(StreamRenderer, "finish",
                        once(StreamRenderer.finish, ValueError("renderer broke")))
    fake.script(Reply(text="Some *words*."))
    session = app.new_session()
    events = read_events(app.post(f"/api/sessions/{session['id']}/chat/stream",
                                  {"message": "hello"}, stream=True, timeout=5))
    assert events[-1][0] == "done"
    reply_id = events[0][1]["assistant_message"]["id"]
    saved = app.get(f"/api/messages/{reply_id}").json()
    assert saved["status"] == "complete" and saved["content"] == "Some *words*."
    assert "<em>words</em>" in saved["html"]
    assert stream_of(app, reply_id)[-1][0] == "done"
    assert app.post(f"/api/messages/{reply_id}/stop").status_code == 200
    assert_chat_works(app, session["id"], fake)


def test_a_worker_killed_mid_reply_still_ends_it(app, fake, monkeypatch):
    # An exception that `except Exception` does not catch, raised in the worker as text arrives.
    monkeypatch.setattr(StreamRenderer, "feed",
                        once(StreamRenderer.feed, SystemExit("the worker is going away")))
    fake.script(Reply(text="one two three"))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"},
                        timeout=5)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "internal_error"
    reply_id = rows(app, session["id"])[-1][0]
    saved = assert_ended_as_error(app, reply_id)
    assert "going away" not in saved["error"]["message"]
    assert_chat_works(app, session["id"], fake)


def test_a_recorder_failing_once_at_the_end_still_ends_the_reply(app, fake, monkeypatch):
    monkeypatch.setattr(StoredReplies, "save_end", once(
        StoredReplies.save_end, sqlite3.OperationalError("database is locked")))
    fake.script(Reply(text="Saved at last."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hello"})
    assert events[-1][0] == "done"
    assert events[-1][1]["message"]["status"] == "complete"
    reply_id = events[0][1]["assistant_message"]["id"]
    saved = app.get(f"/api/messages/{reply_id}").json()
    assert saved["status"] == "complete" and saved["content"] == "Saved at last."
    assert streaming(app) == []
    assert_chat_works(app, session["id"], fake)


def test_a_reply_the_engine_cannot_take_is_ended_not_left_running(app):
    # The window is closing (the engine shut down) as a send arrives.
    session = app.new_session()
    engine: Engine = app.runtime.engine
    engine.shutdown()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502, response.text
    assert response.json()["error"]["message"]
    reply_id = rows(app, session["id"])[-1][0]
    assert_ended_as_error(app, reply_id)
    assert streaming(app) == []
