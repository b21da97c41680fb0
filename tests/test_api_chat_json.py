"""The plain JSON chat call, `POST /api/sessions/<id>/chat`: one answer once the reply ends."""

from __future__ import annotations

import threading
from typing import Any

import requests

from .fake_provider import Reply
from .support import Server, wait_for


def chat(app: Server, session_id: str, body: Any) -> requests.Response:
    return app.post(f"/api/sessions/{session_id}/chat", body, timeout=20)


def test_the_reply_comes_back_whole_once_it_ends(app, fake):
    fake.script(Reply(text="The whole answer, at once.", delay=0.01))
    session = app.new_session()
    response = chat(app, session["id"], {"message": "Answer me", "model": "ollama/qwen3:8b"})
    assert response.status_code == 200
    message = response.json()["message"]
    assert message["status"] == "complete" and message["role"] == "assistant"
    assert message["content"] == "The whole answer, at once."
    assert message["model"] == "ollama/qwen3:8b"
    assert app.get(f"/api/messages/{message['id']}").json() == message


def test_a_provider_failing_midway_answers_its_error_and_keeps_the_partial_reply(app, fake):
    fake.script(Reply(text="one two three four", mode="error_midstream", after=2,
                      error="the model crashed"))
    session = app.new_session()
    response = chat(app, session["id"], {"message": "go"})
    assert response.status_code == 502
    body = response.json()
    assert body["error"]["code"] == "stream_broken"
    assert body["error"]["message_id"] == body["message"]["id"]
    assert body["message"]["status"] == "error" and body["message"]["content"] == "one two"
    saved = app.get(f"/api/messages/{body['message']['id']}").json()
    assert saved["content"] == "one two" and saved["error"]["code"] == "stream_broken"


def test_a_provider_that_is_down_is_a_plain_error_and_the_message_is_kept(app, fake):
    session = app.new_session()
    fake.stop()
    response = chat(app, session["id"], {"message": "Is anyone there?"})
    assert response.status_code == 502
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == "provider_unavailable"
    saved = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [m["content"] for m in saved if m["role"] == "user"] == ["Is anyone there?"]


def test_stopped_from_elsewhere_answers_the_stopped_reply(app, fake):
    fake.script(Reply(text="one two three four", mode="stall", after=2))
    session = app.new_session()
    answers: list[requests.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(chat(app, session["id"],
                                                                  {"message": "go"})))
    waiting.start()

    def live_reply() -> dict[str, Any] | None:
        listed = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
        reply = listed[-1] if listed else None
        return reply if reply and reply["content"] == "one two" else None

    reply = wait_for(live_reply)
    app.post(f"/api/messages/{reply['id']}/stop")  # the window's Stop button
    waiting.join(10)
    assert not waiting.is_alive()
    assert answers[0].status_code == 200
    message = answers[0].json()["message"]
    assert message["id"] == reply["id"]
    assert message["status"] == "stopped" and message["content"] == "one two"


def test_bad_bodies_are_refused_before_anything_is_written(app):
    session = app.new_session()
    for body, code in (({"message": 5}, "invalid_request"), ({"text": "hi"}, "invalid_request"),
                       ({"message": "hi", "bogus": 1}, "invalid_request"),
                       ({"message": "   "}, "invalid_request")):
        response = chat(app, session["id"], body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == code
    assert app.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []
    missing = chat(app, "no-such-chat", {"message": "hi"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"
