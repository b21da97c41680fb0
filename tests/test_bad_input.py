"""Input no program should send, sent to the real server: lone surrogates and NUL characters
in any string of a body, the address or a query, JSON nested without end, numbers too large
to use, an oversized settings file. Each is refused with a sentence, never a 500, and
nothing is saved."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .support import Server, wait_for

LONE_SURROGATE = "\\ud800"  # as JSON writes it: half of a surrogate pair, not a character
NUL = "\\u0000"
MARK = "\u2603MARK\u2603"  # stands for the bad text until the body is written as JSON


def raw_json(app: Server, method: str, path: str, text: str) -> Any:
    """Send `text` as the JSON body exactly as written (requests would refuse a surrogate)."""
    return app.http.request(method, app.url(path), data=text.encode(),
                            headers={"Content-Type": "application/json"}, timeout=30)


def with_bad_text(body: dict[str, Any], bad: str) -> str:
    """`body` as JSON, with `bad` (a JSON escape) inside each string that reads MARK."""
    return json.dumps(body, ensure_ascii=False).replace(MARK, f"a{bad}b")


@pytest.fixture
def things(app: Server) -> dict[str, str]:
    """A chat with one finished exchange, and a role: ids the attacks aim at."""
    session = app.new_session(title="Kept")
    events = app.chat(session["id"], {"message": "hello"})
    reply = events[-1][1]["message"]
    role = app.post("/api/roles", {"name": "Editor", "instructions": "Edit."}).json()
    return {"session": session["id"], "message": reply["id"], "role": role["id"]}


# (method, path, body with MARK where the bad text goes, the field the refusal names)
BODY_FIELDS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/sessions", {"title": MARK}, "title"),
    ("POST", "/api/sessions", {"model": MARK}, "model"),
    ("POST", "/api/sessions", {"role_id": MARK}, "role_id"),
    ("POST", "/api/sessions", {"system_prompt": MARK}, "system_prompt"),
    ("POST", "/api/sessions", {"plan_mode": {"planner": MARK, "executor": "x"}},
     "plan_mode.planner"),
    ("POST", "/api/sessions", {MARK: 1}, "A key"),
    ("PATCH", "/api/sessions/{session}", {"title": MARK}, "title"),
    ("PATCH", "/api/sessions/{session}", {"model": MARK}, "model"),
    ("PATCH", "/api/sessions/{session}", {"role_id": MARK}, "role_id"),
    ("PATCH", "/api/sessions/{session}", {"system_prompt": MARK}, "system_prompt"),
    ("PATCH", "/api/sessions/{session}", {"draft": MARK}, "draft"),
    ("PATCH", "/api/sessions/{session}", {"think": MARK}, "think"),
    ("PATCH", "/api/sessions/{session}", {"plan_mode": {"planner": "x", "executor": MARK}},
     "plan_mode.executor"),
    ("POST", "/api/roles", {"name": MARK, "instructions": "x"}, "name"),
    ("POST", "/api/roles", {"name": "Writer", "instructions": MARK}, "instructions"),
    ("PUT", "/api/roles/{role}", {"name": MARK}, "name"),
    ("PUT", "/api/roles/{role}", {"instructions": MARK}, "instructions"),
    ("POST", "/api/sessions/{session}/chat/stream", {"message": MARK}, "message"),
    ("POST", "/api/sessions/{session}/chat/stream", {"message": "x", "model": MARK}, "model"),
    ("POST", "/api/sessions/{session}/chat/stream", {"message": "x", "parent_id": MARK},
     "parent_id"),
    ("POST", "/api/sessions/{session}/chat/stream", {"message": "x", "attachments": [MARK]},
     "attachments[0]"),
    ("POST", "/api/sessions/{session}/chat/stream",
     {"message": "x", "plan": {"planner": MARK, "executor": "x"}}, "plan.planner"),
    ("POST", "/api/messages/{message}/regenerate", {"model": MARK}, "model"),
    ("POST", "/api/sessions/{session}/export/save", {"format": MARK}, "format"),
    ("POST", "/api/providers/ollama/models/pull", {"name": MARK}, "name"),
    ("PATCH", "/api/settings", {"default_model": MARK}, "default_model"),
    ("PATCH", "/api/settings", {"theme": MARK}, "theme"),
    ("PATCH", "/api/settings", {MARK: 1}, "A key"),
    ("PATCH", "/api/settings",
     {"providers": [{"id": MARK, "kind": "ollama", "base_url": "http://127.0.0.1:9"}]},
     "providers[0].id"),
    ("PATCH", "/api/settings",
     {"providers": [{"id": "x", "kind": "ollama", "base_url": "http://127.0.0.1:9",
                     "headers": {"X-Title": MARK}}]},
     "providers[0].headers.X-Title"),
    ("POST", "/api/providers/test", {"id": MARK, "kind": "ollama"}, "id"),
    ("POST", "/api/providers/test", {"id": "t", "kind": MARK}, "kind"),
    ("POST", "/api/providers/test", {"id": "t", "kind": "ollama", "base_url": MARK}, "base_url"),
    ("POST", "/api/providers/test", {"id": "t", "kind": "openai", "api_key": MARK}, "api_key"),
]


def saved_state(app: Server) -> tuple[Any, ...]:
    """Everything an attack could have changed: chats, their messages, roles, the settings."""
    sessions = app.get("/api/sessions").json()["sessions"]
    messages = [app.get(f"/api/sessions/{s['id']}/messages").json() for s in sessions]
    return sessions, messages, app.get("/api/roles").json(), app.settings_path.read_text()


def assert_refused(response: Any, *words: str) -> None:
    """A 422 with a sentence (no Python in it) that names what is wrong."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request", error
    message = error["message"]
    assert message.endswith(".") and "Traceback" not in message and "\\u" not in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL], ids=["lone surrogate", "NUL"])
