"""The Settings panel's API keys, in headless Chromium against a real server: create a key (by
keyboard), see it once with Copy and the sentence that it will not be shown again, find it in
the list, and revoke it after a second press; a refused name is a sentence in the form."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .keys_support import key_session
from .support import shoot
from .test_page_settings import open_settings


def keys_section(page: Page):
    return page.get_by_role("region", name="API keys")


def test_create_a_key_see_it_once_then_revoke_it(open_page, app):
    page = open_page(app, width=1040)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_settings(page)
    section = keys_section(page)
    expect(section.get_by_text("No API keys yet.")).to_be_visible()
    section.get_by_role("button", name="Create API key").click()
    expect(section.get_by_label("Name")).to_be_focused()
    page.keyboard.type("ci-script")
    page.keyboard.press("Tab")
    expect(section.get_by_label("Scope")).to_be_focused()
    section.get_by_label("Scope").select_option("read")
    section.get_by_label("Requests per minute").fill("120")
    section.get_by_label("Keep its OpenAI-compatible conversations as chats").uncheck()
    shoot(page, "api-key-form")
    section.get_by_label("Name").press("Enter")

    shown = section.get_by_label("The new API key")
    expect(shown).to_be_focused()
    # The key's box and the panel's title bar are both in full view: the list growing above
    # the box does not hide it, and the panel itself does not scroll its title away.
    expect(shown).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_in_viewport(ratio=1)
    key = shown.input_value()
    assert re.fullmatch(r"oc_[A-Za-z0-9_-]{43}", key)
    expect(section.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    section.get_by_role("button", name="Copy").click()
    expect(section.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    item = section.locator(".key-item").first
    expect(item).to_contain_text("ci-script")
    expect(item).to_contain_text(f"{key[:10]}…")
    expect(item).to_contain_text("read")
    expect(item).to_contain_text("120 requests a minute · chats not kept · last used never")
    shoot(page, "api-key-made")
    with key_session(key) as http:
        assert http.get(app.url("/api/sessions"), timeout=5).status_code == 200

    section.get_by_role("button", name="Done").click()
    expect(shown).to_be_hidden()
    expect(section.get_by_role("button", name="Create API key")).to_be_focused()
    assert key not in section.inner_text() and key[10:] not in page.content()

    item.get_by_role("button", name="Revoke ci-script").click()
    item.get_by_role("button", name="Really revoke ci-script?").click()
    expect(item).to_contain_text("revoked")
    expect(item.get_by_role("button")).to_have_count(0)
    shoot(page, "api-key-revoked")
    with key_session(key) as http:
        assert http.get(app.url("/api/sessions"), timeout=5).status_code == 401


def test_a_taken_name_is_refused_in_a_sentence_and_a_closed_panel_forgets_the_key(open_page,
                                                                                  app):
    assert app.post("/api/keys", {"name": "laptop"}).status_code == 201
    page = open_page(app)
    open_settings(page)
    section = keys_section(page)
    section.get_by_role("button", name="Create API key").click()
    section.get_by_label("Name").fill("laptop")
    section.get_by_role("button", name="Create key").click()
    expect(section.get_by_role("alert").filter(has_text="already exists")).to_contain_text(
        "A key named “laptop” already exists. Pick another name, or revoke that key first.")
    section.get_by_label("Tokens per minute").fill("0")
    section.get_by_label("Name").fill("phone")
    section.get_by_role("button", name="Create key").click()
    expect(section.get_by_role("alert").filter(has_text="per minute")).to_be_visible()
    section.get_by_label("Tokens per minute").fill("5000")
    section.get_by_role("button", name="Create key").click()
    expect(section.get_by_label("The new API key")).to_be_visible()
    page.keyboard.press("Escape")
    open_settings(page)
    expect(keys_section(page).get_by_label("The new API key")).to_be_hidden()
    expect(keys_section(page).locator(".key-item")).to_have_count(2)
    expect(keys_section(page)).to_contain_text("5,000 tokens a minute")
