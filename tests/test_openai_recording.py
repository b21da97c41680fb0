"""Calls to the OpenAI-compatible endpoint kept as chats: a call appears in the sidebar with
its messages, the next call of the same conversation continues that chat, `store: false`
writes nothing, and a failure or a client leaving keeps the reply marked as it ended."""

from __future__ import annotations

import sqlite3

import openai
import pytest

from openchat_desktop import paths

from .fake_provider import Reply
from .keys_support import make_key
from .support import Server, wait_for
from .test_openai_api import client

MODEL = "ollama/llama3.2:3b"


def chats(app: Server) -> list[dict]:
    return app.get("/api/sessions").json()["sessions"]


def branch(app: Server, session_id: str) -> list[dict]:
    return app.get(f"/api/sessions/{session_id}/messages").json()["messages"]


def rows(app: Server) -> dict[str, int]:
    """How many rows the chat database holds, read from the file itself."""
    with sqlite3.connect(paths.database_path(app.data_dir)) as db:
        return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("sessions", "messages", "openai_threads")}


def test_a_call_is_kept_as_a_chat(app, fake):
    fake.script(Reply(text="Paris is the capital."))
    answer = client(app).chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "What is the capital of France?"},
    ])
    [chat] = chats(app)
    assert chat["title"] == "What is the capital of France?"
    assert chat["model"] == MODEL
    assert chat["system_prompt"] == "Answer in one sentence."
    user, reply = branch(app, chat["id"])
    assert user["content"] == "What is the capital of France?"
    assert reply["content"] == "Paris is the capital."
    assert reply["status"] == "complete" and reply["usage"]["completion_tokens"] > 0
    assert answer.id == f"chatcmpl-{reply['id']}"


def test_a_growing_conversation_stays_one_chat(app, fake):
    conversation = [{"role": "user", "content": "Hello"}]
    for number in range(3):
        fake.script(Reply(text=f"Answer number {number}"))
        stream = client(app).chat.completions.create(model=MODEL, messages=conversation,
                                                     stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        conversation += [{"role": "assistant", "content": text},
                         {"role": "user", "content": f"And then {number}?"}]
    [chat] = chats(app)
    contents = [m["content"] for m in branch(app, chat["id"])]
    assert contents == ["Hello", "Answer number 0", "And then 0?", "Answer number 1",
                        "And then 1?", "Answer number 2"]
    # What the model read each time is what the client sent, not the chat as stored.
    assert len(fake.chat_requests()[-1].body["messages"]) == 5

    # Another conversation, or this one changed, is a chat of its own.
    fake.script(Reply(text="Fresh."))
    client(app).chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Edited"},
        {"role": "user", "content": "Next"}])
    assert len(chats(app)) == 2


def test_store_false_writes_nothing(app, fake):
    before = rows(app)
    for stream in (False, True):
        fake.script(Reply(text="Not kept."))
        answer = client(app).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=stream,
            extra_body={"store": False})
        if stream:
            assert "".join(c.choices[0].delta.content or "" for c in answer
                           if c.choices) == "Not kept."
    assert rows(app) == before == {"sessions": 0, "messages": 0, "openai_threads": 0}


def test_a_key_made_not_to_record_writes_nothing(app, fake):
    key = make_key(app, "private", record=False)
    before = rows(app)
    for stream in (False, True):
        fake.script(Reply(text="Not kept either."))
        answer = client(app, key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=stream)
        if stream:
            assert "".join(c.choices[0].delta.content or "" for c in answer
                           if c.choices) == "Not kept either."
        else:
            assert answer.choices[0].message.content == "Not kept either."
    assert rows(app) == before == {"sessions": 0, "messages": 0, "openai_threads": 0}
    # The same call with a key that records is kept.
    fake.script(Reply(text="Kept."))
    client(app, make_key(app, "open")).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert rows(app) == {"sessions": 1, "messages": 2, "openai_threads": 1}


def test_a_provider_down_leaves_no_reply_streaming(app, fake):
    fake.stop()
    with pytest.raises(openai.InternalServerError) as raised:
        client(app).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Are you there?"}])
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "provider_unavailable"
    [chat] = chats(app)
    user, reply = branch(app, chat["id"])
    assert user["content"] == "Are you there?"
    assert reply["status"] == "error" and reply["error"]["code"] == "provider_unavailable"


def test_a_client_leaving_midway_stops_the_reply_and_keeps_its_text(app, fake):
    fake.script(Reply(text=" ".join(["word"] * 400), mode="slow", delay=0.02))
    stream = client(app).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Talk"}], stream=True)
    chunks = iter(stream)
    for _ in range(3):
        next(chunks)
    stream.close()
    [chat] = chats(app)

    def stopped() -> dict | None:
        reply = branch(app, chat["id"])[-1]
        return reply if reply["status"] == "stopped" else None

    reply = wait_for(stopped, timeout=10)
    assert reply["content"].startswith("word word")
    assert len(reply["content"]) < len(" ".join(["word"] * 400))
    assert fake.wait_idle(5.0)
