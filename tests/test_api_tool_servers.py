"""The tools API and [[mcp_servers]] settings, with the test MCP server (tests/mcp_server.py) as
a real stdio child of the app."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from openchat_desktop.settings import MCP_SERVER_SETTINGS

from .support import modules_loaded, wait_for
from .test_cli import Serve
from .test_mcp_servers import SERVER_SCRIPT, alive

TOKEN_VALUE = "tok-abcdefghijklmnop-123"


def server_entry(server_id: str = "calc", **extra: str) -> str:
    lines = [
        "[[mcp_servers]]",
        f'id = "{server_id}"',
        f"command = {json.dumps(sys.executable)}",
        f"args = [{json.dumps(SERVER_SCRIPT)}]",
        *(f"{key} = {value}" for key, value in extra.items()),
    ]
    return "\n".join(lines) + "\n\n"


def sources_by_id(server) -> dict:
    response = server.get("/api/tools")
    assert response.status_code == 200, response.text
    return {source["id"]: source for source in response.json()["sources"]}


def test_a_server_is_stopped_until_started_then_ok_with_its_tools(start_server):
    server = start_server(
        server_entry(approval='"always"', tools='{ crash = "never" }')
        + '[[mcp_servers]]\nid = "broken"\ncommand = "no-such-command-here"\n'
    )
    listed = sources_by_id(server)
    assert listed["calc"] == {"id": "calc", "kind": "stdio", "enabled": True,
                              "status": "stopped", "message": None, "tools": []}
    started = server.post("/api/tools/servers/calc/start")
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "ok"
    tools = {tool["name"]: tool for tool in sources_by_id(server)["calc"]["tools"]}
    assert tools["add"] == {"name": "add", "description": "Add two numbers.",
                            "approval": "always"}
    assert tools["crash"]["approval"] == "never"
    failed = server.post("/api/tools/servers/broken/start").json()
    assert failed["status"] == "error"
    assert failed["message"] == (
        'The command "no-such-command-here" was not found; install it, or give its full path.'
    )
    assert sources_by_id(server)["broken"]["status"] == "error"
    missing = server.post("/api/tools/servers/nope/start")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_tool_server"


def test_the_test_route_lists_the_tools_of_an_unsaved_entry_and_saves_nothing(server):
    entry = {"id": "trial", "command": sys.executable, "args": [SERVER_SCRIPT],
             "approval": "never"}
    response = server.post("/api/tools/servers/test", entry)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["message"] is None
    assert {"name": "add", "description": "Add two numbers.", "approval": "never"} in body["tools"]
    assert "trial" not in sources_by_id(server)
    assert not server.settings_path.exists() or "trial" not in server.settings_path.read_text()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "x", "command": "no-such-command-here"},
         'The command "no-such-command-here" was not found; install it, or give its full path.'),
        ({"id": "x", "command": sys.executable, "args": ["-c", "print('hello')"]},
         'The server "x" stopped; check its command and arguments, and that it is an MCP '
         "server."),
        ({"id": "x", "url": "http://127.0.0.1:9/mcp"},
         "Nothing answers at http://127.0.0.1:9/mcp; check the address and that the server "
         "runs."),
    ],
)
def test_the_test_route_says_why_a_server_cannot_be_used(server, entry, message):
    response = server.post("/api/tools/servers/test", entry)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": False, "tools": [], "message": message}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "x"}, 'mcp_server has no command or url; add command = "npx"'),
        ({"id": "x", "command": "a", "url": "http://127.0.0.1:1/mcp"},
         "mcp_server has both command and url"),
        ({"id": "builtin", "command": "a"}, 'mcp_server.id "builtin" is the name of'),
        ({"id": "x", "command": "a", "approval": "sometimes"},
         'mcp_server.approval is "sometimes"; use "ask", "always" or "never".'),
        ({"id": "x", "url": "ftp://host/mcp"}, "mcp_server.url is"),
        ({"id": "x", "command": "a", "colour": "red"}, "mcp_server.colour is not a setting"),
    ],
)
def test_an_entry_that_breaks_the_rules_is_refused_with_a_sentence(server, entry, message):
    response = server.post("/api/tools/servers/test", entry)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith(message)


def test_secret_env_and_header_values_are_masked_and_masked_values_mean_the_stored_ones(
    start_server,
):
    server = start_server(
        server_entry(env=f'{{ SECRET_TOKEN = "{TOKEN_VALUE}", MODE = "plain" }}')
        + '[[mcp_servers]]\nid = "web"\nurl = "http://127.0.0.1:9/mcp"\n'
        f'headers = {{ Authorization = "Bearer {TOKEN_VALUE}", X-Title = "OpenChat" }}\n'
    )
    view = server.get("/api/settings").json()["settings"]["mcp_servers"]
    assert TOKEN_VALUE not in json.dumps(view)
    calc, web = view
    assert set(calc) == set(web) == {setting.name for setting in MCP_SERVER_SETTINGS}
    assert calc["env"] == {"SECRET_TOKEN": "…-123", "MODE": "plain"}
    assert web["headers"] == {"Authorization": "…-123", "X-Title": "OpenChat"}
    assert TOKEN_VALUE not in repr(server.runtime.settings.current)
    # Sent back masked, the stored value reaches the server: its `secret` tool says so.
    server.post("/api/tools/servers/calc/start")
    tested = server.post("/api/tools/servers/test", calc).json()
    assert tested["ok"], tested
    # Saving the view as it is keeps the stored secrets in the file.
    calc["approval"] = "never"
    saved = server.patch("/api/settings", {"mcp_servers": [calc, web]})
    assert saved.status_code == 200, saved.text
    text = server.settings_path.read_text()
    assert text.count(TOKEN_VALUE) == 2 and 'approval = "never"' in text


def test_a_masked_value_does_not_follow_an_entry_to_another_command(start_server, tmp_path):
    server = start_server(server_entry(env=f'{{ SECRET_TOKEN = "{TOKEN_VALUE}" }}'))
    calc = server.get("/api/settings").json()["settings"]["mcp_servers"][0]
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text(Path(SERVER_SCRIPT).read_text())
    calc["args"] = [str(elsewhere)]
    saved = server.patch("/api/settings", {"mcp_servers": [calc]})
    assert saved.status_code == 200, saved.text
    assert TOKEN_VALUE not in server.settings_path.read_text()


def test_a_wrong_entry_in_the_file_is_reported_and_the_rest_stays_in_use(start_server):
    server = start_server(
        server_entry() + '[[mcp_servers]]\nid = "bad"\napproval = "never"\n'
    )
    body = server.get("/api/settings").json()
    assert body["problem"]["fatal"] is False
    assert body["problem"]["message"].endswith(
        'mcp_servers[1] has no command or url; add command = "npx" (a program on this machine) '
        'or url = "http://127.0.0.1:8000/mcp". This server is left out until it is fixed.'
    )
    assert [s["id"] for s in body["settings"]["mcp_servers"]] == ["calc"]
    assert set(sources_by_id(server)) == {"builtin", "calc"}
    # Saving the servers the page sees leaves the one it cannot see for the person to fix.
    calc = body["settings"]["mcp_servers"][0]
    assert server.patch("/api/settings", {"mcp_servers": [calc]}).status_code == 200
    assert 'id = "bad"' in server.settings_path.read_text()


def test_settings_add_edit_and_remove_a_server(server):
    entry = {"id": "calc", "command": sys.executable, "args": [SERVER_SCRIPT]}
    added = server.patch("/api/settings", {"mcp_servers": [entry]})
    assert added.status_code == 200, added.text
    assert sources_by_id(server)["calc"]["status"] == "stopped"
    assert server.post("/api/tools/servers/calc/start").json()["status"] == "ok"
    disabled = server.patch("/api/settings", {"mcp_servers": [{**entry, "enabled": False}]})
    assert disabled.status_code == 200
    assert sources_by_id(server)["calc"]["enabled"] is False
    assert "enabled = false" in server.settings_path.read_text()
    duplicate = server.patch("/api/settings", {"mcp_servers": [entry, entry]})
    assert duplicate.status_code == 422
    assert 'mcp_servers[1].id "calc" is already used' in duplicate.json()["error"]["message"]
    assert server.patch("/api/settings", {"mcp_servers": []}).status_code == 200
    assert "mcp_servers" not in server.settings_path.read_text()
    assert set(sources_by_id(server)) == {"builtin"}


def test_a_chat_chooses_its_tool_servers(start_server):
    server = start_server(server_entry() + server_entry("other"))
    session = server.new_session()
    assert session["tool_servers"] is None
    chosen = server.patch(f"/api/sessions/{session['id']}", {"tool_servers": ["other"]})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["tool_servers"] == ["other"]
    assert server.get(f"/api/sessions/{session['id']}").json()["tool_servers"] == ["other"]
    unknown = server.patch(f"/api/sessions/{session['id']}", {"tool_servers": ["other", "nope"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"] == (
        "`tool_servers` names 'nope', which is not a tool server; see GET /api/tools."
    )
    assert server.patch(f"/api/sessions/{session['id']}", {"tool_servers": "calc"}).status_code \
        == 422
    none = server.patch(f"/api/sessions/{session['id']}", {"tool_servers": []})
    assert none.json()["tool_servers"] == []
    every = server.patch(f"/api/sessions/{session['id']}", {"tool_servers": None})
    assert every.json()["tool_servers"] is None


def test_the_app_stops_its_servers_when_it_closes(start_server, tmp_path):
    pid_file = tmp_path / "pid"
    server = start_server(server_entry(env=f'{{ PID_FILE = "{pid_file}" }}'))
    assert server.post("/api/tools/servers/calc/start").json()["status"] == "ok"
    pid = int(pid_file.read_text())
    assert alive(pid)
    server.runtime.shutdown()
    assert not alive(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_app_leaves_no_server_behind(tmp_path):
    pid_file = tmp_path / "pid"
    settings = tmp_path / "settings.toml"
    settings.write_text(server_entry(env=f'{{ PID_FILE = "{pid_file}" }}'))
    app = Serve(tmp_path, "--port", "0", "--data-dir", str(tmp_path / "data"),
                "--settings", str(settings))
    try:
        started = app.http.post(f"{app.base}/api/tools/servers/calc/start", timeout=30)
        assert started.json()["status"] == "ok"
        pid = int(pid_file.read_text())
        assert alive(pid)
        app.process.kill()
        app.process.wait(5)
        wait_for(lambda: not alive(pid), timeout=5)
    finally:
        app.close()


def test_an_app_without_mcp_servers_never_loads_the_sdk(tmp_path):
    loaded = modules_loaded(tmp_path, "runtime.tool_sources.states()", ("mcp", "pydantic"))
    assert loaded == [False, False]
