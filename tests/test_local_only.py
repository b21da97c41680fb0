"""Local-only mode and the outbound log, proved on a real `openchat serve`: with the mode on,
an audit hook in the child sees no connection and no name lookup leave this machine while
every way of reaching another host is tried; with it off, a proxy sees the requests and the
log lists them with their status and sizes."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from openchat_desktop.outbound.policy import Destination, is_this_machine

from .support import iter_events
from .test_cli import Serve

KEY = "sk-test-secret-key-0123456789"

# Loaded by the child's interpreter at start-up (it is first on PYTHONPATH): every socket
# connection and every name lookup the child makes, one JSON line each.
AUDIT = """
import json, os, sys, threading

_out = open(os.environ["OPENCHAT_AUDIT_FILE"], "a", buffering=1, encoding="utf-8")
_lock = threading.Lock()

def _hook(event, args):
    if event == "socket.connect":
        line = ["connect", repr(args[1])]
    elif event == "socket.getaddrinfo":
        line = ["getaddrinfo", args[0] if isinstance(args[0], str) else repr(args[0])]
    else:
        return
    with _lock:
        _out.write(json.dumps(line) + "\\n")

sys.addaudithook(_hook)
"""


def settings_text(*, local_only: bool, scheme: str, host: str, hub: str, mcp: str) -> str:
    return f"""
local_only = {str(local_only).lower()}
default_model = "claude/claude-x"

[[providers]]
id = "claude"
kind = "openai"
base_url = "{scheme}://{host}/v1"
api_key = "{KEY}"

[[providers]]
id = "local"
kind = "local"

[[providers]]
id = "ollama"
kind = "ollama"
base_url = "http://127.0.0.1:{free_port()}"

[[mcp_servers]]
id = "remote"
url = "{scheme}://{mcp}/mcp"

[local]
hub_url = "{scheme}://{hub}"
"""


def free_port() -> int:
    """A port nothing listens on: this machine's provider there is tried, and refuses."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(tmp_path: Path, settings: str, env: dict[str, str]) -> Serve:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(AUDIT)
    (tmp_path / "settings.toml").write_text(settings)
    repo = Path(__file__).resolve().parent.parent
    env = {
        "PYTHONPATH": f"{site}:{repo}",
        "OPENCHAT_AUDIT_FILE": str(tmp_path / "audit.jsonl"),
        "HF_ENDPOINT": "",
        "NO_PROXY": "", "no_proxy": "",
        "HTTP_PROXY": "", "HTTPS_PROXY": "", "http_proxy": "", "https_proxy": "",
        **env,
    }
    return Serve(
        tmp_path, "--port", "0", "--data-dir", str(tmp_path / "data"),
        "--settings", str(tmp_path / "settings.toml"), env=env,
    )


def try_every_way_out(server: Serve, test_url: str) -> dict[str, str]:
    """List models, chat, press Test connection, download a model, start the tool server:
    what each answered, as text."""
    base, http = server.base, server.http
    answers: dict[str, str] = {}
    answers["models"] = http.get(f"{base}/api/models", timeout=30).text
    session = http.post(f"{base}/api/sessions", json={"model": "claude/claude-x"}, timeout=10)
    assert session.status_code == 201, session.text
    chat = http.post(
        f"{base}/api/sessions/{session.json()['id']}/chat",
        json={"message": "Hello there"}, timeout=30,
    )
    answers["chat"] = chat.text
    answers["test"] = http.post(
        f"{base}/api/providers/test",
        json={"id": "other", "kind": "openai", "base_url": test_url}, timeout=30,
    ).text
    with http.post(
        f"{base}/api/providers/local/models/pull", json={"name": "someone/Tiny-Model-GGUF"},
        stream=True, timeout=30,
    ) as pulled:
        answers["download"] = json.dumps(list(iter_events(pulled)), ensure_ascii=False)
    answers["mcp"] = http.post(f"{base}/api/tools/servers/remote/start", timeout=60).text
    return answers


def audited(tmp_path: Path) -> list[tuple[str, str]]:
    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [tuple(json.loads(line)) for line in lines]  # type: ignore[misc]