def test_text_that_is_not_text_is_refused_in_every_body_field(app, things, subtests, bad):
    before = saved_state(app)
    for method, path, body, field in BODY_FIELDS:
        with subtests.test(f"{method} {path} {field}"):
            response = raw_json(app, method, path.format(**things), with_bad_text(body, bad))
            assert_refused(response, f"`{field}`" if field != "A key" else field)
    assert saved_state(app) == before


QUERIES = [
    ("/api/search?q=a%00b", "q"),
    ("/api/search?q=a&limit=1%00", "limit"),
    ("/api/sessions?q=a%00b", "q"),
    ("/api/sessions/{session}/messages?before=a%00b", "before"),
    ("/api/sessions/{session}/export?format=json%00", "format"),
    ("/api/messages/{message}/events?after=1%00", "after"),
    ("/api/search?q=a&a%00b=1", "A key"),
]
PATHS = [
    ("GET", "/api/sessions/a%00b", "session_id"),
    ("DELETE", "/api/sessions/a%00b", "session_id"),
    ("GET", "/api/sessions/a%00b/messages", "session_id"),
    ("GET", "/api/roles/a%00b", "role_id"),
    ("PUT", "/api/roles/a%00b", "role_id"),
    ("GET", "/api/messages/a%00b", "message_id"),
    ("POST", "/api/messages/a%00b/stop", "message_id"),
    ("GET", "/api/attachments/a%00b", "attachment_id"),
    ("GET", "/api/providers/a%00b/models", "provider_id"),
    ("DELETE", "/api/providers/ollama/models/a%00b", "name"),
    ("GET", "/api/pulls/a%00b/events", "pull_id"),
]


