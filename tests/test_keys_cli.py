"""`openchat keys` as a script runs it, beside a running server on the same data folder: the
key is the last line printed and works at once, the list shows it, and revoking it locks it
out on the very next request. Serving beyond this machine needs an active key; a key never
reaches the log of a real `openchat serve`, even at DEBUG."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .keys_support import key_session
from .support import TOKEN, provider_settings
from .test_cli import Serve

STRONG_TOKEN = "a-strong-token-0123456789abcdef"


def openchat_keys(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openchat_desktop", "keys", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=30,
    )


def create(name: str, *args: str, data_dir: Path) -> str:
    result = openchat_keys("create", "--name", name, *args, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def test_keys_made_and_revoked_by_the_command_count_at_once_on_a_running_server(server):
    key = create("ci", "--scope", "read", "--rpm", "600", data_dir=server.data_dir)
    assert key.startswith("oc_") and len(key) == 46
    with key_session(key) as http:
        assert http.get(server.url("/api/sessions"), timeout=5).status_code == 200
        assert http.post(server.url("/api/sessions"), json={}, timeout=5).status_code == 403

        listed = openchat_keys("list", data_dir=server.data_dir)
        assert listed.returncode == 0
        header, row = listed.stdout.splitlines()
        assert header.split()[:5] == ["NAME", "PREFIX", "SCOPE", "RPM", "TPM"]
        assert row.split()[:5] == ["ci", f"{key[:10]}…", "read", "600", "-"]
        assert key[10:] not in listed.stdout

        revoked = openchat_keys("revoke", "ci", data_dir=server.data_dir)
        assert revoked.returncode == 0 and "no longer works" in revoked.stdout
        assert http.get(server.url("/api/sessions"), timeout=5).status_code == 401
    assert server.get("/api/keys").json()["keys"][0]["revoked_at"] is not None


@pytest.mark.parametrize(("args", "status", "says"), [
    (("create", "--name", "taken"), 1, "already exists"),
    (("create", "--name", "x", "--scope", "root"), 1, "scope must be"),
    (("create", "--name", "x", "--rpm", "0"), 1, "requests per minute"),
    (("create", "--name", "x", "--tpm", "lots"), 1, "tokens per minute"),
    (("revoke", "nobody"), 1, "No active key is named “nobody”."),
    (("create",), 2, "--name"),
    (("rotate",), 2, "invalid choice"),
])
def test_the_command_refuses_in_a_sentence(tmp_path, args, status, says):
    create("taken", data_dir=tmp_path / "data")
    result = openchat_keys(*args, data_dir=tmp_path / "data")
    assert result.returncode == status
    assert says in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_an_empty_list_says_how_to_make_a_key(tmp_path):
    result = openchat_keys("list", data_dir=tmp_path / "data")
    assert result.stdout.strip() == (
        "No API keys yet. Make one with: openchat keys create --name NAME")


def test_the_command_loads_neither_the_server_nor_the_window(tmp_path):
    code = ("import sys; from openchat_desktop.cli import main; "
            f"main(['keys', 'list', '--data-dir', {str(tmp_path)!r}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'werkzeug', 'webview')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30)
    assert result.stdout.splitlines()[-1] == "[]", result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serving_beyond_this_machine_needs_an_active_key(tmp_path):
    data = tmp_path / "data"
    args = ("--host", "0.0.0.0", "--port", str(free_port()), "--data-dir", str(data),
            "--token", STRONG_TOKEN)

    def refused() -> str:
        result = subprocess.run([sys.executable, "-m", "openchat_desktop", "serve", *args],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and result.stdout == ""
        message = result.stderr.strip()
        assert len(message.splitlines()) == 1 and message.endswith(".")
        return message

    assert "openchat keys create --name NAME" in refused()
    create("old", data_dir=data)
    assert openchat_keys("revoke", "old", data_dir=data).returncode == 0
    refused()  # a revoked key does not count

    key = create("teammate", data_dir=data)
    server = Serve(tmp_path, *args)
    try:
        with key_session(key) as http:
            assert http.get(f"{server.base}/api/sessions", timeout=5).status_code == 200
    finally:
        server.close()


def test_a_key_never_reaches_the_debug_log_of_a_real_server(tmp_path, fake):
    settings = tmp_path / "served.toml"
    settings.write_text(provider_settings(("ollama", "ollama", fake.ollama_url),
                                          default_model="ollama/llama3.2:3b"))
    data = tmp_path / "data"
    key = create("teammate", data_dir=data)
    server = Serve(tmp_path, "--settings", str(settings), "--data-dir", str(data),
                   "--token", TOKEN, env={"OPENCHAT_LOG_LEVEL": "DEBUG"})
    try:
        with key_session(key) as http:
            session = http.post(f"{server.base}/api/sessions", json={}, timeout=5).json()
            with http.post(f"{server.base}/api/sessions/{session['id']}/chat/stream",
                           json={"message": "Hi"}, stream=True, timeout=10) as stream:
                assert b"event: done" in stream.content
            assert openchat_keys("revoke", "teammate", data_dir=data).returncode == 0
            assert http.get(f"{server.base}/api/sessions", timeout=5).status_code == 401
            http.get(f"{server.base}/api/nowhere?key={key}", timeout=5)
    finally:
        server.process.terminate()
        server.process.wait(10)
        log = server.process.stderr.read()
        server.close()
    assert "DEBUG" in log  # the log was on
    assert key not in log and key[10:] not in log and key[-12:] not in log
