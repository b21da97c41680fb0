"""The conversation in the page: editing and branches, regenerating, retrying, scrolling,
long chats, shortcuts and copying — in headless Chromium against a fake provider."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import send, shoot, wait_done


def bodies(page: Page, role: str):
    return page.locator(f"article.message.{role} .body")


def test_edit_makes_a_branch_and_versions_switch(page, app, fake):
    fake.script(Reply(text="A1"), Reply(text="A2"), Reply(text="A2 better"))
    send(page, "Q1")
    wait_done(page, 1)
    send(page, "Q2")
    wait_done(page, 2)
    question = page.locator("article.message.user").nth(1)
    question.get_by_role("button", name="Edit message").click()
    editor = page.get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value("Q2")
    editor.fill("Q2, said better")
    editor.press("Enter")
    wait_done(page, 2)
    expect(bodies(page, "user")).to_have_text(["Q1", "Q2, said better"])
    expect(bodies(page, "assistant")).to_have_text(["A1", "A2 better"])
    edited = page.locator("article.message.user").nth(1)
    expect(edited.locator(".versions")).to_have_text(re.compile(r"2/2"))
    shoot(page, "edited-branch")

    edited.get_by_role("button", name="Previous version").click()
    expect(bodies(page, "user")).to_have_text(["Q1", "Q2"])
    expect(bodies(page, "assistant")).to_have_text(["A1", "A2"])
    expect(page.locator("article.message.user").nth(1).locator(".versions")).to_have_text(
        re.compile(r"1/2"))
    session = app.get("/api/sessions").json()["sessions"][0]
    kept = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [m["content"] for m in kept] == ["Q1", "A1", "Q2", "A2"]


def test_regenerate_with_another_model(page, app, fake):
    fake.script(Reply(text="From llama."), Reply(text="From qwen."))
    send(page, "Hello")
    wait_done(page, 1)
    page.locator("#model-select").select_option("ollama/qwen3:8b")
    page.get_by_role("button", name="Regenerate").click()
    reply = page.locator("article.message.assistant")
    expect(reply).to_have_count(1)
    expect(reply.locator(".body")).to_have_text("From qwen.")
    expect(reply.locator(".meta")).to_contain_text("ollama/qwen3:8b")
    expect(reply.locator(".versions")).to_have_text(re.compile(r"2/2"))
    assert fake.chat_requests()[-1].body["model"] == "qwen3:8b"
    reply.get_by_role("button", name="Previous version").click()
    expect(page.locator("article.message.assistant .body")).to_have_text("From llama.")


def test_a_failed_reply_offers_retry(page, fake):
    fake.script(Reply(text="partial words then trouble", mode="error_midstream", after=2),
                Reply(text="A whole answer."))
    send(page, "Try")
    failed = page.locator("article.message.assistant")
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed.locator(".badge")).to_contain_text("error")
    shoot(page, "reply-error")
    failed.get_by_role("button", name="Retry").click()
    wait_done(page, 1)
    expect(page.locator("article.message.assistant .body")).to_have_text("A whole answer.")


def test_auto_scroll_follows_only_at_the_bottom(page, fake):
    long_text = "\n\n".join(f"Paragraph {i} of a long answer." for i in range(120))
    fake.script(Reply(text=long_text, delay=0.005))
    send(page, "Write a lot")
    box = page.locator("#messages")
    expect(page.locator("article.message.assistant .body")).to_contain_text("Paragraph 30")
    box.evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    page.wait_for_timeout(300)
    assert box.evaluate("element => element.scrollTop") < 400  # not yanked down while reading
    wait_done(page, 1, timeout=30_000)
    jump.click()
    expect(jump).to_be_hidden()
    assert box.evaluate(
        "element => element.scrollHeight - element.scrollTop - element.clientHeight") < 80


def long_chat(app, count: int) -> None:
    """A chat "Long chat" of `count` messages, "message 0" to "message <count - 1>"."""
    store = app.runtime.store
    session = store.create_session(title="Long chat", model="ollama/llama3.2:3b")
    parent_id = None
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        parent_id = store.add_message(session_id=session.id, parent_id=parent_id, role=role,
                                      content=f"message {i}").id


def test_a_1000_message_chat_opens_at_the_end_and_loads_older_messages(open_page, app):
    long_chat(app, 1000)
    page = open_page(app)
    page.get_by_role("navigation", name="Chats").get_by_text("Long chat").click()
    articles = page.locator("article.message")
    expect(articles).to_have_count(50)
    expect(articles.last.locator(".body")).to_have_text("message 999")
    anchor = page.locator("article.message", has_text="message 950").first
    page.locator("#messages").evaluate("e => { e.scrollTop = 0; }")
    top_before = anchor.bounding_box()["y"]
    page.locator("#messages").evaluate("e => e.dispatchEvent(new Event('scroll'))")
    expect(articles).to_have_count(100)
    expect(articles.first.locator(".body")).to_have_text("message 900")
    # The reader stays on what they were reading: the older page goes above it.
    assert abs(anchor.bounding_box()["y"] - top_before) < 40


def test_a_chat_picked_while_the_first_one_loads_is_the_one_shown(open_page, app, monkeypatch):
    store = app.runtime.store
    older = store.create_session(title="Older chat", model="ollama/llama3.2:3b")
    store.add_message(session_id=older.id, parent_id=None, role="user", content="older words")
    newest = store.create_session(title="Newest chat", model="ollama/llama3.2:3b")
    store.add_message(session_id=newest.id, parent_id=None, role="user", content="newest words")
    chat = app.runtime.chat
    plain = chat.messages

    def slow_for_the_newest(session_id, **kwargs):
        if session_id == newest.id:
            time.sleep(1.0)  # the chat opened at start is still loading when the person picks
        return plain(session_id, **kwargs)

    monkeypatch.setattr(chat, "messages", slow_for_the_newest)
    page = open_page(app)
    page.get_by_role("navigation", name="Chats").get_by_text("Older chat").click()
    expect(page.locator("article.message .body")).to_have_text(["older words"])
    page.wait_for_timeout(1500)  # the slow answer for the first chat has come and gone
    expect(page.locator("article.message .body")).to_have_text(["older words"])
    chats = page.get_by_role("navigation", name="Chats")
    expect(chats.locator("[aria-current='page']")).to_have_text("Older chat")


def test_picking_the_chat_on_screen_keeps_the_place_read(open_page, app):
    long_chat(app, 200)
    page = open_page(app)
    articles = page.locator("article.message")
    expect(articles.last.locator(".body")).to_have_text("message 199")
    box = page.locator("#messages")
    box.evaluate("e => { e.scrollTop = e.scrollHeight / 2; }")
    place = box.evaluate("e => e.scrollTop")
    first = articles.first.evaluate("e => e.dataset.id")
    page.get_by_role("navigation", name="Chats").get_by_text("Long chat").click()
    page.wait_for_timeout(300)
    assert box.evaluate("e => e.scrollTop") == place
    assert articles.first.evaluate("e => e.dataset.id") == first


def test_shortcuts_and_the_help_dialog(page, fake):
    fake.script(Reply(text="```python\nprint('hi')\n```\n"))
    send(page, "Code please")
    wait_done(page, 1)
    page.locator("body").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New chat")
    expect(dialog).to_contain_text("Copy the last code block")
    shoot(page, "shortcuts-help")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    # The clipboard outlives a test: empty it, so only this copy can fill it.
    page.evaluate("navigator.clipboard.writeText('')")
    page.keyboard.press("Control+Shift+Semicolon")
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('print'))")
    assert "print('hi')" in page.evaluate("navigator.clipboard.readText()")

    page.keyboard.press("Control+b")
    expect(page.get_by_role("navigation", name="Chats")).to_be_hidden()
    page.keyboard.press("Control+b")
    expect(page.get_by_role("navigation", name="Chats")).to_be_visible()

    page.keyboard.press("Control+Shift+O")
    expect(page.locator("#chat-title")).to_have_text("New chat")
    expect(page.locator("article.message")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()


def test_copy_a_reply(page, fake):
    fake.script(Reply(text="Copy **me** exactly."))
    send(page, "Say something")
    wait_done(page, 1)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    # The clipboard outlives a test: empty it, so only this copy can fill it.
    page.evaluate("navigator.clipboard.writeText('')")
    page.locator("article.message.assistant").get_by_role("button", name="Copy message").click()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.length > 0)")
    assert page.evaluate("navigator.clipboard.readText()") == "Copy **me** exactly."


def test_switching_chats_mid_reply_and_back_loses_nothing(page, app, fake):
    fake.script(Reply(text="A short answer."),
                Reply(text="one two three four five six seven", mode="stall", after=3))
    send(page, "First chat")
    wait_done(page, 1)
    page.get_by_role("button", name="New chat").first.click()
    send(page, "Second chat")
    second = page.locator("article.message.assistant")
    expect(second.locator(".body")).to_contain_text("one two three")
    chats = page.get_by_role("navigation", name="Chats")
    chats.get_by_text("First chat").click()
    expect(page.locator("article.message.assistant .body")).to_have_text("A short answer.")
    fake.release()  # the reply goes on while another chat is shown
    chats.get_by_text("Second chat").click()
    reply = page.locator("article.message.assistant")
    expect(reply).to_have_attribute("data-status", "complete", timeout=10_000)
    expect(reply.locator(".body")).to_have_text("one two three four five six seven")


def test_lengths_of_time_read_naturally(page):
    """One way to write a length of time (stats.js), for the stats, thinking and Plan Mode."""
    cases = [(0.2, "1 ms"), (350, "350 ms"), (999.4, "999 ms"), (999.6, "1.0 s"),
             (2345, "2.3 s"), (59_949, "59.9 s"), (59_950, "1 min 0 s"), (75_000, "1 min 15 s"),
             (119_600, "2 min 0 s")]
    shown = page.evaluate(
        "async (values) => { const { duration } = await import('/js/stats.js');"
        " return values.map(duration); }", [ms for ms, _ in cases])
    assert shown == [text for _, text in cases]
