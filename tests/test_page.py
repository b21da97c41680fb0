"""The page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a
real server and a fake provider: what a person sees when they chat."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import provider_settings, send, shoot

REPLY = (
    "Here is **bold** text and a code block:\n\n```python\ndef greet(name):\n"
    "    return f'Hello, {name}!'\n```\n\nAnd a list:\n\n- one\n- two\n"
)


def replies(page: Page):
    return page.locator("article.message.assistant")


def test_send_and_watch_the_reply_stream_in(page, app, fake):
    fake.script(Reply(text=REPLY, delay=0.03))
    send(page, "Show me a greeting function")
    expect(page.locator("article.message.user .body")).to_have_text("Show me a greeting function")
    reply = replies(page).first
    expect(reply).to_contain_text("Here is bold text")  # visible while it still streams
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(reply.locator(".code-block")).to_contain_text("def greet(name):", timeout=10_000)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".meta")).to_contain_text("ollama/llama3.2:3b")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("navigation", name="Chats")).to_contain_text(
        "Show me a greeting function")
    shoot(page, "reply-streamed")


def test_stop_stops_the_model_and_keeps_the_partial_reply(page, fake):
    fake.script(Reply(text="one two three four five six", mode="stall", after=3))
    send(page, "Count")
    reply = replies(page).first
    expect(reply).to_contain_text("one two three")
    page.get_by_role("button", name="Stop").click()
    expect(reply).to_have_attribute("data-status", "stopped")
    expect(reply.locator(".badge")).to_have_text("stopped")
    assert fake.disconnected.wait(2), "Stop did not close the request to the model server"
    expect(reply.locator(".body")).to_have_text(re.compile(r"^\s*one two three\s*$"))
    shoot(page, "reply-stopped")


def test_escape_stops_too(page, fake):
    fake.script(Reply(text="alpha beta gamma delta", mode="stall", after=2))
    send(page, "Go")
    expect(replies(page).first).to_contain_text("alpha beta")
    page.keyboard.press("Escape")
    expect(replies(page).first).to_have_attribute("data-status", "stopped")


def test_reloading_mid_reply_continues_without_loss_or_repeat(page, app, fake):
    fake.script(Reply(text="first second third fourth fifth sixth", mode="stall", after=3))
    send(page, "Tell me")
    expect(replies(page).first).to_contain_text("first second third")
    page.reload()
    reply = replies(page).first
    expect(reply).to_contain_text("first second third")
    fake.release()
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".body")).to_have_text(
        re.compile(r"^\s*first second third fourth fifth sixth\s*$"))


def test_a_hostile_reply_stays_inert(page, fake):
    fake.script(Reply(text='<script>alert(1)</script><img src=x onerror="alert(2)"> '
                           "[click](javascript:alert(3)) ![leak](http://example.com/x.png)"))
    send(page, "Be nasty")
    reply = replies(page).first
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_contain_text("<script>alert(1)</script>")
    assert reply.locator("script, img, iframe").count() == 0
    assert page.dialogs == []


def test_the_page_never_calls_outside_its_own_origin(page, app, fake):
    fake.script(Reply(text=REPLY))
    send(page, "Anything")
    expect(replies(page).first).to_have_attribute("data-status", "complete")
    page.reload()
    expect(replies(page).first).to_be_visible()
    assert page.requested, "no request was recorded"
    outside = [url for url in page.requested if not url.startswith(app.base + "/")]
    assert outside == []


def test_no_model_server_explains_itself(open_page, start_server):
    app = start_server(provider_settings(("ollama", "ollama", "http://127.0.0.1:9")))
    page = open_page(app)
    panel = page.locator("#welcome")
    expect(panel.get_by_role("heading", name="Connect a model to start chatting")).to_be_visible()
    expect(panel).to_contain_text("Ollama is not running at http://127.0.0.1:9")
    expect(panel).to_contain_text("ollama serve")
    expect(page.locator("#notice")).to_be_hidden()  # said once, in the panel
    shoot(page, "no-model-server")


def test_a_provider_down_in_an_open_chat_is_a_notice(open_page, start_server, fake):
    settings = provider_settings(("ollama", "ollama", fake.ollama_url),
                                 default_model="ollama/llama3.2:3b")
    app = start_server(settings)
    fake.script(Reply(text="Hi."))
    app.chat(app.new_session()["id"], {"message": "Hello"})
    app.settings_path.write_text(provider_settings(("ollama", "ollama", "http://127.0.0.1:9")))
    deadline = time.monotonic() + 5
    while app.get("/api/models").json()["providers"][0]["status"] == "ok":  # file re-read
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page = open_page(app)
    expect(page.locator("article.message.assistant .body")).to_have_text("Hi.")
    notice = page.locator("#notice")
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_contain_text("Ollama is not running")
