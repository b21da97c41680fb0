"""POST /api/providers/test: a provider entry tried against a real (fake) server, unsaved."""

from __future__ import annotations

import pytest

from .fake_provider import FakeProvider

KEY = "sk-test-key-0123456789"


def test_ok_lists_the_servers_models(server, fake):
    before = server.settings_path.exists() and server.settings_path.read_text()
    for kind, url in (("ollama", fake.ollama_url), ("openai", fake.openai_url)):
        response = server.post("/api/providers/test", {"id": "try", "kind": kind, "base_url": url})
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "message": None,
                                   "models": ["llama3.2:3b", "qwen3:8b"], "note": None,
                                   "address": None}
    # Nothing is saved by a test.
    assert (server.settings_path.exists() and server.settings_path.read_text()) == before
    assert "try" not in server.get("/api/models").text


def test_unreachable_says_so(server):
    response = server.post(
        "/api/providers/test",
        {"id": "gone", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "models": ["m"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "unreachable"
    assert body["message"]
    assert body["models"] == []  # configured names prove nothing about the server


def test_wrong_key_is_unauthorized_and_the_right_one_is_ok(server):
    with FakeProvider(models=["gpt-x"], api_key=KEY) as locked:
        entry = {"id": "cloud", "kind": "openai", "base_url": locked.openai_url}
        wrong = server.post("/api/providers/test", {**entry, "api_key": "sk-wrong-0123456789"})
        assert wrong.status_code == 200
        assert wrong.json()["status"] == "unauthorized"
        assert wrong.json()["message"]
        assert "sk-wrong" not in wrong.text
        right = server.post("/api/providers/test", {**entry, "api_key": KEY})
        assert right.json() == {"status": "ok", "message": None, "models": ["gpt-x"],
                                "note": None, "address": None}
        assert KEY not in right.text
        sent = [r for r in locked.requests if r.path.endswith("/models")]
        assert sent[-1].headers["Authorization"] == f"Bearer {KEY}"


def test_the_stored_key_is_used_when_the_entry_leaves_it_out(start_server):
    with FakeProvider(models=["gpt-x"], api_key=KEY) as locked:
        app = start_server(
            f'[[providers]]\nid = "cloud"\nkind = "openai"\nbase_url = "{locked.openai_url}"\n'
            f'api_key = "{KEY}"\n'
        )
        entry = {"id": "cloud", "kind": "openai", "base_url": locked.openai_url}
        assert app.post("/api/providers/test", entry).json()["status"] == "ok"
        masked = app.get("/api/settings").json()["settings"]["providers"][0]["api_key"]
        assert app.post("/api/providers/test", {**entry, "api_key": masked}).json()[
            "status"] == "ok"
        # Another id has no stored key; an explicit "" means no key at all.
        other = app.post("/api/providers/test", {**entry, "id": "other"}).json()
        assert other["status"] == "unauthorized"
        cleared = app.post("/api/providers/test", {**entry, "api_key": ""}).json()
        assert cleared["status"] == "unauthorized"


def test_masked_header_values_mean_the_stored_ones(start_server, fake):
    app = start_server(
        f'[[providers]]\nid = "local"\nkind = "openai"\nbase_url = "{fake.openai_url}"\n'
        'headers = { "X-Api-Token" = "header-secret-0123456789", "X-Title" = "OpenChat" }\n'
    )
    stored = app.get("/api/settings").json()["settings"]["providers"][0]
    assert stored["headers"]["X-Api-Token"].startswith("…")
    body = {"id": "local", "kind": "openai", "base_url": fake.openai_url,
            "headers": stored["headers"]}
    assert app.post("/api/providers/test", body).json()["status"] == "ok"
    sent = [r for r in fake.requests if r.path.endswith("/models")][-1].headers
    assert sent["X-Api-Token"] == "header-secret-0123456789"
    assert sent["X-Title"] == "OpenChat"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}, "id"),
        ({"id": "x", "kind": "olama", "base_url": "http://127.0.0.1:9"}, "provider.kind"),
        ({"id": "x", "kind": "openai"}, "base_url"),
        ({"id": "x", "kind": "openai", "base_url": "ftp://example.com"}, "provider.base_url"),
        ({"id": "a/b", "kind": "ollama"}, "provider.id"),
        ({"id": "x", "kind": "ollama", "api_kee": "k"}, "api_kee"),
        ({"id": "x", "kind": "ollama", "models": "llama"}, "provider.models"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_key(server, body, named):
    response = server.post("/api/providers/test", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert named in error["message"]


def test_a_body_that_is_not_an_object_is_refused(server):
    response = server.post("/api/providers/test", ["x"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
