"""`openchat serve` as a script uses it: the ready line, signals, and a kill mid-reply."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from openchat_desktop import __version__

from .fake_provider import FakeProvider, Reply
from .support import provider_settings

READY = re.compile(r"^OpenChat is serving at (http://127\.0\.0\.1:(\d+))/\?token=(\S+)$")


class Serve:
    """`python -m openchat_desktop serve` in a child process."""

    def __init__(self, tmp_path, *args: str, env: dict | None = None):
        self.env = {**os.environ, **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "openchat_desktop", "serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
        )
        self.started = time.monotonic()
        line = self.process.stdout.readline().strip()
        self.ready_after = time.monotonic() - self.started
        match = READY.match(line)
        assert match, (line, self.process.stderr.read() if self.process.poll() is not None else "")
        self.base, self.port, self.token = match.group(1), int(match.group(2)), match.group(3)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def close(self):
        self.http.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def serve(tmp_path):
    started: list[Serve] = []

    def start(*args: str, env: dict | None = None) -> Serve:
        server = Serve(tmp_path, *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def test_version():
    output = subprocess.run(
        [sys.executable, "-m", "openchat_desktop", "--version"],
        capture_output=True, text=True, check=True,
    )
    assert output.stdout.strip() == f"OpenChat {__version__}"


def test_serve_prints_ready_line_and_is_healthy(serve):
    server = serve()
    response = requests.get(f"{server.base}/api/health", timeout=5)
    assert response.json() == {"status": "ok", "version": __version__}
    assert len(server.token) >= 32


def test_serve_options_and_environment(serve, tmp_path):
    data = tmp_path / "elsewhere"
    settings = tmp_path / "custom.toml"
    settings.write_text('theme = "light"\n')
    server = serve("--port", "0", "--data-dir", str(data), "--settings", str(settings),
                   env={"OPENCHAT_TOKEN": "fixed-token-abcdefghijklmnopqrstuvwxyz"})
    assert server.token == "fixed-token-abcdefghijklmnopqrstuvwxyz"
    body = server.http.get(f"{server.base}/api/settings", timeout=5).json()
    assert body["path"] == str(settings)
    assert body["settings"]["theme"] == "light"
    assert (data / "openchat.sqlite3").exists()
    by_flag = serve("--token", "another-token-abcdefghijklmnopqrstuvwxyz")
    assert by_flag.token == "another-token-abcdefghijklmnopqrstuvwxyz"


def test_serve_refuses_a_public_host_without_a_token(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "openchat_desktop", "serve", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "token" in result.stderr and "Traceback" not in result.stderr


def test_sigterm_stops_cleanly(serve):
    server = serve()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(5) == 0
    assert "Traceback" not in server.process.stderr.read()


def test_broken_settings_file_does_not_stop_the_app(serve, tmp_path):
    settings = tmp_path / "broken.toml"
    settings.write_text('default_model = "ollama/x"\n[[providers]\nid = 1\n')
    server = serve("--settings", str(settings))
    body = server.http.get(f"{server.base}/api/settings", timeout=5).json()
    assert body["problem"]["line"] == 2
    assert str(settings) in body["problem"]["message"]


def test_killed_mid_reply_keeps_the_question_and_marks_the_reply_interrupted(serve, tmp_path):
    with FakeProvider(models=["llama3.2:3b"]) as fake:
        fake.script(Reply(text="a partial answer that never ends", mode="stall", after=3))
        settings = tmp_path / "settings.toml"
        settings.write_text(provider_settings(("ollama", "ollama", fake.ollama_url),
                                              default_model="ollama/llama3.2:3b"))
        data = tmp_path / "data"
        args = ("--data-dir", str(data), "--settings", str(settings))
        server = serve(*args)
        session = server.http.post(f"{server.base}/api/sessions", json={}, timeout=5).json()
        response = server.http.post(
            f"{server.base}/api/sessions/{session['id']}/chat/stream",
            json={"message": "Tell me everything"}, stream=True, timeout=10,
        )
        lines = response.iter_lines(decode_unicode=True)
        start = next(json.loads(line[6:]) for line in lines if line.startswith("data: "))
        message_id = start["assistant_message"]["id"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            live = server.http.get(f"{server.base}/api/messages/{message_id}", timeout=5).json()
            if live["content"] == "a partial answer":
                break
            time.sleep(0.05)
        time.sleep(0.4)  # past one checkpoint interval
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(5)
        response.close()

        again = serve(*args)
        messages = again.http.get(
            f"{again.base}/api/sessions/{session['id']}/messages", timeout=5
        ).json()["messages"]
    assert messages[0]["content"] == "Tell me everything"
    assert messages[1]["status"] == "interrupted"
    assert messages[1]["content"] == "a partial answer"


@pytest.mark.parametrize("args", [["--browser"], []])
def test_browser_mode_serves_opens_the_page_and_stops_on_sigterm(tmp_path, args):
    opened = tmp_path / "opened.txt"
    opener = tmp_path / "opener.sh"
    opener.write_text(f'#!/bin/sh\necho "$1" > "{opened}"\n')
    opener.chmod(0o755)
    process = subprocess.Popen(
        [sys.executable, "-m", "openchat_desktop", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "BROWSER": str(opener)},
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(1 if args else 2)]
        match = re.search(r"OpenChat is serving at (http://127\.0\.0\.1:\d+)/\?token=(\S+)",
                          lines[-1])
        assert match, lines
        if not args:
            assert "browser" in lines[0]
        assert requests.get(f"{match.group(1)}/api/health", timeout=5).status_code == 200
        deadline = time.monotonic() + 5
        while not (opened.exists() and opened.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "the browser was never opened"
            time.sleep(0.05)
        assert opened.read_text().strip() == f"{match.group(1)}/?token={match.group(2)}"
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        process.stdout.close()
        process.stderr.close()
