"""The built-in engine takes tools: the real engine and the starter model answer a request that
offers the app's tools (llama.cpp's chat templates are on, so the `tools` field is read, not
refused). The starter model is too small to call tools reliably, so the calls themselves are
proven against the fake OpenAI-compatible server (test_api_tools.py), the same dialect."""

from __future__ import annotations

import pytest

from openchat_desktop.providers.openai_compat import OpenAICompatProvider

from .test_local_engine import STARTER_FILE, engine_settings

pytestmark = pytest.mark.skipif(
    not STARTER_FILE.is_file(), reason="the starter model is fetched by scripts/setup.sh"
)


@pytest.fixture
def tools_app(start_server):
    # No call waits for a person: two tools run, two are refused.
    return start_server(engine_settings() + (
        '\n[tools]\napproval = { "builtin/calculator" = "always", "builtin/current_time" = '
        '"always", "builtin/search_chats" = "never", "builtin/read_file" = "never" }\n'))


def test_the_engine_answers_a_request_that_offers_tools(tools_app, monkeypatch):
    bodies = []
    chat_body = OpenAICompatProvider.chat_body

    def recorded(provider, request):
        bodies.append(chat_body(provider, request))
        return bodies[-1]

    monkeypatch.setattr(OpenAICompatProvider, "chat_body", recorded)
    session = tools_app.new_session()
    events = tools_app.chat(session["id"], {"message": "What is 6*7?",
                                             "options": {"max_tokens": 16}})
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done", events[-1]
    message = events[-1][1]["message"]
    assert message["status"] == "complete"
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == [
        "current_time", "calculator", "search_chats", "read_file"]
    # Whatever the small model did, every call it made ran and was saved with the reply.
    assert len(message["tools"] or []) == kinds.count("tool_result")
