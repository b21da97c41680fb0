"""Tool calls through the real server against fake providers in both dialects: the tools
offered, the exact calls and results sent back, approval (allow, deny, always, no answer,
across a re-attach), Stop while waiting and while a tool runs, failures, the round limit,
models without tools, and what is saved and replayed."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from openchat_desktop.chat.replies import stored_replay
from openchat_desktop.providers.base import Cancel
from openchat_desktop.store import Store
from openchat_desktop.tools.base import ToolContext, ToolOutcome, ToolSpec

from .fake_provider import Called, Reply
from .support import iter_events, open_stream, read_events, texts, wait_for

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b", capabilities={"llama3.2:3b": ["completion", "tools"]})

OLLAMA = "ollama/llama3.2:3b"
COMPAT = "compat/llama3.2:3b"
BUILTIN_NAMES = ["current_time", "calculator", "search_chats", "read_file"]
ALWAYS = '\n[tools]\napproval = { "builtin/calculator" = "always" }\n'


@pytest.fixture
def app(start_server, both_kinds_settings):
    return start_server(both_kinds_settings + ALWAYS)


def sums() -> Reply:
    return Reply(text="Let me compute.", tool_calls=[
        Called("calculator", {"expression": "6*7"}, id="call_x"),
        Called("calculator", {"expression": "2**10"}, id="call_y"),
    ])


def of(events, kind):
    return [data for event, data in events if event == kind]


def sent_back(fake) -> list[dict[str, Any]]:
    """The messages of the last request after the user's question."""
    messages = fake.chat_requests()[-1].body["messages"]
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return messages[last_user + 1:]


# --- refusals and failures first ------------------------------------------------------------


def test_unknown_tool_and_broken_arguments_become_errors_the_model_is_told(app, fake):
    session = app.new_session(model=COMPAT)
    fake.script(Reply(text="", tool_calls=[Called("rm_rf", {}, id="a"),
                                           Called("calculator", '{"expression": "1+', id="b")]),
                Reply(text="Sorry."))
    events = app.chat(session["id"], {"message": "go"})
    results = of(events, "tool_result")
    assert [r["is_error"] for r in results] == [True, True]
    assert results[0]["content"] == ("There is no tool named “rm_rf”. The tools available "
                                     "are: current_time, calculator, search_chats, read_file.")
    assert results[1]["content"].startswith("The arguments are not valid JSON.")
    assert of(events, "tool_call")[1]["arguments"] == '{"expression": "1+'
    assert sent_back(fake)[1:] == [
        {"role": "tool", "tool_call_id": "a", "content": results[0]["content"]},
        {"role": "tool", "tool_call_id": "b", "content": results[1]["content"]},
    ]
    assert texts(events) == "Sorry."


def test_the_round_limit_ends_the_reply_with_a_sentence(start_server, both_kinds_settings, fake):
    app = start_server(both_kinds_settings + ALWAYS + "max_rounds = 2\n")
    session = app.new_session(model=OLLAMA)
    again = Reply(text="", tool_calls=[Called("calculator", {"expression": "1+1"})])
    fake.script(again, again, again, Reply(text="never asked"))
    events = app.chat(session["id"], {"message": "loop"})
    assert len(fake.chat_requests()) == 3
    assert len(of(events, "tool_result")) == 2
    assert texts(events).endswith("the model kept asking for tools after 2 rounds, the limit "
                                  "set in Settings as [tools] max_rounds.)")
    assert events[-1][1]["message"]["status"] == "complete"


def test_a_model_without_the_tools_capability_is_never_sent_tools(app, fake):
    session = app.new_session(model="ollama/qwen3:8b")
    app.chat(session["id"], {"message": "hi"})
    assert "tools" not in fake.chat_requests()[-1].body
    app.chat(session["id"], {"message": "and you?", "model": OLLAMA})  # one that has them
    assert len(fake.chat_requests()[-1].body["tools"]) == 4


def test_a_chat_gets_the_tools_of_its_sources_only(app, fake):
    session = app.new_session(model=OLLAMA)
    app.runtime.store.update_session(session["id"], tool_servers=[])
    app.chat(session["id"], {"message": "hi"})
    assert "tools" not in fake.chat_requests()[-1].body
    app.runtime.store.update_session(session["id"], tool_servers=["builtin"])
    app.chat(session["id"], {"message": "again"})
    assert len(fake.chat_requests()[-1].body["tools"]) == 4


