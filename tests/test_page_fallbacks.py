"""Fallback models on the page, in headless Chromium: the first model's server is down, its
fallback answers, and the note saying so is under the reply at once and after a reload; the
chat's own fallbacks are set in the Fallbacks panel."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .fake_provider import FakeProvider, Reply
from .support import provider_settings, send, shoot, wait_done
from .test_router import free_port

FIRST = "first/big"
SECOND = "second/small"
THIRD = "third/tiny"
PERSON_MS = 20  # a person reads the note with the reply: it is there by then


@pytest.fixture
def servers():
    with FakeProvider(models=["small"]) as second, FakeProvider(models=["tiny"]) as third:
        yield second, third


def settings(second: FakeProvider, third: FakeProvider) -> str:
    down = f"http://127.0.0.1:{free_port()}/v1"
    return provider_settings(("first", "openai", down), ("second", "openai", second.openai_url),
                             ("third", "openai", third.openai_url), default_model=FIRST) + (
        f'\n[fallbacks]\n"{FIRST}" = ["{SECOND}"]\n')


def test_the_note_under_a_reply_a_fallback_answered(open_page, start_server, servers):
    second, _ = servers
    app = start_server(settings(*servers))
    second.script(Reply(chunks=["Hello ", "from ", "the ", "fallback."], delay=0.4))
    page = open_page(app)
    send(page, "Is anyone there?")
    reply = page.locator("article.message.assistant").last
    expect(reply.locator(".body")).to_contain_text("Hello")  # the fallback's first words
    note = reply.locator(".fallback-note")
    expect(note).to_be_visible(timeout=PERSON_MS)
    expect(note).to_contain_text(f"Answered by {SECOND} — {FIRST} could not answer:")
    # While it streams, the reply's line names the model writing it, not the one asked.
    expect(reply.locator(".meta .info")).to_contain_text(SECOND, timeout=PERSON_MS)
    expect(reply.locator(".meta .info")).not_to_contain_text(FIRST)
    expect(reply.locator(".body")).to_have_text("Hello from the fallback.")
    wait_done(page, 1)
    expect(reply.locator(".meta .info")).to_contain_text(SECOND)
    shoot(page, "fallback-note")
    page.reload()
    reply = page.locator("article.message.assistant").last
    expect(reply.locator(".body")).to_have_text("Hello from the fallback.")
    expect(reply.locator(".fallback-note")).to_contain_text(
        f"Answered by {SECOND} — {FIRST} could not answer:", timeout=5_000)


def test_the_chats_own_fallbacks_are_set_in_the_panel(open_page, start_server, servers):
    second, third = servers
    app = start_server(settings(*servers))
    second.script(Reply(text="From the second."))
    third.script(Reply(text="From the third."))
    page = open_page(app)
    send(page, "first")
    wait_done(page, 1)
    page.get_by_role("button", name="Fallbacks").click()
    dialog = page.get_by_role("dialog", name="Fallback models")
    expect(dialog.locator("#fallbacks-list li")).to_have_text([f"{SECOND} Remove"])
    dialog.get_by_role("combobox", name="Add a fallback model").select_option(THIRD)
    expect(dialog.get_by_role("status")).to_have_text("Saved for this chat.")
    dialog.get_by_role("button", name=f"Remove {SECOND}").click()
    expect(dialog.locator("#fallbacks-list li")).to_have_text([f"{THIRD} Remove"])
    dialog.get_by_role("button", name="Save for every chat").click()
    expect(dialog.get_by_role("status")).to_contain_text("Saved in Settings")
    assert f'"{FIRST}" = ["{THIRD}"]' in app.settings_path.read_text()
    dialog.get_by_role("button", name="Close").click()
    session = app.get("/api/sessions").json()["sessions"][0]
    assert session["fallbacks"] == [THIRD]
    send(page, "second")
    wait_done(page, 2)
    reply = page.locator("article.message.assistant").last
    expect(reply.locator(".body")).to_have_text("From the third.")
    expect(reply.locator(".fallback-note")).to_contain_text(f"Answered by {THIRD}")
