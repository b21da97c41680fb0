"""The context meter and the markers of cut history in headless Chromium, against a fake Ollama
whose model reads 512 tokens: the meter counts what is typed and each reply, warns before
history is cut, chooses the chat's policy from the keyboard, and a reply for which older
messages were left out or summarized says so (the summary shown on demand)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import message_box, send, shoot, wait_done, wait_for

pytestmark = pytest.mark.fake_models("small", context_lengths={"small": 512})


@pytest.fixture
def default_model() -> str:
    return "ollama/small"


def words(label: str, count: int = 100) -> str:
    return " ".join([label, *["abc"] * (count - 1)])


def used(page: Page) -> int:
    text = page.locator("#context-meter-text").text_content() or ""
    match = re.fullmatch(r"(\d+) / 512 tokens", text)
    assert match, text
    return int(match.group(1))


def settles(page: Page, check) -> int:
    """The meter's count once `check(count)` holds (it updates a moment after a change)."""
    return wait_for(lambda: check(used(page)) and used(page))


def after_one_echo(open_page, app, fake) -> Page:
    """The page after a first message of 100 words that the model echoed back."""
    fake.default = Reply(echo=True)
    page = open_page(app)
    send(page, words("one"))
    wait_done(page, 1)
    return page


def test_the_meter_counts_typing_and_replies_and_warns_before_history_is_cut(
        open_page, app, fake):
    page = after_one_echo(open_page, app, fake)
    meter = page.locator("#context-meter")
    expect(meter).to_be_visible()
    expect(meter).to_have_text(re.compile(r"^\d+ / 512 tokens$"))
    after_one = settles(page, lambda n: n > 150)
    assert after_one < 300  # the message and its echo

    message_box(page).press_sequentially("abc " * 30)
    settles(page, lambda n: n >= after_one + 30)
    expect(meter).not_to_have_class(re.compile("warn"))

    message_box(page).fill(words("two", 200))
    message_box(page).dispatch_event("input")
    expect(meter).to_have_class(re.compile("warn"))
    meter.click()
    expect(page.locator("#context-warning")).to_have_text(
        "The next message will leave out older messages to fit the model's window.")
    shoot(page, "context-meter-warns")
    page.keyboard.press("Escape")
    expect(page.locator("#context-popover")).to_be_hidden()
    expect(meter).to_be_focused()

    message_box(page).fill(words("two"))
    message_box(page).press("Enter")
    wait_done(page, 2)
    settles(page, lambda n: n > after_one + 150)  # the second turn counts after the reply

    send(page, words("thr"))
    wait_done(page, 3)
    marker = page.locator("article.message.assistant").nth(2).locator(".context-marker")
    expect(marker).to_have_text(
        "Older messages were left out to fit the model's window (2 messages)")
    expect(page.locator("article.message.assistant").nth(1).locator(".context-marker")) \
        .to_have_count(0)
    marker.scroll_into_view_if_needed()
    shoot(page, "context-marker-dropped")
    page.reload()
    expect(page.locator(".context-marker")).to_have_text(
        "Older messages were left out to fit the model's window (2 messages)")


def test_the_policy_is_chosen_in_the_popover_and_the_summary_shows_on_demand(
        open_page, app, fake):
    page = after_one_echo(open_page, app, fake)
    meter = page.locator("#context-meter")
    meter.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Context window")
    expect(dialog).to_be_visible()
    dialog.get_by_role("radio", name="Summarize the oldest messages").check()
    expect(dialog.get_by_label("Summaries written by")).to_be_visible()
    session = app.get("/api/sessions").json()["sessions"][0]
    wait_for(lambda: app.get(f"/api/sessions/{session['id']}").json()["context_policy"]
             == {"mode": "summarize", "model": None})
    shoot(page, "context-policy-popover")
    page.keyboard.press("Escape")

    send(page, words("two"))
    wait_done(page, 2)
    fake.script(Reply(text="They counted to two, slowly."), Reply(echo=True))
    send(page, words("thr"))
    wait_done(page, 3)
    marker = page.locator("article.message.assistant").nth(2).locator(".context-marker")
    summary = marker.locator("summary")
    expect(summary).to_have_text(
        "Older messages were summarized to fit the model's window (4 messages)")
    summary.focus()
    page.keyboard.press("Enter")
    expect(marker.locator(".context-summary")).to_have_text("They counted to two, slowly.")
    marker.scroll_into_view_if_needed()
    shoot(page, "context-marker-summarized")
