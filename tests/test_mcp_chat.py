"""A question that needs an MCP server's tool, end to end: the model (a fake Ollama) asks for
the test MCP server's `add`, the person approves through the API, the real server (a stdio
child of the app) runs it, and the model's answer uses the result."""

from __future__ import annotations

import pytest

from .fake_provider import Called, Reply
from .support import iter_events, open_stream, texts
from .test_api_tool_servers import server_entry

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", capabilities={"llama3.2:3b": ["completion", "tools"]})


@pytest.fixture
def app(start_server, ollama_settings):
    return start_server(ollama_settings + "\n" + server_entry())


def test_an_approved_mcp_call_answers_the_question(app, fake):
    session = app.new_session(model="ollama/llama3.2:3b")
    fake.script(Reply(text="", tool_calls=[Called("add", {"a": 2, "b": 3})]),
                Reply(text="2 + 3 is 5."))
    events = iter_events(open_stream(app, session["id"], {"message": "What is 2 + 3?"}))
    reply_id = next(events)[1]["assistant_message"]["id"]
    seen = []
    for kind, data in events:
        seen.append((kind, data))
        if kind == "tool_approval":
            break
    else:
        raise AssertionError(f"no approval asked: {seen}")
    assert data["name"] == "add" and data["arguments"] == {"a": 2, "b": 3}
    # The offer named the server's tools beside the app's own.
    offered = [t["function"]["name"] for t in fake.chat_requests()[0].body["tools"]]
    assert "add" in offered and "calculator" in offered
    answered = app.post(f"/api/messages/{reply_id}/tool-calls/{data['id']}", {"approve": True})
    assert answered.status_code == 200, answered.text
    rest = list(events)
    [result] = [d for k, d in rest if k == "tool_result"]
    assert result["is_error"] is False and result["content"] == "5"
    sent = fake.chat_requests()[-1].body["messages"]
    assert sent[-1] == {"role": "tool", "tool_name": "add", "content": "5"}
    assert texts(rest) == "2 + 3 is 5."
    saved = app.get(f"/api/messages/{reply_id}").json()
    assert saved["status"] == "complete"
    assert [(c["name"], c["status"], c["content"]) for c in saved["tools"]] == [
        ("add", "done", "5")]
