"""The Settings panel when a provider's address changes: its stored key stays behind, the form
says so, "Test connection" tells what was not sent, and saving leaves the key out."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_provider import FakeProvider

KEY = "sk-page-stored-0123456789abcdef"
ENV_NAME = "OPENCHAT_PAGE_TEST_KEY"
ENV_KEY = "sk-page-env-0123456789abcdef"


def open_settings(page: Page):
    page.get_by_role("button", name="Settings", exact=True).click()
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog).to_be_visible()
    return dialog


def leaks(server: FakeProvider) -> list[str]:
    return [f"{r.path} {name}" for r in server.requests for name, value in r.headers.items()
            if KEY in value or ENV_KEY in value]


def test_a_new_address_gets_no_stored_key_from_the_panel(open_page, start_server, monkeypatch):
    monkeypatch.setenv(ENV_NAME, ENV_KEY)
    with FakeProvider(models=["gpt-home"], api_key=KEY) as home, \
            FakeProvider(models=["gpt-other"]) as other:
        app = start_server(
            f'[[providers]]\nid = "cloud"\nkind = "openai"\nbase_url = "{home.openai_url}"\n'
            f'api_key = "{KEY}"\n\n'
            f'[[providers]]\nid = "viaenv"\nkind = "openai"\nbase_url = "{home.openai_url}"\n'
            f'api_key_env = "{ENV_NAME}"\n'
        )
        page = open_page(app)
        dialog = open_settings(page)
        dialog.get_by_role("button", name="Edit cloud").click()
        url = dialog.get_by_label("Base URL")
        hint = dialog.locator("#provider-key-hint")
        expect(hint).to_have_text("A key is set (…cdef). Leave this empty to keep it.")

        url.fill(other.openai_url)
        expect(hint).to_contain_text("The address changed, so the stored key will not be sent")
        expect(dialog.get_by_label("Remove the stored key")).to_be_hidden()
        dialog.get_by_role("button", name="Test connection").click()
        result = dialog.locator(".test-result")
        expect(result).to_contain_text("Connection ok: 1 model (gpt-other).")
        expect(result).to_contain_text(
            "The stored key was not sent: the address changed, so enter it again")
        assert leaks(other) == []

        # Back at the saved address, the stored key is the one to use again.
        url.fill(home.openai_url + "/")
        expect(hint).to_have_text("A key is set (…cdef). Leave this empty to keep it.")
        dialog.get_by_role("button", name="Test connection").click()
        expect(result).to_have_text("Connection ok: 1 model (gpt-home).")

        # Saved at the new address: the key is gone from the file and never reaches it.
        url.fill(other.openai_url)
        dialog.get_by_role("button", name="Save provider").click()
        item = dialog.locator(".provider-item[data-id=cloud]")
        expect(item.locator(".provider-url")).to_have_text(other.openai_url)
        expect(item.locator(".status")).to_have_text("connected")
        expect(item.locator(".provider-key")).to_have_count(0)
        assert KEY not in app.settings_path.read_text()
        assert any(r.path.endswith("/models") for r in other.requests)
        assert leaks(other) == []

        # A key read from a variable: the variable's name empties with the address change.
        dialog.get_by_role("button", name="Edit viaenv").click()
        variable = dialog.get_by_label("API key environment variable")
        expect(variable).to_have_value(ENV_NAME)
        url.fill(other.openai_url)
        expect(variable).to_have_value("")
        url.fill(home.openai_url)
        expect(variable).to_have_value(ENV_NAME)
        url.fill(other.openai_url)
        dialog.get_by_role("button", name="Save provider").click()
        item = dialog.locator(".provider-item[data-id=viaenv]")
        expect(item.locator(".provider-url")).to_have_text(other.openai_url)
        assert ENV_NAME not in app.settings_path.read_text()
        app.get("/api/models")
        assert leaks(other) == []
