"""Serve mode as a teammate meets it: a real `openchat serve`, a key made with `openchat keys`
beside it, and the three ways in — the official OpenAI client, the chat WebSocket and the plain
JSON call. The key works on each, is held to its limits on each together, and is locked out of
each, an open WebSocket included, the moment it is revoked."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import requests
import websocket

from .keys_support import key_session
from .support import provider_settings
from .test_cli import Serve
from .test_keys_cli import create, openchat_keys


@pytest.fixture
def served(tmp_path, fake) -> Iterator[Serve]:
    """`openchat serve` on the fake model server, with the settings and data folder of the
    test (OPENCHAT_SETTINGS and OPENCHAT_HOME point into tmp_path)."""
    (tmp_path / "settings.toml").write_text(provider_settings(
        ("ollama", "ollama", fake.ollama_url), default_model="ollama/llama3.2:3b"))
    server = Serve(tmp_path)
    yield server
    server.close()


def client(server: Serve, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base}/v1", api_key=key, max_retries=0, timeout=10)


def ask(server: Serve, key: str) -> openai.types.chat.ChatCompletion:
    with client(server, key) as asking:
        return asking.chat.completions.create(
            model="ollama/llama3.2:3b", messages=[{"role": "user", "content": "Hi there"}])


def new_chat(server: Serve, http: requests.Session) -> str:
    response = http.post(f"{server.base}/api/sessions", json={}, timeout=5)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def socket(server: Serve, session_id: str, key: str) -> websocket.WebSocket:
    return websocket.create_connection(
        f"{server.base.replace('http://', 'ws://')}/ws/chat/{session_id}",
        header=[f"Authorization: Bearer {key}"], timeout=10)


def frames_to_end(ws: websocket.WebSocket) -> list[dict[str, Any]]:
    frames = [json.loads(ws.recv())]
    while frames[-1]["event"] not in ("done", "error"):
        frames.append(json.loads(ws.recv()))
    return frames


def close_code(ws: websocket.WebSocket) -> tuple[int, str]:
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0], data[2:].decode()


def test_a_key_chats_every_way_and_is_locked_out_of_every_way_when_revoked(served, tmp_path):
    key = create("teammate", data_dir=tmp_path / "data")
    with key_session(key) as http:
        completion = ask(served, key)
        assert completion.choices[0].message.content == "Hello world"

        session_id = new_chat(served, http)
        ws = socket(served, session_id, key)
        ws.send(json.dumps({"message": "Over the socket"}))
        frames = frames_to_end(ws)
        assert frames[0]["event"] == "start" and frames[-1]["event"] == "done"
        assert frames[-1]["data"]["message"]["content"] == "Hello world"

        answered = http.post(f"{served.base}/api/sessions/{session_id}/chat",
                             json={"message": "As one JSON answer"}, timeout=10)
        assert answered.status_code == 200
        assert answered.json()["message"]["status"] == "complete"

        # What the teammate did is there for the person running OpenChat: three chats' turns.
        chats = served.http.get(f"{served.base}/api/sessions", timeout=5).json()["sessions"]
        assert len(chats) == 2  # the recorded OpenAI call, and the chat used by socket and JSON
        turns = served.http.get(f"{served.base}/api/sessions/{session_id}/messages",
                                timeout=5).json()["messages"]
        assert [m["content"] for m in turns if m["role"] == "user"] == [
            "Over the socket", "As one JSON answer"]

        assert openchat_keys("revoke", "teammate", data_dir=tmp_path / "data").returncode == 0

        with pytest.raises(openai.AuthenticationError):
            ask(served, key)
        refused = http.post(f"{served.base}/api/sessions/{session_id}/chat",
                            json={"message": "Still there?"}, timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "key_refused"
        ws.send(json.dumps({"message": "And over the open socket?"}))
        code, reason = close_code(ws)
        assert code == 4401 and "revoked" in reason
        ws.shutdown()  # closed by the server: only the socket is left to free
        with pytest.raises(websocket.WebSocketBadStatusException):
            socket(served, session_id, key)
    # Nothing the revoked key sent was kept.
    turns = served.http.get(f"{served.base}/api/sessions/{session_id}/messages",
                            timeout=5).json()["messages"]
    assert [m["content"] for m in turns if m["role"] == "user"] == [
        "Over the socket", "As one JSON answer"]


def test_one_budget_holds_across_the_openai_client_the_socket_and_the_json_call(
    served, tmp_path
):
    """A key of one token a minute: its first reply may run (a reply is never cut), and after
    it every way to start another waits, saying how long."""
    key = create("tiny", "--tpm", "1", data_dir=tmp_path / "data")
    with key_session(key) as http:
        session_id = new_chat(served, http)
        first = http.post(f"{served.base}/api/sessions/{session_id}/chat",
                          json={"message": "One"}, timeout=10)
        assert first.status_code == 200 and first.json()["message"]["content"] == "Hello world"

        with pytest.raises(openai.RateLimitError) as limited:
            ask(served, key)
        assert int(limited.value.response.headers["Retry-After"]) >= 1
        assert limited.value.body["code"] == "rate_limited"

        again = http.post(f"{served.base}/api/sessions/{session_id}/chat",
                          json={"message": "Two"}, timeout=10)
        assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1

        ws = socket(served, session_id, key)
        ws.send(json.dumps({"message": "Three"}))
        frame = json.loads(ws.recv())
        assert frame["event"] == "error" and frame["data"]["code"] == "rate_limited"
        ws.close()

        # Reading is not generating: it still gets through.
        assert http.get(f"{served.base}/api/sessions/{session_id}/messages",
                        timeout=5).status_code == 200
    turns = served.http.get(f"{served.base}/api/sessions/{session_id}/messages",
                            timeout=5).json()["messages"]
    assert [m["content"] for m in turns if m["role"] == "user"] == ["One"]


def test_requests_per_minute_count_every_way_in_together(served, tmp_path):
    key = create("busy", "--rpm", "3", data_dir=tmp_path / "data")
    with key_session(key) as http:
        session_id = new_chat(served, http)  # 1
        assert http.post(f"{served.base}/api/sessions/{session_id}/chat",
                         json={"message": "One"}, timeout=10).status_code == 200  # 2
        ask(served, key)  # 3
        with pytest.raises(openai.RateLimitError):
            ask(served, key)
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            socket(served, session_id, key)
        assert refused.value.status_code == 429
