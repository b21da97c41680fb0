"""Plan Mode and roles through the real server, against fake providers: the exact messages each
model receives, the events, what is saved, stop and failure in either phase, re-attaching."""

from __future__ import annotations

import sqlite3

import pytest

from .fake_provider import Reply
from .support import iter_events, open_stream, read_events, texts, wait_for

PLANNER = "ollama/qwen3:8b"
EXECUTOR = "ollama/llama3.2:3b"
PLAN = {"planner": PLANNER, "executor": EXECUTOR}
PLAN_TEXT = "1. Boil water.\n2. Add the egg.\n3. Wait nine minutes."
PLANNER_PROMPT = (
    "You are the planning step of a two-step assistant. Do not answer the user's last "
    "message. Write a short plan for answering it: a numbered checklist of 3 to 7 steps, "
    "one line each, in the language of the user's message. Reply with the checklist only."
)
PLAN_HEADING = "Plan to follow (written in a planning step; follow it, do not repeat it):"


pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b", capabilities={"qwen3:8b": ["completion", "thinking"]})


@pytest.fixture
def default_model():
    return EXECUTOR


@pytest.fixture
def app(start_server, both_kinds_settings):
    return start_server(both_kinds_settings)


def plan_session(app, **fields):
    session = app.new_session(**fields)
    patched = app.patch(f"/api/sessions/{session['id']}", {"plan_mode": PLAN})
    assert patched.status_code == 200, patched.text
    assert patched.json()["plan_mode"] == PLAN
    return patched.json()


# --- the happy path ---------------------------------------------------------------------------


def test_plan_mode_plans_then_answers_with_exact_messages(app, fake):
    role = app.post("/api/roles", {"name": "Chef", "instructions": "Answer as a chef."}).json()
    session = plan_session(app, role_id=role["id"], system_prompt="Be brief.")
    fake.script(Reply(text="Earlier answer."))
    app.chat(session["id"], {"message": "Hello", "plan": None})  # one turn without a plan
    fake.script(Reply(text=PLAN_TEXT), Reply(text="Put the egg in boiling water."))
    events = app.chat(session["id"], {"message": "How do I boil an egg?"})

    planner, executor = [r.body for r in fake.chat_requests()[1:]]
    assert planner["model"] == "qwen3:8b" and executor["model"] == "llama3.2:3b"
    assert planner["messages"] == [
        {"role": "system", "content": PLANNER_PROMPT + "\n\nThe answer will be written under "
         "these instructions:\nAnswer as a chef.\n\nBe brief."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Earlier answer."},
        {"role": "user", "content": "How do I boil an egg?"},
    ]
    assert executor["messages"] == [
        {"role": "system", "content": "Answer as a chef.\n\nBe brief."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Earlier answer."},
        {"role": "user", "content": f"How do I boil an egg?\n\n{PLAN_HEADING}\n{PLAN_TEXT}"},
    ]

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert events[0][1]["plan"] == PLAN
    # every plan event comes before the first answer delta
    assert max(i for i, k in enumerate(kinds) if k == "plan") < kinds.index("delta")
    assert texts(events, "plan") == PLAN_TEXT
    assert texts(events) == "Put the egg in boiling water."
    final = events[-1][1]["message"]
    assert final["status"] == "complete"
    assert final["model"] == EXECUTOR
    assert final["plan"] == PLAN_TEXT
    assert "<ol>" in final["plan_html"] and "Boil water." in final["plan_html"]
    assert final["meta"]["plan"]["model"] == PLANNER
    assert final["meta"]["plan"]["status"] == "complete"
    assert final["meta"]["executor"]["model"] == EXECUTOR
    assert final["meta"]["executor"]["status"] == "complete"
    assert final["meta"]["plan"]["ms"] >= 0 and final["meta"]["executor"]["ms"] >= 0

    listed = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert listed[-1]["plan"] == PLAN_TEXT and listed[-1]["meta"] == final["meta"]
    assert listed[1]["plan"] is None and set(listed[1]["meta"]) == {"context"}  # no plan
    # the chat keeps its own model; the reply says which model answered
    assert app.get(f"/api/sessions/{session['id']}").json()["model"] == EXECUTOR


def test_a_chat_request_can_carry_its_own_plan_or_none(app, fake):
    session = app.new_session()
    fake.script(Reply(text="1. Think.\n2. Say it."), Reply(text="Done."))
    events = app.chat(session["id"], {
        "message": "Go", "plan": {"planner": "compat/qwen3:8b", "executor": "compat/llama3.2:3b"}})
    assert texts(events, "plan") == "1. Think.\n2. Say it."
    paths = [r.path for r in fake.chat_requests()]
    assert all(path.startswith("/v1/chat/completions") for path in paths) and len(paths) == 2
    # the request's plan is for that request only
    assert app.get(f"/api/sessions/{session['id']}").json()["plan_mode"] is None
    fake.script(Reply(text="Plain."))
    plain = app.chat(session["id"], {"message": "Again"})
    assert "plan" not in [kind for kind, _ in plain] and len(fake.chat_requests()) == 3
    assert plain[-1][1]["message"]["plan"] is None


def test_regenerate_in_plan_mode_plans_again(app, fake):
    session = plan_session(app)
    fake.script(Reply(text="1. A."), Reply(text="First."),
                Reply(text="1. B."), Reply(text="Second."))
    first = app.chat(session["id"], {"message": "Q"})[-1][1]["message"]
    response = app.post(f"/api/messages/{first['id']}/regenerate", {}, stream=True)
    again = read_events(response)[-1][1]["message"]
    assert again["plan"] == "1. B." and again["content"] == "Second."
    assert again["parent_id"] == first["parent_id"]
    assert len(fake.chat_requests()) == 4


def test_finished_plan_reply_replays_from_the_database(app, fake):
    session = plan_session(app)
    fake.script(Reply(text=PLAN_TEXT), Reply(text="Answer."))
    message_id = app.chat(session["id"], {"message": "q"})[-1][1]["message"]["id"]
    app.runtime.engine._generations.clear()  # as after a restart: nothing in memory
    replay = read_events(app.get(f"/api/messages/{message_id}/events", stream=True))
    assert [e for e, _ in replay] == ["start", "plan", "reasoning", "delta", "done"]
    assert texts(replay, "plan") == PLAN_TEXT and texts(replay) == "Answer."


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("on", "must be null or an object"),
        ({"planner": PLANNER}, "exactly `planner` and `executor`"),
        ({"planner": PLANNER, "executor": EXECUTOR, "extra": 1}, "exactly"),
        ({"planner": 5, "executor": EXECUTOR}, "`plan_mode.planner` must be a model id"),
        ({"planner": PLANNER, "executor": ""}, "`plan_mode.executor` must be a model id"),
        ({"planner": "llama3.2:3b", "executor": EXECUTOR}, "is not a model id"),
        ({"planner": PLANNER, "executor": "nowhere/llama3.2:3b"}, "no provider “nowhere”"),
        ({"planner": "ollama/missing:1b", "executor": EXECUTOR},
         "ollama has no model “missing:1b”"),
    ],
)
def test_plan_mode_is_validated_and_bad_values_change_nothing(app, value, words):
    session = plan_session(app)
    response = app.patch(f"/api/sessions/{session['id']}", {"plan_mode": value})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and words in error["message"]
    assert app.get(f"/api/sessions/{session['id']}").json() == session


