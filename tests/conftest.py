"""Shared fixtures: an isolated data dir and settings file for every test, and a real
`openchat` server on 127.0.0.1 (a `Runtime` in a thread) talking to fake providers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

TOKEN = "test-token-0123456789"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Keep tests away from the real user's data, settings and Ollama."""
    monkeypatch.setenv("OPENCHAT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("OPENCHAT_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.delenv("OPENCHAT_TOKEN", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    return tmp_path


@dataclass
class Server:
    """A running app and a `requests` session that carries the token."""

    runtime: object
    base: str
    http: requests.Session
    settings_path: Path
    data_dir: Path

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, body: object = None, **kw) -> requests.Response:
        if body is not None:
            kw["json"] = body
        return self.http.post(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def patch(self, path: str, body: object, **kw) -> requests.Response:
        return self.http.patch(self.base + path, json=body, timeout=10, **kw)

    def put(self, path: str, body: object, **kw) -> requests.Response:
        return self.http.put(self.base + path, json=body, timeout=10, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.http.delete(self.base + path, timeout=10, **kw)

    def new_session(self, **fields) -> dict:
        response = self.post("/api/sessions", fields)
        assert response.status_code == 201, response.text
        return response.json()

    def chat(self, session_id: str, body: dict) -> list[tuple[str, dict]]:
        """Send and read the whole stream; returns (event, data) pairs."""
        response = self.post(f"/api/sessions/{session_id}/chat/stream", body, stream=True)
        assert response.status_code == 200, response.text
        return read_events(response)


def iter_events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    """(event type, data) pairs of an SSE response as they arrive (ids in data['_id'])."""
    kind, data, event_id = None, [], None
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if kind is not None:
                payload = json.loads("\n".join(data)) if data else {}
                payload["_id"] = event_id
                yield kind, payload
            kind, data, event_id = None, [], None
        elif line.startswith(":"):
            continue
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line.startswith("id: "):
            event_id = int(line[4:])


def read_events(response: requests.Response) -> list[tuple[str, dict]]:
    """The whole SSE response as (event type, data) pairs."""
    with response:
        return list(iter_events(response))


def provider_settings(*providers: tuple[str, str, str], default_model: str | None = None) -> str:
    """Settings TOML for (id, kind, base_url) providers."""
    lines = []
    if default_model:
        lines.append(f'default_model = "{default_model}"')
    for provider_id, kind, base_url in providers:
        lines += ["", "[[providers]]", f'id = "{provider_id}"', f'kind = "{kind}"',
                  f'base_url = "{base_url}"']
    return "\n".join(lines) + "\n"


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """Start `openchat` on a free port with the given settings text; stopped after the test."""
    from openchat_desktop.runtime import Runtime

    started: list = []

    def start(settings_text: str | None = None, *, data_dir: Path | None = None) -> Server:
        settings_path = tmp_path / "settings.toml"
        if settings_text is not None:
            settings_path.write_text(settings_text)
        data = data_dir or tmp_path / "data"
        data.mkdir(parents=True, exist_ok=True)
        runtime = Runtime(data_dir=data, settings_path=settings_path, token=TOKEN)
        runtime.start()
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        server = Server(runtime, runtime.base_url, http, settings_path, data)
        started.append(server)
        return server

    yield start
    for server in started:
        server.http.close()
        server.runtime.shutdown()


@pytest.fixture
def server(start_server) -> Server:
    return start_server()
