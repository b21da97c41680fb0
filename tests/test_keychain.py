"""API keys in the system keychain: saved there by default when one is usable, read back after a
restart, moved out of the file in one go, and kept in the file without a keychain or in portable
mode. A keychain here is tests/json_keyring.py (conftest's `keychain` fixture): the same keyring
API over a JSON file."""

from __future__ import annotations

import sqlite3
import tomllib

from openchat_desktop import paths
from openchat_desktop.providers.redaction import redact

from . import json_keyring
from .fake_provider import FakeProvider, Reply
from .support import modules_loaded, wait_for
from .test_cli import Serve

KEY = "sk-keychain-0123456789abcdef"
OTHER_KEY = "sk-other-9876543210fedcba"


def _provider(fake: FakeProvider, provider_id: str = "remote", **extra: object) -> dict:
    return {"id": provider_id, "kind": "openai", "base_url": fake.openai_url, **extra}


def _file(server) -> dict:
    return tomllib.loads(server.settings_path.read_text())


def test_a_key_saved_through_the_api_lands_in_the_keychain_not_the_file(start_server, keychain):
    with FakeProvider(api_key=KEY) as fake:
        app = start_server()
        response = app.patch("/api/settings", {"providers": [_provider(fake, api_key=KEY)]})
        assert response.status_code == 200, response.text
        text = app.settings_path.read_text()
        assert KEY not in text
        assert _file(app)["providers"][0]["keychain"] is True
        assert json_keyring.keys(keychain) == {"OpenChat/remote": KEY}
        provider = response.json()["settings"]["providers"][0]
        assert provider["key_place"] == "keychain"
        assert provider["api_key_set"] is True
        assert KEY not in response.text
        assert KEY not in app.get("/api/settings").text
        # The key in force is the keychain's: the server demanding it lists its models.
        status = app.get("/api/models").json()["providers"][0]
        assert status["status"] == "ok", status


def test_a_key_replaced_or_removed_changes_the_keychain(start_server, keychain):
    with FakeProvider() as fake:
        app = start_server()
        app.patch("/api/settings", {"providers": [_provider(fake, api_key=KEY)]})
        app.patch("/api/settings", {"providers": [_provider(fake, api_key=OTHER_KEY)]})
        assert json_keyring.keys(keychain) == {"OpenChat/remote": OTHER_KEY}
        app.patch("/api/settings", {"providers": [_provider(fake, api_key="")]})
        assert json_keyring.keys(keychain) == {}
        assert "keychain" not in _file(app)["providers"][0]
        app.patch("/api/settings", {"providers": [_provider(fake, api_key=KEY)]})
        app.patch("/api/settings", {"providers": []})
        assert json_keyring.keys(keychain) == {}


def test_the_key_is_read_back_after_a_restart_and_sent_to_the_provider(tmp_path, keychain):
    settings = tmp_path / "settings.toml"
    data = tmp_path / "data"
    args = ("--port", "0", "--data-dir", str(data), "--settings", str(settings))
    logs = []

    def stop(server: Serve) -> None:
        server.process.terminate()
        logs.append(server.process.communicate(timeout=10)[1])
        server.close()

    with FakeProvider(api_key=KEY) as fake:
        fake.script(Reply(text="Hello from behind the key"))
        first = Serve(tmp_path, *args)
        try:
            saved = first.http.patch(
                first.base + "/api/settings", json={"providers": [_provider(fake, api_key=KEY)]},
                timeout=10,
            )
            assert saved.status_code == 200, saved.text
        finally:
            stop(first)
        assert KEY not in settings.read_text()

        second = Serve(tmp_path, *args)
        try:
            http, base = second.http, second.base
            session = http.post(base + "/api/sessions", json={}, timeout=10).json()
            reply = http.post(
                f"{base}/api/sessions/{session['id']}/chat/stream",
                json={"message": "hi", "model": "remote/llama3.2:3b"}, timeout=30,
            )
            assert "Hello from behind the key" in reply.text, reply.text
            assert fake.chat_requests()[-1].headers["Authorization"] == f"Bearer {KEY}"
            assert KEY not in http.get(base + "/api/settings", timeout=10).text
        finally:
            stop(second)
    assert all(KEY not in text for text in logs)
    for database in data.glob(paths.DATABASE_FILE + "*"):
        assert KEY.encode() not in database.read_bytes()
    with sqlite3.connect(data / paths.DATABASE_FILE) as db:
        assert db.execute("select count(*) from messages").fetchone()[0] == 2


def test_without_a_usable_keychain_keys_stay_in_the_file(start_server):
    with FakeProvider() as fake:
        app = start_server()  # conftest's keyring backend is keyring's `fail`
        response = app.patch("/api/settings", {"providers": [_provider(fake, api_key=KEY)]})
        assert response.status_code == 200, response.text
        assert _file(app)["providers"][0]["api_key"] == KEY
        assert response.json()["settings"]["providers"][0]["key_place"] == "file"
        where = app.get("/api/settings/keys").json()
        assert where["keychain"] is False and where["file_keys"] == 1
        assert "settings file" in where["reason"]
        moved = app.post("/api/settings/keys/move")
        assert moved.status_code == 409
        assert moved.json()["error"]["message"].startswith("The keys were not moved:")