def test_plan_mode_null_turns_it_off_and_a_bad_request_plan_saves_nothing(app, fake):
    session = plan_session(app)
    off = app.patch(f"/api/sessions/{session['id']}", {"plan_mode": None}).json()
    assert off["plan_mode"] is None
    created = app.post("/api/sessions", {"plan_mode": PLAN})
    assert created.status_code == 201 and created.json()["plan_mode"] == PLAN
    bad = app.post(f"/api/sessions/{session['id']}/chat/stream",
                   {"message": "hi", "plan": {"planner": PLANNER, "executor": "ollama/nope"}})
    assert bad.status_code == 422 and "plan.executor" in bad.json()["error"]["message"]
    assert app.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []
    assert fake.chat_requests() == []


# --- stop, failure, re-attach -------------------------------------------------------------------


def test_stop_while_planning_keeps_the_plan_and_never_asks_the_executor(app, fake):
    session = plan_session(app)
    fake.script(Reply(text="1. One.\n2. Two.\n3. Three.", mode="stall", after=2))
    stream = iter_events(open_stream(app, session["id"], {"message": "go"}))
    message_id = next(stream)[1]["assistant_message"]["id"]
    wait_for(lambda: app.get(f"/api/messages/{message_id}").json()["plan"] == "1. One.")
    stopped = app.post(f"/api/messages/{message_id}/stop").json()["message"]
    assert stopped["status"] == "stopped" and stopped["content"] == ""
    assert stopped["plan"] == "1. One."
    assert stopped["meta"] == {"plan": {**stopped["meta"]["plan"], "status": "stopped"},
                               "context": stopped["meta"]["context"]}
    assert fake.disconnected.wait(1), "the planner's request was not closed"
    rest = list(stream)
    assert rest[-1][0] == "done" and rest[-1][1]["message"]["status"] == "stopped"
    assert len(fake.chat_requests()) == 1


