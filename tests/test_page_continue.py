"""Continue, retries and titles in headless Chromium against a fake provider: a reply cut short
grows in the same article (and Stop works while it does), a wait before the model server is
asked again counts down with Cancel, and a title the model writes shows in the sidebar without
a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import provider_settings, send, shoot, wait_done

OLD = "The first part of a long story"


def replies(page: Page):
    return page.locator("article.message.assistant")


def test_continue_grows_the_same_reply(page, app, fake):
    fake.script(Reply(text=OLD, finish_reason="length"),
                Reply(text=" and how it ended.", chunks=[" and", " how", " it", " ended."],
                      delay=0.15))
    send(page, "Tell me a story")
    wait_done(page, 1)
    reply = replies(page).first
    reply_id = reply.get_attribute("data-id")
    # Cut by its length: Continue is offered beside Regenerate (a complete reply otherwise).
    expect(reply.get_by_role("button", name="Regenerate")).to_be_visible()
    shoot(page, "continue-offered")
    reply.get_by_role("button", name="Continue this reply").click()
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_visible()
    expect(reply.locator(".body")).to_contain_text(OLD)  # never blanked while it grows
    expect(reply.locator(".body")).to_have_text(OLD + " and how it ended.")
    expect(reply).to_have_attribute("data-status", "complete")
    shoot(page, "continue-grown")
    expect(replies(page)).to_have_count(1)
    assert reply.get_attribute("data-id") == reply_id
    expect(reply.get_by_role("button", name="Continue this reply")).to_have_count(0)
    expect(reply.locator(".meta .info")).to_contain_text("llama3.2:3b")
    saved = app.get(f"/api/messages/{reply_id}").json()
    assert saved["content"] == OLD + " and how it ended."


def test_stop_during_continue_keeps_both_parts(page, app, fake):
    fake.script(Reply(text=OLD, finish_reason="length"),
                Reply(chunks=[" and", " then", " more"], mode="stall", after=2))
    send(page, "Tell me a story")
    wait_done(page, 1)
    reply = replies(page).first
    reply.get_by_role("button", name="Continue this reply").click()
    expect(reply.locator(".body")).to_have_text(OLD + " and then")
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(reply).to_have_attribute("data-status", "stopped")
    expect(reply.locator(".body")).to_have_text(OLD + " and then")
    # Stopped: it can be continued again.
    expect(reply.get_by_role("button", name="Continue this reply")).to_be_visible()
    saved = app.get(f"/api/messages/{reply.get_attribute('data-id')}").json()
    assert (saved["status"], saved["content"]) == ("stopped", OLD + " and then")


def test_a_retry_counts_down_then_the_reply_comes(page, fake):
    fake.script(Reply(status=503, headers={"Retry-After": "2"}), Reply(text="Here at last."))
    send(page, "Anyone there?")
    line = page.locator(".retry-line")
    expect(line).to_contain_text("Retrying in 2 s…")
    expect(line.get_by_role("button", name="Cancel the reply")).to_be_visible()
    shoot(page, "retry-countdown")
    expect(line).to_contain_text("Retrying in 1 s…")
    wait_done(page, 1)
    expect(line).to_have_count(0)
    expect(replies(page).first.locator(".body")).to_have_text("Here at last.")


def test_cancel_during_the_wait_stops_the_reply(page, app, fake):
    fake.script(Reply(status=503, headers={"Retry-After": "8"}), Reply(text="too late"))
    send(page, "Anyone there?")
    line = page.locator(".retry-line")
    expect(line).to_contain_text("Retrying in")
    line.get_by_role("button", name="Cancel the reply").click()
    reply = replies(page).first
    expect(reply).to_have_attribute("data-status", "stopped", timeout=3_000)
    expect(line).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert len(fake.chat_requests()) == 1


def test_the_models_title_shows_in_the_sidebar(open_page, start_server, fake):
    app = start_server(provider_settings(("ollama", "ollama", fake.ollama_url),
                                         default_model="ollama/llama3.2:3b")
                       + "\n[chat]\nauto_title = true\n")
    page = open_page(app)
    fake.script(Reply(text="Bread needs flour, water, salt and yeast."),
                Reply(text="Simple Bread Recipe", delay=0.3))
    send(page, "how do i make bread at home")
    wait_done(page, 1)
    item = page.locator(".chat-item").first
    expect(item).to_contain_text("Simple Bread Recipe", timeout=8_000)
    expect(page.locator("#chat-title")).to_have_text("Simple Bread Recipe")
    shoot(page, "title-by-model")