def test_portable_mode_keeps_keys_in_the_file(start_server, keychain, tmp_path, monkeypatch):
    (tmp_path / "portable").write_text("")
    monkeypatch.setattr(paths, "app_dir", lambda: tmp_path)
    with FakeProvider() as fake:
        app = start_server()
        app.patch("/api/settings", {"providers": [_provider(fake, api_key=KEY)]})
        assert _file(app)["providers"][0]["api_key"] == KEY
        assert json_keyring.keys(keychain) == {}
        assert "portable" in app.get("/api/settings/keys").json()["reason"]


COMMENTED = """\
# my providers
[[providers]]
id = "a"  # the first
kind = "openai"
base_url = "{url}"
api_key = "sk-first-0123456789abcdef"

# the second one
[[providers]]
id = "b"
kind = "openai"
base_url = "{url}"
api_key = "sk-second-0123456789abcdef"
models = ["m"]
"""


def test_moving_keys_empties_the_file_keeping_comments_and_order(start_server, keychain):
    with FakeProvider() as fake:
        app = start_server(COMMENTED.format(url=fake.openai_url))
        assert app.get("/api/settings/keys").json() == {
            "keychain": True, "keychain_name": "the system keychain", "reason": None,
            "file_keys": 2,
        }
        response = app.post("/api/settings/keys/move")
        assert response.status_code == 200, response.text
        assert response.json()["moved"] == 2
        assert response.json()["message"] == "2 keys moved to the keychain."
        text = app.settings_path.read_text()
        assert "sk-first" not in text and "sk-second" not in text
        assert "# my providers" in text and "# the first" in text and "# the second one" in text
        assert text.index('id = "a"') < text.index('id = "b"') < text.index('models = ["m"]')
        assert json_keyring.keys(keychain) == {
            "OpenChat/a": "sk-first-0123456789abcdef",
            "OpenChat/b": "sk-second-0123456789abcdef",
        }
        places = [p["key_place"] for p in response.json()["settings"]["providers"]]
        assert places == ["keychain", "keychain"]
        assert app.get("/api/settings/keys").json()["file_keys"] == 0


def test_a_refusal_in_the_middle_leaves_each_key_in_one_place(start_server, keychain):
    json_keyring.write({"refuse": ["b"]}, keychain)
    with FakeProvider() as fake:
        app = start_server(COMMENTED.format(url=fake.openai_url))
        response = app.post("/api/settings/keys/move")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["moved"] == 1
        assert body["message"].startswith("1 key moved to the keychain. The key of “b” could not")
        file = _file(app)["providers"]
        assert "api_key" not in file[0] and file[0]["keychain"] is True
        assert file[1]["api_key"] == "sk-second-0123456789abcdef" and "keychain" not in file[1]
        assert json_keyring.keys(keychain) == {"OpenChat/a": "sk-first-0123456789abcdef"}


def test_a_locked_keychain_is_the_providers_status_in_a_sentence(start_server, keychain):
    with FakeProvider(api_key=KEY) as fake:
        app = start_server()
        app.patch("/api/settings", {"providers": [_provider(fake, api_key=KEY)]})
        json_keyring.write({**json_keyring.read(keychain), "locked": True}, keychain)
        app.settings_path.write_text(app.settings_path.read_text() + "\n# touched\n")
        status = wait_for(lambda: next(
            (s for s in app.get("/api/models").json()["providers"] if s["status"] != "ok"), None))
        assert status["status"] == "unauthorized"
        assert status["message"] == (
            "The key of “remote” could not be read from the keychain: the keychain is locked; "
            "unlock it (or log in again) and try again."
        )
        provider = app.get("/api/settings").json()["settings"]["providers"][0]
        assert provider["key_problem"] == status["message"]
        saved = app.patch("/api/settings", {"providers": [_provider(fake, api_key=OTHER_KEY)]})
        assert saved.status_code == 409
        assert "Traceback" not in saved.text and "KeyringLocked" not in saved.text
        assert saved.json()["error"]["message"].startswith("The key of “remote” could not be")


def test_a_provider_without_its_keychain_key_says_so(start_server, keychain):
    with FakeProvider() as fake:
        app = start_server(
            f'[[providers]]\nid = "remote"\nkind = "openai"\nbase_url = "{fake.openai_url}"\n'
            "keychain = true\n"
        )
        status = app.get("/api/models").json()["providers"][0]
        assert status["status"] == "unauthorized"
        assert "The keychain has no key for “remote”" in status["message"]


def test_keychain_keys_are_redacted_like_any_key(keychain):
    from openchat_desktop.settings.keychain import read_key

    json_keyring.write({"keys": {"OpenChat/x": "opaque-keychain-secret-value"}}, keychain)
    assert read_key("x") == "opaque-keychain-secret-value"
    assert redact("the server said opaque-keychain-secret-value") == "the server said [redacted]"


def test_keyring_is_loaded_only_for_a_key_in_the_keychain(tmp_path, keychain):
    settings = tmp_path / "settings.toml"
    settings.write_text('[[providers]]\nid = "a"\nkind = "openai"\n'
                        'base_url = "http://127.0.0.1:9/v1"\napi_key = "sk-in-the-file-0123"\n')
    assert modules_loaded(tmp_path, "runtime.router()", ("keyring",)) == [False]
    settings.write_text(settings.read_text().replace('api_key = "sk-in-the-file-0123"',
                                                     "keychain = true"))
    assert modules_loaded(tmp_path, "runtime.router()", ("keyring",)) == [True]
