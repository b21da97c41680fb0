"""The composer in headless Chromium: Enter and Shift+Enter, growing with its text, a draft per
chat that survives switching and restarting, and a message over the limit."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import message_box, shoot, wait_for

pytestmark = pytest.mark.fake_models("llama3.2:3b")


def open_chat(page: Page, title: str) -> None:
    page.get_by_role("navigation", name="Chats").locator(".chat-open", has_text=title).click()
    expect(page.locator("#chat-title")).to_have_text(title)


def test_enter_sends_and_shift_enter_adds_a_line(open_page, app, fake):
    fake.script(Reply(text="Noted."))
    page = open_page(app)
    box = message_box(page)
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    expect(page.locator("article.message")).to_have_count(0)  # nothing sent yet
    box.press("Enter")
    expect(page.locator("article.message.user")).to_contain_text("first line")
    expect(page.locator("article.message.user")).to_contain_text("second line")
    expect(box).to_have_value("")
    expect(page.locator("article.message.assistant")).to_have_attribute(
        "data-status", "complete")
    sessions = app.get("/api/sessions").json()["sessions"]
    messages = app.get(f"/api/sessions/{sessions[0]['id']}/messages").json()["messages"]
    assert messages[0]["content"] == "first line\nsecond line"


def test_the_box_grows_with_its_text_then_scrolls(open_page, app):
    page = open_page(app, height=800)
    box = message_box(page)
    one_line = box.bounding_box()["height"]
    box.fill("\n".join(f"line {n}" for n in range(5)))
    assert wait_for(lambda: box.bounding_box()["height"] > one_line + 60)
    five_lines = box.bounding_box()["height"]
    box.fill("\n".join(f"line {n}" for n in range(200)))
    assert wait_for(lambda: box.bounding_box()["height"] > five_lines + 100)
    tall = box.bounding_box()["height"]
    assert tall <= 0.4 * 800 + 2  # at most 40% of the window
    assert box.evaluate("e => e.scrollHeight > e.clientHeight + 100")  # then it scrolls
    # the send button stays visible next to a tall box
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
    box.fill("")
    assert wait_for(lambda: abs(box.bounding_box()["height"] - one_line) < 2)


def test_a_draft_belongs_to_its_chat_across_switches_and_restarts(
    open_page, start_server, app, ollama_settings
):
    first = app.new_session(title="Chat A")
    app.new_session(title="Chat B")
    page = open_page(app)
    expect(page.locator("#chat-title")).to_have_text("Chat B")  # the newest opens
    open_chat(page, "Chat A")
    message_box(page).press_sequentially("half a thought for A")
    open_chat(page, "Chat B")
    expect(message_box(page)).to_have_value("")
    message_box(page).fill("B's own draft")
    open_chat(page, "Chat A")
    expect(message_box(page)).to_have_value("half a thought for A")
    open_chat(page, "Chat B")
    expect(message_box(page)).to_have_value("B's own draft")
    # saved with the chat, and saving a draft does not reorder the list
    assert wait_for(
        lambda: app.get(f"/api/sessions/{first['id']}").json()["draft"] == "half a thought for A")
    titles = [s["title"] for s in app.get("/api/sessions").json()["sessions"]]
    assert titles == ["Chat B", "Chat A"]

    app.runtime.shutdown()
    again = start_server(ollama_settings, data_dir=app.data_dir)
    page = open_page(again)
    expect(page.locator("#chat-title")).to_have_text("Chat B")
    expect(message_box(page)).to_have_value("B's own draft")
    open_chat(page, "Chat A")
    expect(message_box(page)).to_have_value("half a thought for A")


def test_sending_clears_the_draft(open_page, app, fake):
    fake.script(Reply(text="Sure."))
    chat = app.new_session(title="Chat A")
    page = open_page(app)
    message_box(page).fill("send me")
    assert wait_for(lambda: app.get(f"/api/sessions/{chat['id']}").json()["draft"] == "send me")
    message_box(page).press("Enter")
    expect(page.locator("article.message.assistant")).to_have_attribute(
        "data-status", "complete")
    assert wait_for(lambda: app.get(f"/api/sessions/{chat['id']}").json()["draft"] == "")
    page.reload()
    expect(page.locator("article.message.user .body")).to_have_text("send me")
    expect(message_box(page)).to_have_value("")


def test_a_new_chat_draft_survives_a_reload(open_page, app, fake):
    fake.script(Reply(text="Got it."))
    page = open_page(app)
    message_box(page).press_sequentially("an idea not yet sent")
    page.wait_for_timeout(700)  # longer than the save delay
    page.reload()
    expect(message_box(page)).to_have_value("an idea not yet sent")
    message_box(page).press("Enter")
    expect(page.locator("article.message.assistant")).to_have_attribute(
        "data-status", "complete")
    expect(message_box(page)).to_have_value("")
    page.locator("#new-chat").click()
    expect(page.locator("#chat-title")).to_have_text("New chat")
    expect(message_box(page)).to_have_value("")  # the sent draft is gone
    # the chat the draft became keeps no draft either
    sessions = app.get("/api/sessions").json()["sessions"]
    assert [s["draft"] for s in sessions] == [""]
    page.reload()
    page.locator("#new-chat").click()
    expect(message_box(page)).to_have_value("")


def test_a_huge_paste_shows_the_limit_and_the_page_stays_responsive(open_page, app):
    app.new_session(title="Other chat")
    page = open_page(app)
    expect(page.locator("#chat-title")).to_have_text("Other chat")
    box = message_box(page)
    page.evaluate(
        """() => {
          const box = document.querySelector('[aria-label="Message"]');
          box.focus();
          box.value = "word ".repeat(400000);
          box.dispatchEvent(new Event("input", { bubbles: true }));
        }"""
    )
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "This message is 2,000,000 characters; the limit is 1,000,000. "
        "Shorten it or attach it as a file.")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    shoot(page, "composer-over-limit")
    # Enter does nothing
    box.press("Enter")
    page.wait_for_timeout(300)
    expect(page.locator("article.message")).to_have_count(0)
    expect(box).not_to_have_value("")
    # typing more keeps the count right (how fast is measured by bench/bench_page.py)
    box.press("End")
    box.press("x")
    expect(alert).to_contain_text("This message is 2,000,001 characters")
    # the rest of the page still answers
    page.locator("#new-chat").click()
    expect(page.locator("#chat-title")).to_have_text("New chat")
    expect(box).to_have_value("")
    expect(alert).to_be_hidden()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    # shortening it below the limit takes the message away again
    open_chat(page, "Other chat")
    expect(alert).to_be_visible()
    page.evaluate(
        """() => {
          const box = document.querySelector('[aria-label="Message"]');
          box.value = box.value.slice(0, 1000);
          box.dispatchEvent(new Event("input", { bubbles: true }));
        }"""
    )
    expect(alert).to_be_hidden()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