class Source:
    """A tool source of the test: one tool that raises, or waits until Stop."""

    id = "test"

    def __init__(self) -> None:
        self.running = threading.Event()

    def tools(self, context: ToolContext) -> list[Any]:
        source = self

        class Waits:
            spec = ToolSpec("wait", "Waits.", {"type": "object"}, "test", "always")

            def run(self, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
                source.running.set()
                cancel.wait(30)
                return ToolOutcome("woke")

        class Breaks:
            spec = ToolSpec("break", "Breaks.", {"type": "object"}, "test", "always")

            def run(self, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
                raise RuntimeError("boom")

        return [Waits(), Breaks()]


def test_a_tool_that_fails_gives_an_error_result(app, fake):
    app.runtime.chat.tool_sources.add(Source())
    session = app.new_session(model=OLLAMA)
    fake.script(Reply(text="", tool_calls=[Called("break")]), Reply(text="It broke."))
    events = app.chat(session["id"], {"message": "break it"})
    [result] = of(events, "tool_result")
    assert result["is_error"] and result["status"] == "error"
    assert result["content"] == "The tool break failed (RuntimeError)."
    assert sent_back(fake)[1] == {"role": "tool", "content": result["content"],
                                  "tool_name": "break"}


def test_stop_while_a_tool_runs_saves_the_reply_stopped(app, fake):
    source = Source()
    app.runtime.chat.tool_sources.add(source)
    session = app.new_session(model=OLLAMA)
    fake.script(Reply(text="Waiting.", tool_calls=[Called("wait")]), Reply(text="never"))
    response = open_stream(app, session["id"], {"message": "wait"})
    events = iter_events(response)
    start = next(events)[1]["assistant_message"]
    assert source.running.wait(5)
    stopped = app.post(f"/api/messages/{start['id']}/stop").json()["message"]
    assert stopped["status"] == "stopped" and stopped["content"] == "Waiting."
    assert [(t["name"], t["status"]) for t in stopped["tools"]] == [("wait", "stopped")]
    rest = list(events)
    assert rest[-1][0] == "done" and not of(rest, "tool_result")
    assert len(fake.chat_requests()) == 1


# --- each dialect ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", [OLLAMA, COMPAT])
def test_parallel_calls_run_and_their_results_go_back(app, fake, model):
    session = app.new_session(model=model)
    fake.script(sums(), Reply(text="They are 42 and 1024."))
    events = app.chat(session["id"], {"message": "6*7 and 2**10?"})

    first, second = [r.body for r in fake.chat_requests()]
    assert [t["function"]["name"] for t in first["tools"]] == BUILTIN_NAMES
    assert second["tools"] == first["tools"]
    calls = of(events, "tool_call")
    assert [(c["name"], c["arguments"], c["at"]) for c in calls] == [
        ("calculator", {"expression": "6*7"}, 15), ("calculator", {"expression": "2**10"}, 15)]
    results = of(events, "tool_result")
    assert [(r["id"], r["content"], r["is_error"], r["status"]) for r in results] == [
        (calls[0]["id"], "42", False, "done"), (calls[1]["id"], "1024", False, "done")]
    assert not of(events, "tool_approval")
    if model == OLLAMA:
        assert sent_back(fake) == [
            {"role": "assistant", "content": "Let me compute.", "tool_calls": [
                {"function": {"name": "calculator", "arguments": {"expression": "6*7"}}},
                {"function": {"name": "calculator", "arguments": {"expression": "2**10"}}}]},
            {"role": "tool", "content": "42", "tool_name": "calculator"},
            {"role": "tool", "content": "1024", "tool_name": "calculator"},
        ]
    else:
        assert sent_back(fake) == [
            {"role": "assistant", "content": "Let me compute.", "tool_calls": [
                {"id": "call_x", "type": "function", "function": {
                    "name": "calculator", "arguments": json.dumps({"expression": "6*7"})}},
                {"id": "call_y", "type": "function", "function": {
                    "name": "calculator", "arguments": json.dumps({"expression": "2**10"})}}]},
            {"role": "tool", "tool_call_id": "call_x", "content": "42"},
            {"role": "tool", "tool_call_id": "call_y", "content": "1024"},
        ]
    assert texts(events) == "Let me compute.\n\nThey are 42 and 1024."
    # the order of things: text, the calls and results, the text after
    kinds = [kind for kind, _ in events if kind in ("delta", "tool_call", "tool_result")]
    assert kinds.index("tool_call") > kinds.index("delta")
    assert max(i for i, k in enumerate(kinds) if k == "tool_result") < len(kinds) - 1

    saved = events[-1][1]["message"]
    assert [(t["name"], t["status"], t["content"], t["at"]) for t in saved["tools"]] == [
        ("calculator", "done", "42", 15), ("calculator", "done", "1024", 15)]
    record = app.runtime.store.get_message(saved["id"])
    replay = stored_replay(record, None, saved, 0).decode()
    order = [line[7:] for line in replay.splitlines() if line.startswith("event: ")]
    assert order == ["start", "reasoning", "delta", "tool_call", "tool_result", "tool_call",
                     "tool_result", "delta", "done"]
    assert '"text":"Let me compute."' in replay and '"text":"\\n\\nThey are' in replay


# --- approval -------------------------------------------------------------------------------


def ask_time(app, fake, model=OLLAMA):
    """Start a reply whose model asks for the time (which asks the person); returns the
    reply's id, its open event iterator, and the approval event."""
    session = app.new_session(model=model)
    fake.script(Reply(text="", tool_calls=[Called("current_time")]), Reply(text="Noted."))
    response = open_stream(app, session["id"], {"message": "what time is it?"})
    events = iter_events(response)
    start = next(events)[1]["assistant_message"]
    seen = []
    for kind, data in events:
        seen.append((kind, data))
        if kind == "tool_approval":
            return start["id"], events, data, seen
    raise AssertionError(f"no approval asked: {seen}")


def answer(app, message_id, call_id, **body):
    return app.post(f"/api/messages/{message_id}/tool-calls/{call_id}", body)


@pytest.mark.parametrize("model", [OLLAMA, COMPAT])
def test_allow_once_runs_the_call(app, fake, model):
    message_id, events, asked, _ = ask_time(app, fake, model)
    assert asked["name"] == "current_time" and asked["arguments"] == {}
    assert asked["deadline"].endswith("Z")
    response = answer(app, message_id, asked["id"], approve=True)
    assert response.status_code == 200, response.text
    rest = list(events)
    [result] = of(rest, "tool_result")
    assert not result["is_error"] and "ISO 8601" in result["content"]
    assert texts(rest) == "Noted."
    assert "builtin/current_time" not in app.settings_path.read_text()
    # answered once: a second answer finds no question
    again = answer(app, message_id, asked["id"], approve=True)
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_tool_question"


def test_deny_tells_the_model(app, fake):
    message_id, events, asked, _ = ask_time(app, fake)
    assert answer(app, message_id, asked["id"], approve=False).status_code == 200
    [result] = of(list(events), "tool_result")
    assert result["status"] == "denied" and result["is_error"]
    assert sent_back(fake)[1] == {"role": "tool", "tool_name": "current_time", "content": (
        "The person did not allow this tool call. Do not call it again; answer without it.")}


def test_always_allow_is_saved_in_the_settings(app, fake):
    message_id, events, asked, _ = ask_time(app, fake)
    assert answer(app, message_id, asked["id"], approve=True, always=True).status_code == 200
    assert of(list(events), "tool_result")[0]["status"] == "done"
    assert '"builtin/current_time" = "always"' in app.settings_path.read_text()
    assert app.runtime.settings.current.tools.approval["builtin/current_time"] == "always"
    # the next call runs without asking
    session = app.new_session(model=OLLAMA)
    fake.script(Reply(text="", tool_calls=[Called("current_time")]), Reply(text="Again."))
    events = app.chat(session["id"], {"message": "and now?"})
    assert not of(events, "tool_approval") and of(events, "tool_result")[0]["status"] == "done"


def test_an_answer_for_another_reply_or_a_bad_body_is_refused(app, fake):
    message_id, events, asked, _ = ask_time(app, fake)
    other = app.new_session(model=OLLAMA)
    done = app.chat(other["id"], {"message": "hi"})[-1][1]["message"]
    assert answer(app, done["id"], asked["id"], approve=True).status_code == 409
    assert answer(app, message_id, asked["id"], approve="yes").status_code == 422
    assert answer(app, message_id, asked["id"]).status_code == 422
    assert answer(app, "nope", asked["id"], approve=True).status_code == 404
    assert answer(app, message_id, asked["id"], approve=False).status_code == 200
    list(events)


def test_no_answer_in_time_counts_as_deny(start_server, both_kinds_settings, fake):
    app = start_server(both_kinds_settings + "\n[tools]\napproval_timeout = 0.3\n")
    message_id, events, asked, _ = ask_time(app, fake)
    [result] = of(list(events), "tool_result")
    assert result["status"] == "denied"
    assert result["content"].startswith("Nobody answered whether this tool call may run")
    assert answer(app, message_id, asked["id"], approve=True).status_code == 409


def test_stop_while_waiting_for_approval(app, fake):
    message_id, events, asked, _ = ask_time(app, fake)
    stopped = app.post(f"/api/messages/{message_id}/stop").json()["message"]
    assert stopped["status"] == "stopped"
    assert [t["status"] for t in stopped["tools"]] == ["stopped"]
    assert list(events)[-1][0] == "done"
    assert len(fake.chat_requests()) == 1


def test_a_pending_question_survives_a_reload_and_is_answered_after(app, fake):
    message_id, events, asked, _ = ask_time(app, fake)
    # the page goes away; the reply keeps waiting, saved as it is
    del events
    saved = wait_for(lambda: (m := app.get(f"/api/messages/{message_id}").json())["tools"]
                     and m)
    assert saved["status"] == "streaming"
    assert [(t["id"], t["status"], t["deadline"]) for t in saved["tools"]] == [
        (asked["id"], "waiting", asked["deadline"])]
    # re-attached from the start, the question is there again
    response = app.get(f"/api/messages/{message_id}/events?after=0", stream=True)
    replayed = iter_events(response)
    for kind, data in replayed:
        if kind == "tool_approval":
            assert data == {**asked, "_id": data["_id"]}
            break
    assert answer(app, message_id, asked["id"], approve=True).status_code == 200
    rest = list(replayed)
    assert of(rest, "tool_result")[0]["status"] == "done" and rest[-1][0] == "done"
    final = app.get(f"/api/messages/{message_id}").json()
    assert [t["status"] for t in final["tools"]] == ["done"]
    assert "deadline" not in final["tools"][0]
    assert read_events(app.get(f"/api/messages/{message_id}/events?after=0", stream=True))


# --- a crash mid-loop -----------------------------------------------------------------------


def test_a_killed_app_leaves_the_calls_done_saved_and_the_reply_interrupted(app, fake):
    """The checkpoints hold every step while the reply waits; the start-up recovery of a
    crashed app ends the reply and its unfinished call as interrupted."""
    session = app.new_session(model=OLLAMA)
    fake.script(Reply(text="First.", tool_calls=[Called("calculator", {"expression": "1+1"}),
                                                 Called("current_time")]),
                Reply(text="never"))
    response = open_stream(app, session["id"], {"message": "go"})
    events = iter_events(response)
    message_id = next(events)[1]["assistant_message"]["id"]
    next(data for kind, data in events if kind == "tool_approval")
    store = app.runtime.store
    saved = wait_for(lambda: (r := store.get_message(message_id)).tools
                     and len(r.tools) == 2 and r)
    assert saved.status == "streaming" and saved.content == "First."
    assert [(t["name"], t["status"], t["content"]) for t in saved.tools] == [
        ("calculator", "done", "2"), ("current_time", "waiting", None)]
    assert store.mark_interrupted() == 1  # what the next start does after a kill
    after = store.get_message(message_id)
    assert after.status == "interrupted"
    assert [(t["status"], "deadline" in t) for t in after.tools] == [
        ("done", False), ("interrupted", False)]
    response.close()


def test_quitting_while_a_call_waits_saves_it_interrupted(app, fake):
    message_id, events, asked, _ = ask_time(app, fake)
    app.runtime.shutdown()
    with Store(app.data_dir / "openchat.sqlite3") as store:
        saved = store.get_message(message_id)
    assert saved.status == "interrupted"
    assert [t["status"] for t in saved.tools] == ["interrupted"]
    list(events)


def test_in_plan_mode_only_the_executor_gets_tools(app, fake):
    session = app.new_session(model=OLLAMA)
    plan = {"planner": OLLAMA, "executor": COMPAT}
    assert app.patch(f"/api/sessions/{session['id']}", {"plan_mode": plan}).status_code == 200
    fake.script(Reply(text="1. Compute."), sums(), Reply(text="Done."))
    events = app.chat(session["id"], {"message": "6*7 and 2**10?"})
    planner, executor, after = [r.body for r in fake.chat_requests()]
    assert "tools" not in planner
    assert [t["function"]["name"] for t in executor["tools"]] == BUILTIN_NAMES
    assert after["tools"] == executor["tools"]
    assert [r["content"] for r in of(events, "tool_result")] == ["42", "1024"]
    assert texts(events, "plan") == "1. Compute."
