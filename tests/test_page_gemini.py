"""A person adds a Gemini provider in Settings, tests the connection and chats with it, in
headless Chromium against a real server and a fake Gemini API."""

from __future__ import annotations

from playwright.sync_api import expect

from .fake_gemini import FakeGemini
from .fake_provider import Reply
from .support import send, shoot, wait_done

KEY = "AIzaSyPageKeyForTests0123456789abcdef"


def test_add_gemini_in_settings_test_it_and_chat(open_page, app):
    with FakeGemini(api_key=KEY) as gemini:
        page = open_page(app)
        page.get_by_role("button", name="Settings", exact=True).click()
        dialog = page.get_by_role("dialog", name="Settings")
        dialog.get_by_role("button", name="Add provider").click()
        form = dialog.get_by_role("form", name="Add provider")
        form.get_by_label("Id", exact=True).fill("gemini")
        form.get_by_label("Kind").select_option("gemini")
        url = form.get_by_label("Base URL")
        expect(url).to_have_attribute("placeholder", "https://generativelanguage.googleapis.com")
        expect(form.get_by_text("Empty means Google's own address.")).to_be_visible()
        url.fill(gemini.url)
        form.get_by_role("button", name="Test connection").click()
        result = form.locator(".test-result")
        expect(result).to_contain_text("Gemini needs an API key.")
        form.get_by_label("API key", exact=True).fill(KEY)
        form.get_by_role("button", name="Test connection").click()
        expect(result).to_contain_text("Connection ok: 2 models (gemini-2.5-flash, "
                                       "gemini-2.0-flash).")
        shoot(page, "settings-add-gemini")
        form.get_by_role("button", name="Save provider").click()
        expect(form).to_be_hidden()
        item = dialog.locator(".provider-item[data-id=gemini]")
        expect(item).to_contain_text("Google Gemini")
        expect(item.locator(".status")).to_have_text("connected")
        page.keyboard.press("Escape")

        picker = page.get_by_role("combobox", name="Model", exact=True)
        expect(picker.locator("optgroup[label=gemini] option")).to_have_count(2)
        picker.select_option("gemini/gemini-2.5-flash")
        gemini.script(Reply(text="Hello from Gemini"))
        send(page, "Hi there")
        wait_done(page, 1)
        expect(page.locator("article.message.assistant")).to_contain_text("Hello from Gemini")
        shoot(page, "chat-with-gemini")
        (request,) = gemini.chat_requests()
        assert request.headers["x-goog-api-key"] == KEY
        assert request.body["contents"][-1] == {"role": "user", "parts": [{"text": "Hi there"}]}
        assert KEY not in page.content()
