"""MCP servers as tool sources, against a real server written with the SDK (tests/mcp_server.py):
over stdio as a child process, and over streamable HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openchat_desktop.providers.base import Cancel
from openchat_desktop.tools.base import ToolContext
from openchat_desktop.tools.mcp import McpServerConfig, McpServerError, McpServers
from openchat_desktop.tools.registry import ToolSources

from .support import wait_for

SERVER_SCRIPT = str(Path(__file__).with_name("mcp_server.py"))
CONTEXT = ToolContext(session_id="s")


def stdio_config(server_id: str = "calc", **fields: object) -> McpServerConfig:
    return McpServerConfig(id=server_id, command=sys.executable, args=(SERVER_SCRIPT,), **fields)


@pytest.fixture
def servers(tmp_path) -> Iterator[McpServers]:
    configs: list[McpServerConfig] = [stdio_config()]
    made = McpServers(lambda: tuple(configs), tmp_path)
    made.configs = configs  # type: ignore[attr-defined]  # the test edits the "settings"
    yield made
    made.shutdown()


def tools_of(servers: McpServers) -> dict:
    source = servers.sources()[0]
    return {tool.spec.name: tool for tool in source.tools(CONTEXT)}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_servers_tools_are_listed_with_their_schema_source_and_approval(servers):
    servers.configs[0] = stdio_config(approval="always", tools={"crash": "never"})
    tools = tools_of(servers)
    assert set(tools) == {"add", "fail", "slow", "crash", "picture", "secret"}
    add = tools["add"].spec
    assert add.description == "Add two numbers."
    assert add.parameters["properties"].keys() == {"a", "b"}
    assert (add.source, add.approval, add.network) == ("calc", "always", False)
    assert tools["crash"].spec.approval == "never"
    state = servers.sources()[0].state()
    assert (state.status, state.message, state.kind) == ("ok", None, "stdio")


def test_a_call_gives_the_text_and_an_error_is_an_error_outcome(servers):
    tools = tools_of(servers)
    outcome = tools["add"].run({"a": 2, "b": 3}, Cancel())
    assert (outcome.content, outcome.is_error) == ("5", False)
    failed = tools["fail"].run({}, Cancel())
    assert failed.is_error and "the tool broke on purpose" in failed.content
    picture = tools["picture"].run({}, Cancel())
    assert picture.content == "a red dot\n[an image (image/png)]"


def test_the_env_of_the_entry_reaches_the_server(servers):
    servers.configs[0] = stdio_config(env=(("SECRET_TOKEN", "tok-123456789"),))
    assert tools_of(servers)["secret"].run({}, Cancel()).content == "tok-123456789"


def test_a_call_past_its_timeout_is_an_error_and_the_server_goes_on(servers):
    servers.configs[0] = stdio_config(timeout=0.5)
    tools = tools_of(servers)
    outcome = tools["slow"].run({"seconds": 30}, Cancel())
    assert outcome.is_error
    assert outcome.content == (
        'The tool slow of the server "calc" gave no answer within 0.5 seconds.'
    )
    assert tools["add"].run({"a": 1, "b": 1}, Cancel()).content == "2"


def test_stop_ends_a_call_at_once(servers):
    tools = tools_of(servers)
    cancel = Cancel()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    outcome = tools["slow"].run({"seconds": 30}, cancel)
    assert time.monotonic() - started < 5
    assert outcome.is_error and "stopped" in outcome.content
    assert tools["add"].run({"a": 1, "b": 2}, Cancel()).content == "3"


def test_a_crashed_server_is_an_error_and_starts_again_on_the_next_call(servers):
    tools = tools_of(servers)
    outcome = tools["crash"].run({}, Cancel())
    assert outcome.is_error
    assert 'The server "calc" stopped during the call to crash' in outcome.content
    state = servers.sources()[0].state()
    assert state.status == "error" and "crash" in state.message
    assert tools["add"].run({"a": 4, "b": 4}, Cancel()).content == "8"
    assert servers.sources()[0].state().status == "ok"


def test_a_server_that_died_while_idle_starts_again_when_its_tools_are_asked_for(
    servers, tmp_path
):
    pid_file = tmp_path / "pid"
    servers.configs[0] = stdio_config(env=(("PID_FILE", str(pid_file)),))
    tools_of(servers)
    first = int(pid_file.read_text())
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not alive(first))
    tools = tools_of(servers)
    assert int(pid_file.read_text()) != first
    assert tools["add"].run({"a": 1, "b": 1}, Cancel()).content == "2"


def test_shutdown_ends_the_servers_process(servers, tmp_path):
    pid_file = tmp_path / "pid"
    servers.configs[0] = stdio_config(env=(("PID_FILE", str(pid_file)),))
    tools_of(servers)
    pid = int(pid_file.read_text())
    assert alive(pid)
    servers.shutdown()
    wait_for(lambda: not alive(pid))


def test_a_changed_entry_restarts_the_server_and_a_removed_one_stops(servers, tmp_path):
    pid_file = tmp_path / "pid"
    servers.configs[0] = stdio_config(env=(("PID_FILE", str(pid_file)),))
    tools_of(servers)
    first = int(pid_file.read_text())
    servers.configs[0] = stdio_config(env=(("PID_FILE", str(pid_file)),), approval="never")
    assert tools_of(servers)["add"].spec.approval == "never"
    assert int(pid_file.read_text()) == first  # approval is not how it is reached
    servers.configs.clear()
    assert servers.sources() == []
    wait_for(lambda: not alive(first))


def test_a_disabled_server_offers_no_tools_and_is_not_started(servers):
    servers.configs[0] = stdio_config(enabled=False)
    source = servers.sources()[0]
    assert source.tools(CONTEXT) == []
    assert source.state().status == "stopped"


@pytest.mark.parametrize(
    ("config", "sentence"),
    [
        (McpServerConfig(id="x", command="no-such-command-here"),
         'The command "no-such-command-here" was not found; install it, or give its full path.'),
        (McpServerConfig(id="x", command=sys.executable, args=("-c", "import sys; sys.exit(2)")),
         'The server "x" stopped; check its command and arguments, and that it is an MCP server.'),
        (McpServerConfig(id="x", command=sys.executable,
                         args=("-c", "import sys; sys.stderr.write('bad flag --q\\n')")),
         'The server "x" stopped: "bad flag --q"; check its command and arguments'),
        (McpServerConfig(id="x", url="http://127.0.0.1:9/mcp"),
         "Nothing answers at http://127.0.0.1:9/mcp; check the address and that the server "
         "runs."),
    ],
    ids=["missing", "exits", "stderr", "nothing-listens"],
)
def test_a_server_that_cannot_start_says_why(servers, config, sentence):
    with pytest.raises(McpServerError) as caught:
        servers.test(config)
    assert str(caught.value).startswith(sentence)


def test_the_tools_of_two_servers_with_the_same_names_are_told_apart(tmp_path):
    configs = (stdio_config("one"), stdio_config("two"))
    servers = McpServers(lambda: configs, tmp_path)
    registry = ToolSources()
    registry.add_group(servers.sources)
    try:
        names = [tool.spec.name for tool in registry.tools(CONTEXT)]
        assert "one__add" in names and "two__add" in names and "add" not in names
        only = {tool.spec.name: tool for tool in registry.tools(CONTEXT, ["two"])}
        assert "add" in only and all(t.spec.source == "two" for t in only.values())
        assert {tool.spec.name: tool for tool in registry.tools(CONTEXT)}["one__add"].run(
            {"a": 1, "b": 2}, Cancel()
        ).content == "3"
    finally:
        servers.shutdown()


# --- streamable HTTP --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def http_server() -> Iterator[str]:
    """The test server over streamable HTTP, answering 401 without `Bearer secret-token-1234`."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, SERVER_SCRIPT, "http", str(port), "secret-token-1234"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, timeout=20)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait(5)


def test_an_http_server_lists_and_runs_its_tools(http_server, tmp_path):
    config = McpServerConfig(
        id="web", url=http_server, headers=(("Authorization", "Bearer secret-token-1234"),)
    )
    servers = McpServers(lambda: (config,), tmp_path)
    try:
        tools = tools_of(servers)
        assert tools["add"].spec.network
        assert tools["add"].run({"a": 20, "b": 22}, Cancel()).content == "42"
        assert servers.sources()[0].state().kind == "http"
    finally:
        servers.shutdown()


def test_an_http_server_that_refuses_the_headers_says_so(http_server):
    servers = McpServers(lambda: (), None)
    try:
        with pytest.raises(McpServerError) as caught:
            servers.test(McpServerConfig(id="web", url=http_server))
        assert str(caught.value) == (
            f"The server at {http_server} refused OpenChat (HTTP 401); check its headers, e.g. "
            "the Authorization token."
        )
    finally:
        servers.shutdown()
