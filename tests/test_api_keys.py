"""API keys over HTTP: made once through /api/keys, listed without their secret, refused the
moment they are revoked, never kept or shown in clear; and the Host names `[serve] hosts`
adds, read on every request."""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3

import pytest
import requests

from openchat_desktop import paths
from openchat_desktop.access.keys import ApiKeys
from openchat_desktop.chat.views import api_key_view
from openchat_desktop.server.openapi import SCHEMAS

from .keys_support import key_session, make_key
from .support import Server

KEY = re.compile(r"oc_[A-Za-z0-9_-]{43}")


def database_text(server: Server) -> str:
    with sqlite3.connect(paths.database_path(server.data_dir)) as db:
        return "\n".join(db.iterdump())


def error_of(response) -> dict:
    error: dict = response.json()["error"]
    assert error["message"].endswith(".") and "Traceback" not in error["message"]
    return error


def test_a_key_is_shown_once_works_and_stops_working_the_moment_it_is_revoked(server):
    made = server.post("/api/keys", {"name": "ci-script", "rpm": 100, "record": False})
    assert made.status_code == 201
    key = made.json()["key"]
    assert KEY.fullmatch(key)
    view = made.json()["api_key"]
    assert view["prefix"] == key[:10] and view["scope"] == "chat"
    assert (view["rpm"], view["tpm"], view["record"]) == (100, None, False)

    listed = server.get("/api/keys")
    assert listed.json()["keys"] == [view]
    assert key[10:] not in listed.text and "secret_hash" not in listed.text

    with key_session(key) as http:
        assert http.get(server.url("/api/sessions"), timeout=5).status_code == 200
        assert server.delete("/api/keys/ci-script").status_code == 204
        refused = http.get(server.url("/api/sessions"), timeout=5)
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "key_refused"
    assert "revoked" in error_of(refused)["message"]
    assert server.get("/api/keys").json()["keys"][0]["revoked_at"] is not None


def test_a_key_view_is_what_its_schema_declares(server):
    make_key(server, "viewed")
    record = server.runtime.api_keys.all_keys()[0]
    schema = SCHEMAS["ApiKey"]
    assert set(api_key_view(record)) == set(schema["properties"]) == set(schema["required"])


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "taken"}, 409, "key_name_taken"),
    ({"name": "new", "scope": "root"}, 422, "invalid_key_fields"),
    ({"name": "new", "rpm": 0}, 422, "invalid_key_fields"),
    ({"name": "new", "tpm": True}, 422, "invalid_key_fields"),
    ({"name": "a/b"}, 422, "invalid_key_fields"),
    ({"name": "   "}, 422, "invalid_key_fields"),
    ({"name": "new", "record": "yes"}, 422, "invalid_key_fields"),
    ({"scope": "read"}, 422, "invalid_request"),
    ({"name": "new", "owner": "me"}, 422, "invalid_request"),
])
def test_unusable_key_fields_are_refused_in_a_sentence(server, body, status, code):
    make_key(server, "taken")
    response = server.post("/api/keys", body)
    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert len(server.get("/api/keys").json()["keys"]) == 1


def test_a_revoked_name_is_free_again_and_an_unknown_one_is_a_404(server):
    old = make_key(server, "laptop")
    assert server.delete("/api/keys/laptop").status_code == 204
    new = make_key(server, "laptop")
    missing = server.delete("/api/keys/laptop-2")
    assert missing.status_code == 404 and error_of(missing)["code"] == "key_not_found"
    with key_session(old) as stale, key_session(new) as fresh:
        assert stale.get(server.url("/api/sessions"), timeout=5).status_code == 401
        assert fresh.get(server.url("/api/sessions"), timeout=5).status_code == 200


def test_unknown_keys_and_other_tokens_are_refused(server):
    with key_session("oc_" + "A" * 43) as unknown:
        response = unknown.get(server.url("/api/sessions"), timeout=5)
    assert response.status_code == 401 and error_of(response)["code"] == "key_refused"
    for token in ("not-a-key", "oc_short", ""):
        with key_session(token) as other:
            response = other.get(server.url("/v1/models"), timeout=5)
        assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"


def test_a_key_is_never_kept_or_shown_in_clear(start_server, fake, ollama_settings, caplog):
    caplog.set_level(logging.DEBUG)
    server = start_server(ollama_settings)
    key = make_key(server, "teammate")
    with key_session(key) as http:
        session = http.post(server.url("/api/sessions"), json={}, timeout=5).json()
        with http.post(server.url(f"/api/sessions/{session['id']}/chat/stream"),
                       json={"message": "Hi"}, stream=True, timeout=10) as stream:
            assert b"event: done" in stream.content
    stored = database_text(server)
    assert hashlib.sha256(key.encode()).hexdigest() in stored
    for where, text in (("database", stored), ("settings", server.get("/api/settings").text),
                        ("keys", server.get("/api/keys").text), ("log", caplog.text)):
        assert key not in text and key[10:] not in text and key[-12:] not in text, where