def loopback(address: str) -> bool:
    """A connect() destination as the audit hook wrote it: ('127.0.0.1', 5000), a socket path…"""
    try:
        value = eval(address, {})  # written by repr() of a tuple or a str; noqa: S307
    except SyntaxError:
        return False
    if isinstance(value, str | bytes):
        return True  # a Unix socket on this machine
    try:
        return ipaddress.ip_address(value[0]).is_loopback
    except ValueError:
        return False


def outbound(server: Serve) -> list[dict[str, Any]]:
    response = server.http.get(f"{server.base}/api/outbound", timeout=10)
    assert response.status_code == 200, response.text
    assert KEY not in response.text
    rows: list[dict[str, Any]] = response.json()["requests"]
    return rows


def test_what_counts_as_this_machine_is_decided_from_the_name_alone():
    for host in ("localhost", "LOCALHOST.", "127.0.0.1", "127.8.9.1", "::1", "[::1]"):
        assert is_this_machine(host), host
    for host in ("api.anthropic.com", "localhost.example.com", "10.0.0.2", "192.168.1.5",
                 "0.0.0.0", "::", "my-laptop.local", ""):
        assert not is_this_machine(host), host
    shown = Destination.of("https://api.example.com:8443/v1/models?key=secret#x")
    assert (shown.host, shown.path) == ("api.example.com:8443", "/v1/models")
    assert Destination.of("https://api.example.com:443/").host == "api.example.com"
    assert Destination.of("http://[2001:db8::1]:8080/a?b").host == "[2001:db8::1]:8080"


def test_with_local_only_on_nothing_leaves_the_machine(tmp_path):
    settings = settings_text(local_only=True, scheme="https", host="api.anthropic.com",
                             hub="huggingface.co", mcp="mcp.example.com")
    server = start(tmp_path, settings, {})
    try:
        answers = try_every_way_out(server, "https://api.openai.com/v1")
        rows = outbound(server)
    finally:
        server.close()

    said = "Local-only mode is on, so OpenChat did not connect to"
    assert f"{said} api.anthropic.com for “claude”." in answers["models"]
    assert f"{said} api.anthropic.com for “claude”." in answers["chat"]
    assert f"{said} api.openai.com for “other”." in answers["test"]
    assert f"{said} huggingface.co to download a model." in answers["download"]
    assert f"{said} mcp.example.com for the tool server “remote”." in answers["mcp"]
    for answer in answers.values():
        assert "Turn it off in Settings" in answer
        assert "Traceback" not in answer and KEY not in answer

    events = audited(tmp_path)
    # The hook did watch the child: this machine's Ollama was tried, as local-only allows.
    assert any(kind == "connect" and loopback(a) for kind, a in events)
    assert [a for kind, a in events if kind == "connect" and not loopback(a)] == []
    looked_up = {a for kind, a in events if kind == "getaddrinfo"}
    assert looked_up <= {"127.0.0.1", "localhost", "::1", "None"}, looked_up

    refused = {(row["source"], row["host"]) for row in rows if row["outcome"] == "refused"}
    assert refused >= {
        ("claude", "api.anthropic.com"),
        ("other", "api.openai.com"),
        ("downloads", "huggingface.co"),
        ("mcp:remote", "mcp.example.com"),
    }
    assert all(row["outcome"] == "refused" and row["status"] is None for row in rows)
    assert all(row["sent"] == 0 and row["received"] == 0 for row in rows)


