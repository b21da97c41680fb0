"""The chat list in headless Chromium: order, filter, rename in place, pin, delete with undo,
and all of it by keyboard."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from .support import shoot


def chats(page: Page):
    return page.get_by_role("navigation", name="Chats")


def titles(page: Page):
    return chats(page).locator(".chat-title")


def chat_button(page: Page, title: str):
    return chats(page).locator(".chat-open", has_text=title)


def make_chats(app, *names: str) -> dict[str, dict]:
    """Chats created oldest first, so the list shows them newest first."""
    return {name: app.new_session(title=name) for name in names}


def actions(page: Page, title: str, item: str) -> None:
    page.get_by_role("button", name=f"Chat actions for {title}").click()
    page.get_by_role("menuitem", name=item).click()


def api_titles(app) -> list[str]:
    return [s["title"] for s in app.get("/api/sessions").json()["sessions"]]


def test_pinned_chats_come_first_then_the_newest(open_page, app):
    made = make_chats(app, "Alpha", "Bravo", "Charlie")
    app.patch(f"/api/sessions/{made['Alpha']['id']}", {"pinned": True})
    for n in range(25):
        app.new_session(title=f"Older question number {n} about a topic")
    app.new_session(title="A very long title that goes on and on well past the width of the list")
    pinned = app.new_session(title="Pinned recipe ideas")
    app.patch(f"/api/sessions/{pinned['id']}", {"pinned": True})
    page = open_page(app)
    expect(titles(page).nth(0)).to_have_text("Pinned recipe ideas")
    expect(titles(page).nth(1)).to_have_text("Alpha")
    expect(titles(page).nth(2)).to_have_text(
        "A very long title that goes on and on well past the width of the list")
    expect(titles(page)).to_have_count(30)
    # the newest pinned chat is opened and marked as the current one
    expect(chat_button(page, "Pinned recipe ideas")).to_have_attribute("aria-current", "page")
    expect(page.locator("#chat-title")).to_have_text("Pinned recipe ideas")
    assert page.locator(".chat-item.pinned").count() == 2
    # a long title is cut with an ellipsis, not wrapped
    long_title = titles(page).nth(2)
    assert long_title.evaluate("e => e.scrollWidth > e.clientWidth")
    assert long_title.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    box = long_title.bounding_box()
    assert box is not None and box["height"] < 30
    shoot(page, "sidebar-pinned-and-many")
    # opening another chat moves the mark
    chat_button(page, "Bravo").click()
    expect(page.locator("#chat-title")).to_have_text("Bravo")
    expect(chat_button(page, "Bravo")).to_have_attribute("aria-current", "page")
    expect(chat_button(page, "Pinned recipe ideas")).not_to_have_attribute("aria-current", "page")


def test_filter_by_title_as_you_type(page_with_chats):
    page = page_with_chats
    box = page.get_by_role("searchbox", name="Filter chats")
    box.press_sequentially("RAV")
    expect(titles(page)).to_have_text(["Bravo"])
    box.fill("ha")
    expect(titles(page)).to_have_text(["Charlie", "Alpha"])
    box.fill("nothing like this")
    expect(titles(page)).to_have_count(0)
    expect(chats(page)).to_contain_text("No chats match “nothing like this”.")
    box.fill("")
    expect(titles(page)).to_have_text(["Charlie", "Bravo", "Alpha"])


@pytest.fixture
def page_with_chats(open_page, app) -> Page:
    make_chats(app, "Alpha", "Bravo", "Charlie")
    page = open_page(app)
    expect(titles(page)).to_have_text(["Charlie", "Bravo", "Alpha"])
    return page


def test_filter_asks_the_api_when_the_list_is_long(open_page, app):
    app.new_session(title="The needle in the haystack")
    for n in range(500):
        app.new_session(title=f"Hay {n}")
    page = open_page(app)
    expect(titles(page)).to_have_count(500)
    expect(chats(page)).not_to_contain_text("needle")  # the oldest is past the first page
    page.get_by_role("searchbox", name="Filter chats").fill("needle")
    expect(titles(page)).to_have_text(["The needle in the haystack"])
    assert any("/api/sessions?q=needle" in url for url in page.requested)
    page.get_by_role("searchbox", name="Filter chats").fill("")
    expect(titles(page)).to_have_count(500)
    page.get_by_role("button", name="Show more chats").click()
    expect(titles(page)).to_have_count(501)
    expect(titles(page).last).to_have_text("The needle in the haystack")
    expect(page.get_by_role("button", name="Show more chats")).to_be_hidden()


def test_rename_in_place_enter_saves_escape_cancels(page_with_chats, app):
    page = page_with_chats
    chat_button(page, "Bravo").click()
    expect(page.locator("#chat-title")).to_have_text("Bravo")
    chat_button(page, "Bravo").dblclick()
    box = chats(page).get_by_role("textbox", name="Chat title")
    expect(box).to_be_focused()
    expect(box).to_have_value("Bravo")
    box.fill("Trip to Lisbon")
    shoot(page, "sidebar-rename")
    box.press("Enter")
    expect(box).to_have_count(0)
    expect(chats(page)).to_contain_text("Trip to Lisbon")
    expect(page.locator("#chat-title")).to_have_text("Trip to Lisbon")  # the open chat's header
    expect(chat_button(page, "Trip to Lisbon")).to_be_focused()
    deadline = time.monotonic() + 5
    while "Trip to Lisbon" not in api_titles(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Trip to Lisbon" in api_titles(app) and "Bravo" not in api_titles(app)

    actions(page, "Alpha", "Rename")
    box = chats(page).get_by_role("textbox", name="Chat title")
    expect(box).to_be_focused()
    box.fill("Never saved")
    box.press("Escape")
    expect(box).to_have_count(0)
    expect(chats(page)).to_contain_text("Alpha")
    expect(chats(page)).not_to_contain_text("Never saved")
    time.sleep(0.3)
    assert "Alpha" in api_titles(app) and "Never saved" not in api_titles(app)


def test_pin_moves_a_chat_to_the_top_and_unpin_releases_it(page_with_chats, app):
    page = page_with_chats
    actions(page, "Alpha", "Pin")
    expect(titles(page)).to_have_text(["Alpha", "Charlie", "Bravo"])
    expect(page.locator(".chat-item.pinned")).to_have_count(1)
    expect(page.locator(".chat-item.pinned .chat-title")).to_have_text("Alpha")
    pinned = {s["title"]: s["pinned"] for s in app.get("/api/sessions").json()["sessions"]}
    assert pinned == {"Alpha": True, "Charlie": False, "Bravo": False}
    actions(page, "Bravo", "Pin")
    expect(titles(page)).to_have_text(["Bravo", "Alpha", "Charlie"])
    page.get_by_role("button", name="Chat actions for Alpha").click()
    expect(page.get_by_role("menuitem", name="Unpin")).to_be_visible()
    shoot(page, "sidebar-menu")
    page.get_by_role("menuitem", name="Unpin").click()
    expect(page.locator(".chat-item.pinned .chat-title")).to_have_text(["Bravo"])
    expect(titles(page)).to_have_text(["Bravo", "Alpha", "Charlie"])  # unpinned: newest first
    pinned = {s["title"]: s["pinned"] for s in app.get("/api/sessions").json()["sessions"]}
    assert pinned == {"Bravo": True, "Alpha": False, "Charlie": False}


def test_delete_then_undo_keeps_the_chat(page_with_chats, app):
    page = page_with_chats
    actions(page, "Bravo", "Delete")
    expect(titles(page)).to_have_text(["Charlie", "Alpha"])
    toast = page.get_by_role("status").filter(has_text="Deleted")
    expect(toast).to_contain_text("Deleted “Bravo”.")
    page.wait_for_timeout(300)  # let it slide in
    shoot(page, "sidebar-undo-toast")
    page.get_by_role("button", name="Undo").click()
    expect(titles(page)).to_have_text(["Charlie", "Bravo", "Alpha"])
    expect(page.get_by_role("button", name="Undo")).to_be_hidden()
    time.sleep(5.5)  # longer than the toast: the delete must not happen anyway
    assert "Bravo" in api_titles(app)
    page.reload()
    expect(titles(page)).to_have_text(["Charlie", "Bravo", "Alpha"])


def test_delete_without_undo_removes_it_after_the_toast(page_with_chats, app):
    page = page_with_chats
    expect(page.locator("#chat-title")).to_have_text("Charlie")  # the newest is open
    actions(page, "Charlie", "Delete")
    expect(titles(page)).to_have_text(["Bravo", "Alpha"])
    # the open chat went: the page shows a new, empty chat
    expect(page.locator("#chat-title")).to_have_text("New chat")
    expect(page.locator("#messages article")).to_have_count(0)
    assert "Charlie" in api_titles(app)  # not yet: Undo is still possible
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.get_by_role("button", name="Undo")).to_be_hidden(timeout=8000)
    deadline = time.monotonic() + 3
    while "Charlie" in api_titles(app) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert api_titles(app) == ["Bravo", "Alpha"]
    expect(titles(page)).to_have_text(["Bravo", "Alpha"])


def test_keyboard_only_rename_through_the_actions_menu(page_with_chats, app):
    page = page_with_chats
    page.get_by_role("button", name="New chat").focus()
    target = "Chat actions for Bravo"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == target:
            break
    actions_button = page.get_by_role("button", name=target)
    expect(actions_button).to_be_focused()
    assert actions_button.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    assert actions_button.evaluate("e => getComputedStyle(e).opacity") == "1"
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Rename")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Pin")).to_be_focused()
    page.keyboard.press("Escape")  # closes the menu, back on its button
    expect(page.get_by_role("menu")).to_have_count(0)
    expect(actions_button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Rename")).to_be_focused()
    shoot(page, "sidebar-keyboard-menu")
    page.keyboard.press("Enter")
    box = chats(page).get_by_role("textbox", name="Chat title")
    expect(box).to_be_focused()
    page.keyboard.type("Typed by keyboard")  # the old title is selected: typing replaces it
    page.keyboard.press("Enter")
    expect(chat_button(page, "Typed by keyboard")).to_be_focused()
    deadline = time.monotonic() + 5
    while "Typed by keyboard" not in api_titles(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Typed by keyboard" in api_titles(app)
