"""Where keys are kept, in the Settings panel: the move to the keychain, the note without one, and
providers from the environment."""

from __future__ import annotations

import tomllib

from playwright.sync_api import expect

from . import json_keyring
from .fake_provider import FakeProvider
from .support import provider_settings, shoot
from .test_keychain import COMMENTED
from .test_page_settings import open_settings


def test_move_keys_to_the_keychain_in_one_click(open_page, start_server, keychain):
    with FakeProvider() as fake:
        app = start_server(COMMENTED.format(url=fake.openai_url))
        page = open_page(app)
        dialog = open_settings(page)
        first = dialog.locator(".provider-item[data-id=a]")
        expect(first).to_contain_text("API key in the settings file (…cdef)")
        section = dialog.locator("#key-storage")
        expect(section).to_contain_text("2 keys are in the settings file.")
        shoot(page, "settings-keys-in-file")
        section.get_by_role("button", name="Move keys to the keychain").click()
        expect(dialog.locator("#settings-status")).to_have_text("2 keys moved to the keychain.")
        expect(first).to_contain_text("API key in the keychain (…cdef)")
        expect(dialog.locator(".provider-item[data-id=b]")).to_contain_text(
            "API key in the keychain")
        expect(section).to_be_hidden()
        text = app.settings_path.read_text()
        assert "api_key" not in text and "# the second one" in text
        assert set(json_keyring.keys(keychain)) == {"OpenChat/a", "OpenChat/b"}
        assert "0123456789abcdef" not in page.content()


def test_without_a_keychain_the_page_says_keys_stay_in_the_file(open_page, start_server):
    with FakeProvider() as fake:
        app = start_server(COMMENTED.format(url=fake.openai_url))
        page = open_page(app)
        dialog = open_settings(page)
        section = dialog.locator("#key-storage")
        expect(section).to_contain_text(
            "This computer has no keychain OpenChat can use, so keys are kept in the settings "
            "file, readable by you only.")
        expect(section.get_by_role("button", name="Move keys to the keychain")).to_be_hidden()
        assert tomllib.loads(app.settings_path.read_text())["providers"][0]["api_key"]


def test_a_provider_from_the_environment_is_marked_and_its_key_never_shown(
    open_page, start_server, fake, monkeypatch
):
    key = "sk-ant-env-0123456789abcdef"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    app = start_server(provider_settings(("ollama", "ollama", fake.ollama_url)))
    page = open_page(app)
    dialog = open_settings(page)
    item = dialog.locator(".provider-item[data-id=anthropic]")
    expect(item).to_contain_text("From ANTHROPIC_API_KEY; its key stays there.")
    expect(item.get_by_role("button", name="Remove anthropic")).to_be_hidden()
    shoot(page, "settings-provider-from-environment")
    assert key not in page.content()
    # Saving another change leaves the environment's provider out of the file.
    dialog.get_by_role("button", name="Edit ollama").click()
    dialog.get_by_label("Models").fill("extra-model")
    dialog.get_by_role("button", name="Save provider").click()
    expect(dialog.locator("#provider-form")).to_be_hidden()
    expect(dialog.locator("#settings-status")).to_have_text("Saved.")
    assert "extra-model" in app.settings_path.read_text()
    text = app.settings_path.read_text()
    assert "anthropic" not in text and key not in text