def test_nul_in_the_address_is_refused_in_every_query_and_path_parameter(app, things, subtests):
    before = saved_state(app)
    for path, name in QUERIES:
        with subtests.test(path):
            response = app.get(path.format(**things))
            assert_refused(response, f"`{name}`" if name != "A key" else name)
    for method, path, name in PATHS:
        with subtests.test(f"{method} {path}"):
            response = app.http.request(method, app.url(path), json={}, timeout=10)
            assert_refused(response, f"`{name}`")
    assert saved_state(app) == before


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_json_nested_deeper_than_the_limit_is_refused(app, things, subtests, depth):
    before = saved_state(app)
    for method, path, field in [
        ("POST", "/api/sessions", "title"),
        ("PATCH", "/api/sessions/{session}", "draft"),
        ("POST", "/api/sessions/{session}/chat/stream", "message"),
        ("PATCH", "/api/settings", "theme"),
        ("POST", "/api/providers/test", "headers"),
    ]:
        with subtests.test(f"{method} {path}"):
            body = f'{{"{field}": {nested(depth - 1)}}}'  # the object is one level
            response = raw_json(app, method, path.format(**things), body)
            assert_refused(response, "64 levels", f"`{field}`")
    assert saved_state(app) == before


def test_json_nested_up_to_the_limit_is_read(app):
    body = f'{{"title": {nested(63)}}}'
    response = raw_json(app, "POST", "/api/sessions", body)
    assert_refused(response, "`title` must be a string")  # read, then refused for its type


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "9" * 400,
                                    "9" * 5000, "-9223372036854775809"])
def test_numbers_json_cannot_carry_are_refused(app, number):
    for path, body in [("/api/settings", '{"timeouts": {"connect": %s}}'),
                       ("/api/sessions", '{"title": %s}')]:
        method = "PATCH" if path == "/api/settings" else "POST"
        response = raw_json(app, method, path, body % number)
        assert_refused(response, "number")
        assert "sys." not in response.json()["error"]["message"]


@pytest.mark.parametrize("last", ["\u00b2", "9" * 5000], ids=["superscript two", "5000 digits"])
def test_a_last_event_id_that_is_no_usable_number_replays_from_the_start(app, things, last):
    # "²".isdigit() is true, yet int("²") fails; int() of 5,000 digits raises too.
    response = app.get(f"/api/messages/{things['message']}/events",
                       headers={"Last-Event-ID": last})
    assert response.status_code == 200, response.text
    assert "event: done" in response.text


# --- the settings file ------------------------------------------------------------------------


def test_an_oversized_settings_file_is_refused_and_the_last_good_settings_stay(app):
    good = app.get("/api/settings").json()["settings"]
    assert good["theme"] == "dark"
    padding = "# " + "x" * 1000 + "\n"
    text = app.settings_path.read_text().replace('default_model', 'theme = "light"\ndefault_model')
    app.settings_path.write_text(text + padding * (11 * 1024))  # 11 MB of comments
    problem = wait_for(lambda: app.get("/api/settings", timeout=30).json()["problem"], 10)
    assert problem["fatal"] is True
    assert str(app.settings_path) in problem["message"] and "1 MB" in problem["message"]
    started = time.monotonic()
    for _ in range(20):  # each request looks at the file again: none may wait for it
        body = app.get("/api/settings", timeout=30).json()
    assert time.monotonic() - started < 5, "requests waited for the settings file"
    assert body["settings"] == good and body["problem"] == problem
    assert app.get("/api/models").json()["providers"][0]["id"] == "ollama"
    refused = app.patch("/api/settings", {"theme": "light"})
    assert refused.status_code == 409 and "1 MB" in refused.json()["error"]["message"]


def test_a_change_that_would_make_the_settings_file_oversized_is_refused(app):
    before = app.settings_path.read_text()
    big = {"providers": [{"id": "ollama", "kind": "ollama", "base_url": "http://127.0.0.1:9",
                          "headers": {"X-Title": "x" * (1024 * 1024)}}]}
    response = app.patch("/api/settings", big)
    assert response.status_code == 422, response.text[:300]
    assert "1 MB" in response.json()["error"]["message"]
    assert app.settings_path.read_text() == before


def test_a_settings_file_with_a_number_too_large_is_a_problem_not_a_failure(start_server):
    app = start_server("[timeouts]\nconnect = " + "9" * 400 + "\n")
    response = app.get("/api/settings")
    assert response.status_code == 200, response.text
    problem = response.json()["problem"]
    assert problem["fatal"] and "timeouts.connect" in problem["message"]
    assert app.get("/api/sessions").status_code == 200