def test_last_used_is_written_at_most_once_a_minute(server, monkeypatch):
    store = server.runtime.store
    writes: list[str] = []
    touch = store.touch_api_key

    def counted(key_id: str, *, now: str, unless_since: str) -> None:
        writes.append(now)
        touch(key_id, now=now, unless_since=unless_since)

    monkeypatch.setattr(store, "touch_api_key", counted)
    key = make_key(server, "busy")
    with key_session(key) as http:
        for _ in range(5):
            assert http.get(server.url("/api/sessions"), timeout=5).status_code == 200
    assert len(writes) == 1
    assert server.get("/api/keys").json()["keys"][0]["last_used_at"] == writes[0]


def test_use_is_noted_again_after_a_minute_even_by_another_process(store):
    now = [1000.0]
    keys = ApiKeys(store, clock=lambda: now[0])
    _, key = keys.create("script")
    keys.client(key)
    first = keys.all_keys()[0].last_used_at
    assert first is not None
    now[0] += 61
    keys.client(key)  # this process writes again, and the database keeps the newest write
    assert keys.all_keys()[0].last_used_at >= first


# --- Host names: ours, and those of [serve] hosts -------------------------------------------

HOSTS = '[serve]\nhosts = ["Chat.Example.com", "proxy.example.org:8443"]\n'


def status_for(server: Server, host: str, method: str = "GET", origin: str | None = None) -> int:
    headers = {"Host": host}
    if origin is not None:
        headers["Origin"] = origin
    path = "/api/sessions"
    response = server.http.request(method, server.url(path), headers=headers,
                                   json={} if method == "POST" else None, timeout=5)
    return response.status_code


def test_serve_hosts_add_names_a_reverse_proxy_or_teammates_use(start_server):
    server = start_server(HOSTS)
    port = server.runtime.port
    assert status_for(server, "chat.example.com") == 200  # what a TLS proxy sends
    assert status_for(server, f"chat.example.com:{port}") == 200
    assert status_for(server, "CHAT.example.com") == 200
    assert status_for(server, "chat.example.com:9999") == 403
    assert status_for(server, "proxy.example.org:8443") == 200
    assert status_for(server, "proxy.example.org") == 403
    assert status_for(server, "evil.example") == 403
    assert status_for(server, f"127.0.0.1:{port}") == 200


def test_pages_of_the_allowed_hosts_by_http_or_https_count_as_our_own(start_server):
    server = start_server(HOSTS)
    for origin in ("https://chat.example.com", "http://chat.example.com",
                   "https://proxy.example.org:8443"):
        assert status_for(server, "chat.example.com", "POST", origin) == 201, origin
    for origin in ("https://evil.example", "ftp://chat.example.com", "https://proxy.example.org",
                   "null"):
        assert status_for(server, "chat.example.com", "POST", origin) == 403, origin


def test_a_change_of_serve_hosts_applies_without_a_restart(start_server):
    server = start_server()
    assert status_for(server, "chat.example.com") == 403
    assert server.patch("/api/settings", {"serve": {"hosts": ["chat.example.com"]}}).ok
    assert status_for(server, "chat.example.com") == 200
    assert server.patch("/api/settings", {"serve": {"hosts": []}}).ok
    assert status_for(server, "chat.example.com") == 403


@pytest.mark.parametrize("value", ['"chat.example.com"', '["https://chat.example.com"]',
                                   '["chat.example.com/api"]', '["chat.example.com:70000"]',
                                   '[""]', "[8080]"])
def test_unusable_serve_hosts_are_a_problem_in_a_sentence(start_server, value):
    server = start_server(f"[serve]\nhosts = {value}\n")
    problem = server.get("/api/settings").json()["problem"]
    assert problem is not None and "serve.hosts" in problem["message"]
    assert "chat.example.com" in problem["message"]  # it shows what would do


def test_the_log_redaction_knows_the_shape_of_a_key(store):
    from openchat_desktop.providers.redaction import REDACTED, redact

    _, key = ApiKeys(store).create("logged")
    assert redact(f"calling with {key}, then") == f"calling with {REDACTED}, then"


def test_a_key_in_the_page_link_is_told_what_keys_are_for(app):
    key = make_key(app, "teammate")
    refused = requests.get(app.url(f"/?token={key}"), timeout=5)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith(
        "This is an API key: it is for scripts, editors and the OpenAI-compatible endpoint.")
    assert key not in refused.text
