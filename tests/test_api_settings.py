"""The settings API over a real file, and settings changes reaching the provider router."""

from __future__ import annotations

import os
import stat
import time

from .fake_provider import FakeProvider
from .support import provider_settings

COMMENTED = """\
# My OpenChat settings
default_model = "local/llama3.2:3b"  # the everyday model

[[providers]]
id = "local"  # my Ollama
kind = "ollama"
base_url = "{url}"

[[providers]]
id = "cloud"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "sk-secret-key-123456789"
"""


def test_get_masks_keys_and_names_the_file(start_server):
    app = start_server(COMMENTED.format(url="http://127.0.0.1:9"))
    body = app.get("/api/settings").json()
    assert body["path"] == str(app.settings_path)
    assert body["problem"] is None
    cloud = next(p for p in body["settings"]["providers"] if p["id"] == "cloud")
    assert cloud["api_key_set"] is True
    assert "sk-secret-key-123456789" not in app.get("/api/settings").text
    assert "sk-secret" not in app.get("/api/models").text


def test_patch_writes_the_file_keeping_comments_and_keys(start_server):
    app = start_server(COMMENTED.format(url="http://127.0.0.1:9"))
    response = app.patch("/api/settings", {"default_model": "cloud/gpt-4o", "theme": "light"})
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["default_model"] == "cloud/gpt-4o"
    text = app.settings_path.read_text()
    assert "# My OpenChat settings" in text and "id = \"local\"  # my Ollama" in text
    assert 'default_model = "cloud/gpt-4o"' in text and 'theme = "light"' in text
    assert "sk-secret-key-123456789" in text  # the key stays in the file, never in the API
    assert stat.S_IMODE(os.stat(app.settings_path).st_mode) == 0o600


def test_invalid_patch_changes_nothing(start_server):
    app = start_server(COMMENTED.format(url="http://127.0.0.1:9"))
    before = app.settings_path.read_text()
    response = app.patch("/api/settings", {"theme": "purple"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_settings"
    assert "theme" in response.json()["error"]["message"]
    assert app.settings_path.read_text() == before


def test_broken_file_is_reported_and_not_overwritten(start_server):
    app = start_server('theme = "dark"\n[[providers]\n')
    body = app.get("/api/settings").json()
    assert body["problem"]["line"] == 2 and body["problem"]["fatal"] is True
    response = app.patch("/api/settings", {"theme": "light"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "settings_file_invalid"
    assert app.settings_path.read_text() == 'theme = "dark"\n[[providers]\n'
    assert app.get("/api/health").status_code == 200


def test_editing_the_file_by_hand_reaches_the_router(start_server):
    app = start_server(provider_settings(("gone", "ollama", "http://127.0.0.1:9")))
    assert [p["id"] for p in app.get("/api/models").json()["providers"]] == ["gone"]
    with FakeProvider(models=["llama3.2:3b"]) as fake:
        app.settings_path.write_text(provider_settings(("fresh", "ollama", fake.ollama_url)))
        future = time.time() + 5
        os.utime(app.settings_path, (future, future))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            body = app.get("/api/models").json()
            if [p["id"] for p in body["providers"]] == ["fresh"]:
                break
            time.sleep(0.1)
        assert body["providers"][0]["status"] == "ok"
        assert [m["id"] for m in body["models"]] == ["fresh/llama3.2:3b"]