def test_stop_while_answering_keeps_plan_and_partial_answer(app, fake):
    session = plan_session(app)
    fake.script(Reply(text=PLAN_TEXT), Reply(text="one two three four", mode="stall", after=2))
    stream = iter_events(open_stream(app, session["id"], {"message": "go"}))
    message_id = next(stream)[1]["assistant_message"]["id"]
    wait_for(lambda: app.get(f"/api/messages/{message_id}").json()["content"] == "one two")
    stopped = app.post(f"/api/messages/{message_id}/stop").json()["message"]
    assert stopped["status"] == "stopped"
    assert stopped["plan"] == PLAN_TEXT and stopped["content"] == "one two"
    assert stopped["meta"]["plan"]["status"] == "complete"
    assert stopped["meta"]["executor"]["status"] == "stopped"
    assert fake.disconnected.wait(1), "the executor's request was not closed"
    list(stream)


def test_a_planner_failing_midway_ends_the_reply_with_its_plan(app, fake):
    session = plan_session(app)
    fake.script(Reply(text="1. Start.\n2. More.", mode="error_midstream", after=2,
                      error="model crashed"))
    events = app.chat(session["id"], {"message": "go"})
    assert events[-1][0] == "error" and "model crashed" in events[-1][1]["message"]
    assert len(fake.chat_requests()) == 1  # the executor was never asked
    saved = app.get(f"/api/messages/{events[0][1]['assistant_message']['id']}").json()
    assert saved["status"] == "error" and saved["plan"] == "1. Start." and saved["content"] == ""
    assert saved["meta"]["plan"]["status"] == "error" and "executor" not in saved["meta"]


def test_a_planner_refusing_at_once_is_an_http_error(app, fake):
    session = plan_session(app)
    fake.script(Reply(status=400, body={"error": "bad prompt"}))
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "go"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "provider_bad_request"
    messages = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [m["status"] for m in messages] == ["complete", "error"]
    assert len(fake.chat_requests()) == 1


def test_an_empty_plan_stops_before_the_executor(app, fake):
    session = plan_session(app)
    fake.script(Reply(text="   ", chunks=["  ", " "]), Reply(text="never"))
    events = app.chat(session["id"], {"message": "go"})
    assert events[-1][0] == "error" and "wrote no plan" in events[-1][1]["message"]
    assert len(fake.chat_requests()) == 1


def test_reattach_mid_plan_replays_the_plan_and_checkpoints_it(app, fake):
    session = plan_session(app)
    fake.script(Reply(text="1. Alpha.\n2. Beta.\n3. Gamma.", mode="stall", after=4),
                Reply(text="The answer."))
    response = open_stream(app, session["id"], {"message": "go"})
    stream = iter_events(response)
    seen = [next(stream)]
    message_id = seen[0][1]["assistant_message"]["id"]
    for event, data in stream:
        seen.append((event, data))
        if texts(seen, "plan") == "1. Alpha.\n2. Beta.":
            break
    response.close()  # the page reloads

    database = app.data_dir / "openchat.sqlite3"

    def saved_plan():
        with sqlite3.connect(database) as db:
            row = db.execute("select plan from messages where id = ?", (message_id,)).fetchone()
        db.close()
        return row[0]

    assert wait_for(lambda: saved_plan() == "1. Alpha.\n2. Beta.")  # a crash now keeps it
    live = app.get(f"/api/messages/{message_id}").json()
    assert live["status"] == "streaming" and live["plan"] == "1. Alpha.\n2. Beta."
    follower = app.get(f"/api/messages/{message_id}/events?after=0", stream=True)
    events = iter_events(follower)
    replayed = [next(events), next(events)]
    assert [kind for kind, _ in replayed] == ["start", "plan"]  # one merged plan event
    assert replayed[1][1]["text"] == "1. Alpha.\n2. Beta."
    fake.release()
    rest = list(events)
    assert texts(replayed + rest, "plan") == "1. Alpha.\n2. Beta.\n3. Gamma."
    assert texts(rest) == "The answer." and rest[-1][0] == "done"
    assert rest[-1][1]["message"]["plan"] == "1. Alpha.\n2. Beta.\n3. Gamma."


# --- roles in a chat ----------------------------------------------------------------------------


def test_a_chat_uses_its_role_as_it_is_now(app, fake):
    role = app.post("/api/roles", {"name": "Poet", "instructions": "Rhyme."}).json()
    session = app.new_session()
    app.patch(f"/api/sessions/{session['id']}", {"role_id": role["id"]})
    fake.script(Reply(text="a"), Reply(text="b"), Reply(text="c"))
    app.chat(session["id"], {"message": "one"})
    assert fake.chat_requests()[-1].body["messages"][0] == {"role": "system", "content": "Rhyme."}
    app.put(f"/api/roles/{role['id']}", {"instructions": "Rhyme twice."})
    app.chat(session["id"], {"message": "two"})
    assert fake.chat_requests()[-1].body["messages"][0]["content"] == "Rhyme twice."
    cleared = app.patch(f"/api/sessions/{session['id']}", {"role_id": None}).json()
    assert cleared["role_id"] is None
    app.chat(session["id"], {"message": "three"})
    assert [m["role"] for m in fake.chat_requests()[-1].body["messages"]][0] == "user"
