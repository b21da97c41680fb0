"""API keys as tests use them: make one through the API with the launch token, and call the
server with it."""

from __future__ import annotations

from typing import Any

import requests

from .support import Server


def make_key(server: Server, name: str, **fields: Any) -> str:
    """A new key with these fields (scope, rpm, tpm, record), made with the launch token."""
    response = server.post("/api/keys", {"name": name, **fields})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def key_session(key: str) -> requests.Session:
    """An HTTP session that sends `key` as its bearer token."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    return http
