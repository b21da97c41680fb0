"""A person adds an Anthropic provider in Settings, tests the connection and chats with
Claude, thinking included, in headless Chromium against a fake Anthropic server."""

from __future__ import annotations

from playwright.sync_api import expect

from .fake_provider import FakeProvider, Reply
from .support import send, shoot, wait_done
from .test_page_settings import open_settings

KEY = "sk-ant-api03-page-secret-0123456789"
SONNET = "claude-sonnet-4-5"


def test_add_anthropic_test_it_and_chat_with_claude(open_page, app):
    with FakeProvider(models=[SONNET, "claude-3-5-haiku-latest"], api_key=KEY) as anthropic:
        page = open_page(app)
        dialog = open_settings(page)
        dialog.get_by_role("button", name="Add provider").click()
        form = dialog.get_by_role("form", name="Add provider")
        form.get_by_label("Id", exact=True).fill("claude")
        form.get_by_label("Kind").select_option("anthropic")
        url = form.get_by_label("Base URL")
        expect(url).to_have_attribute("placeholder", "https://api.anthropic.com")
        expect(form.get_by_text("Leave empty for Anthropic's own address")).to_be_visible()
        url.fill(anthropic.url)  # the fake stands in for api.anthropic.com
        form.get_by_role("button", name="Test connection").click()
        result = form.locator(".test-result")
        expect(result).to_contain_text("Anthropic needs an API key for “claude”")
        form.get_by_label("API key", exact=True).fill(KEY)
        form.get_by_role("button", name="Test connection").click()
        expect(result).to_contain_text(f"Connection ok: 2 models ({SONNET}, ")
        shoot(page, "settings-add-anthropic")
        form.get_by_role("button", name="Save provider").click()
        expect(form).to_be_hidden()
        item = dialog.locator(".provider-item[data-id=claude]")
        expect(item).to_contain_text("Anthropic")
        expect(item.locator(".status")).to_have_text("connected")
        assert 'kind = "anthropic"' in app.settings_path.read_text()
        page.keyboard.press("Escape")

        page.locator("#model-select").select_option(f"claude/{SONNET}")
        page.get_by_role("combobox", name="Thinking level").select_option("low")
        anthropic.script(Reply(text="Hello from Claude.", reasoning="A greeting is due."))
        send(page, "Say hello")
        wait_done(page, 1)
        reply = page.locator("article.message.assistant").last
        expect(reply).to_contain_text("Hello from Claude.")
        expect(reply.locator(".thinking")).to_contain_text("A greeting is due.")
        shoot(page, "chat-with-claude")
        body = anthropic.chat_requests()[-1].body
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert body["messages"][-1] == {"role": "user", "content": "Say hello"}
        assert anthropic.chat_requests()[-1].headers["x-api-key"] == KEY