class Proxy:
    """A forward proxy on 127.0.0.1 that answers itself, like the hosts behind it would:
    a model list and a short streamed reply for /v1, 404 for anything else, and no tunnel
    (CONNECT is refused)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_CONNECT(self) -> None:
                proxy.seen.append(("CONNECT", self.path))
                self.send_error(403)

            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def do_DELETE(self) -> None:
                self.answer()

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                proxy.seen.append((self.command, self.path))
                if self.path.endswith("/v1/models"):
                    self.send(200, "application/json", json.dumps(
                        {"object": "list", "data": [{"id": "claude-x", "object": "model"}]}))
                elif self.path.endswith("/v1/chat/completions"):
                    chunks = [
                        {"choices": [{"index": 0, "delta": {"role": "assistant",
                                                            "content": "Hi from afar"}}]},
                        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    ]
                    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
                    self.send(200, "text/event-stream", body + "data: [DONE]\n\n")
                else:
                    self.send(404, "application/json", '{"error": "not here"}')

            def send(self, status: int, content_type: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    running = Proxy()
    yield running
    running.close()


def test_with_local_only_off_the_requests_go_out_and_the_log_lists_them(tmp_path, proxy):
    settings = settings_text(local_only=False, scheme="http", host="api.example.com",
                             hub="hub.example.com", mcp="mcp.example.com")
    env = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url,
           "http_proxy": proxy.url, "https_proxy": proxy.url}
    server = start(tmp_path, settings, env)
    try:
        answers = try_every_way_out(server, "https://api.openai.com/v1")
        rows = outbound(server)
    finally:
        server.close()

    assert "Hi from afar" in answers["chat"]
    assert "Local-only" not in json.dumps(answers)
    seen = set(proxy.seen)
    assert ("GET", "http://api.example.com/v1/models") in seen
    assert ("POST", "http://api.example.com/v1/chat/completions") in seen
    assert ("CONNECT", "api.openai.com:443") in seen
    assert any(path.startswith("http://hub.example.com/api/models/someone/Tiny-Model-GGUF/")
               for _, path in seen)
    assert ("POST", "http://mcp.example.com/mcp") in seen

    by_path = {(row["source"], row["method"], row["host"], row["path"]): row for row in rows}
    models = by_path[("claude", "GET", "api.example.com", "/v1/models")]
    assert (models["status"], models["outcome"]) == (200, "sent") and models["received"] > 0
    chat = by_path[("claude", "POST", "api.example.com", "/v1/chat/completions")]
    assert chat["status"] == 200 and chat["sent"] > 0 and chat["received"] > 0
    tested = by_path[("other", "GET", "api.openai.com", "/v1/models")]
    assert (tested["status"], tested["outcome"]) == (None, "failed")
    hub = [row for row in rows if row["source"] == "downloads"]
    assert hub and all("?" not in row["path"] and row["status"] == 404 for row in hub)
    mcp = [row for row in rows if row["source"] == "mcp:remote"]
    assert mcp and mcp[0]["status"] == 404 and mcp[0]["host"] == "mcp.example.com"
    assert [row["seq"] for row in rows] == sorted((row["seq"] for row in rows), reverse=True)


def test_the_log_completes_each_row_and_keeps_only_the_newest(store):
    from openchat_desktop.outbound import Gate, LocalOnlyRefused, OutboundLog, Requester
    from openchat_desktop.store.clock import utc_now

    log = OutboundLog(store, clock=utc_now, limit=150)
    local_only = False
    gate = Gate(lambda: local_only, log)
    asker = Requester.provider("claude")
    assert gate.enter(asker, "GET", "http://127.0.0.1:11434/api/tags") is None  # not logged
    passage = gate.enter(asker, "POST", "https://api.example.com/v1/chat?key=k", sent=42)
    assert passage is not None
    log.flush()
    [started] = store.outbound_page()
    assert (started.path, started.status, started.sent, started.outcome) == (
        "/v1/chat", None, 42, "sent")
    passage.answered(200)
    passage.end(received=1000)
    passage.end(received=5)  # ended once
    log.flush()
    [done] = store.outbound_page()
    assert (done.seq, done.status, done.received, done.outcome) == (started.seq, 200, 1000, "sent")

    local_only = True
    for number in range(299):
        with pytest.raises(LocalOnlyRefused):
            gate.enter(asker, "GET", f"https://api.example.com/{number}")
    log.close()
    rows = store.outbound_page(limit=1000)
    assert len(rows) == 150
    assert rows[0].path == "/298" and rows[-1].path == "/149"
    assert {row.outcome for row in rows} == {"refused"}
    assert store.outbound_page(before=rows[0].seq, limit=2) == rows[1:3]
