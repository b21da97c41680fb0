"""A token someone could guess is refused when `openchat serve` listens beyond this machine;
on loopback only programs of this machine can reach it, so a script may pick a short one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .test_cli import Serve

WEAK = ["a", "fifteen-chars-x", "aaaaaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabcabc"]


def serve_off_loopback(*args: str, env: dict[str, str] | None = None,
                       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openchat_desktop", "serve", "--host", "0.0.0.0", *args],
        capture_output=True, text=True, timeout=30, env=env,
    )


def assert_refused_in_a_sentence(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "token" in message and "Traceback" not in message
    assert len(message.splitlines()) == 1 and message.endswith(".")


@pytest.mark.parametrize("token", WEAK)
def test_serve_off_loopback_refuses_a_weak_token(token):
    assert_refused_in_a_sentence(serve_off_loopback("--token", token))


def test_serve_off_loopback_refuses_a_weak_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENCHAT_TOKEN", "a")
    assert_refused_in_a_sentence(serve_off_loopback(env=dict(os.environ)))


def test_serve_off_loopback_without_a_token_is_refused_the_same_way():
    assert_refused_in_a_sentence(serve_off_loopback())


def test_a_weak_token_stays_allowed_on_loopback(tmp_path):
    server = Serve(tmp_path, "--token", "a")
    try:
        assert server.token == "a"
        assert server.http.get(f"{server.base}/api/sessions", timeout=5).status_code == 200
    finally:
        server.close()
