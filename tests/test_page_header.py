"""The chat header: its title follows the chat's title, it stays tidy when full (one row when
there is room for it, the title giving way first), and only one panel (Settings, Roles, Models,
the shortcuts) is open at a time."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import send, shoot, wait_done

PLANNER = "ollama/qwen3:8b"
EXECUTOR = "ollama/llama3.2:3b"


pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b", capabilities={"qwen3:8b": ["completion", "thinking"]})


def header_title(page: Page):
    return page.locator("#chat-title")


# --- the title ----------------------------------------------------------------------------------


def test_the_header_title_follows_the_chat_title(page, app, fake):
    fake.script(Reply(text="Lisbon in May is lovely.", mode="stall", after=1))
    send(page, "Plan a trip to Lisbon in May")
    sidebar = page.get_by_role("navigation", name="Chats").locator(".chat-title")
    # The server names the chat when the reply starts: the header says so at once, while the
    # reply is still being written, without opening the chat again.
    expect(sidebar).to_have_text(["Plan a trip to Lisbon in May"])
    expect(header_title(page)).to_have_text("Plan a trip to Lisbon in May")
    expect(header_title(page)).to_have_attribute("title", "Plan a trip to Lisbon in May")
    fake.release()
    wait_done(page, 1)
    expect(header_title(page)).to_have_text("Plan a trip to Lisbon in May")

    # Renamed in the chat list.
    page.get_by_role("button", name="Chat actions for Plan a trip to Lisbon in May").click()
    page.get_by_role("menuitem", name="Rename").click()
    rename = page.get_by_role("textbox", name="Chat title")
    rename.fill("Lisbon, May")
    rename.press("Enter")
    expect(header_title(page)).to_have_text("Lisbon, May")
    expect(header_title(page)).to_have_attribute("title", "Lisbon, May")

    # Renamed with /title.
    send(page, "/title Portugal trip")
    expect(header_title(page)).to_have_text("Portugal trip")
    expect(sidebar).to_have_text(["Portugal trip"])
    session = app.get("/api/sessions").json()["sessions"][0]
    assert session["title"] == "Portugal trip"

    # Renamed elsewhere (another window): the next look at the list, after the next reply,
    # brings it here too.
    app.patch(f"/api/sessions/{session['id']}", {"title": "Porto and Lisbon"})
    send(page, "And in June?")
    wait_done(page, 2)
    expect(sidebar).to_have_text(["Porto and Lisbon"])
    expect(header_title(page)).to_have_text("Porto and Lisbon")


def test_each_new_chat_gets_its_title_in_the_header(page):
    send(page, "Hello there, how are you")
    wait_done(page, 1)
    expect(header_title(page)).to_have_text("Hello there, how are you")
    page.keyboard.press("Control+Shift+O")
    expect(header_title(page)).to_have_text("New chat")
    send(page, "A second question")
    expect(header_title(page)).to_have_text("A second question")


# --- the layout ---------------------------------------------------------------------------------


def busy_header(app, open_page, width: int) -> Page:
    """A chat with a long title, a role, Plan Mode and a model that thinks, `width` px wide."""
    role = app.post("/api/roles", {"name": "Senior travel planner", "instructions": "Plan."})
    app.new_session(title="Planning a two-week trip to Lisbon and Porto in late spring",
                    role_id=role.json()["id"], model=PLANNER,
                    plan_mode={"planner": PLANNER, "executor": EXECUTOR})
    page = open_page(app, width=width)
    expect(page.locator("#role-chip")).to_be_visible()
    expect(page.locator("#plan-chip")).to_be_visible()
    expect(page.locator("#think-control")).to_be_visible()
    return page


HEADER_BOXES = """() => {
    const header = document.querySelector('.chat-header');
    const box = (el) => { const r = el.getBoundingClientRect();
        return { id: el.id || el.className, top: r.top, bottom: r.bottom, left: r.left,
                 right: r.right, width: r.width, height: r.height }; };
    const title = document.getElementById('chat-title');
    return {
        header: box(header),
        overflow: header.scrollWidth - header.clientWidth,
        title: { ...box(title), lineHeight: parseFloat(getComputedStyle(title).lineHeight),
                 cut: title.scrollWidth > title.clientWidth, hover: title.title },
        controls: [...header.querySelectorAll('button, select')]
            .filter((el) => el.checkVisibility()).map(box),
    };
}"""


def middle(box: dict) -> float:
    return (box["top"] + box["bottom"]) / 2


def one_row(boxes: list[dict]) -> bool:
    return max(map(middle, boxes)) - min(map(middle, boxes)) <= 2


@pytest.mark.parametrize("width", [1200, 900])
def test_the_header_stays_tidy(open_page, app, width):
    page = busy_header(app, open_page, width)
    shoot(page, f"header-{width}")
    boxes = page.evaluate(HEADER_BOXES)
    title, header, controls = boxes["title"], boxes["header"], boxes["controls"]
    assert title["height"] < 1.5 * title["lineHeight"], "the title wraps"
    assert title["hover"] == "Planning a two-week trip to Lisbon and Porto in late spring"
    assert title["width"] >= 120, "the title is squeezed away"
    assert boxes["overflow"] <= 0, "the header overflows"
    for control in controls:
        assert control["height"] < 40, f"{control['id']} wraps"
        assert header["left"] <= control["left"] and control["right"] <= header["right"], control
    chips = [c for c in controls if c["id"].startswith(("role-", "plan-"))]
    rest = [c for c in controls if c not in chips]
    assert one_row([title, *chips]) and one_row(rest)
    row = [title, *chips, *rest] if width >= 1200 else rest
    for left, right in zip(row, row[1:], strict=False):
        assert left["right"] <= right["left"], (left, right)  # in order, none on another
    if width >= 1200:  # one row; the title is the first to give way
        assert one_row([title, *rest]) and title["cut"]
    else:  # the title and the chips above the picker and the buttons; the chips fit
        assert title["bottom"] <= min(c["top"] for c in rest)
        for chip in ("#role-chip-name", "#plan-chip-label"):
            assert page.locator(chip).evaluate("e => e.scrollWidth <= e.clientWidth"), chip
    for chip in ("#role-chip-name", "#plan-chip-label"):
        expect(page.locator(chip)).to_have_attribute("title", re.compile(r"^(Role|Plan)"))


# --- one panel at a time ------------------------------------------------------------------------


def open_dialogs(page: Page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('dialog[open]')].map(d => d.id)")


def test_opening_a_panel_closes_the_one_that_is_open(page):
    header_button = {name: page.get_by_role("button", name=name, exact=True)
                     for name in ("Settings", "Models", "Roles")}
    header_button["Settings"].click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    page.keyboard.press("Control+Shift+L")  # the Roles shortcut, from inside Settings
    expect(page.get_by_role("dialog", name="Roles")).to_be_visible()
    expect(page.get_by_role("dialog", name="Settings")).to_be_hidden()
    assert open_dialogs(page) == ["roles-dialog"]
    expect(page.locator("#new-role")).to_be_focused()
    page.keyboard.press("?")  # the shortcuts, from the New role button
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    assert open_dialogs(page) == ["help-dialog"]
    # Closing the last one goes back to where the first was opened from.
    page.keyboard.press("Escape")
    assert open_dialogs(page) == []
    expect(header_button["Settings"]).to_be_focused()

    header_button["Models"].click()
    expect(page.get_by_role("dialog", name="Models")).to_be_visible()
    page.keyboard.press("Control+Shift+L")
    expect(page.get_by_role("dialog", name="Roles")).to_be_visible()
    assert open_dialogs(page) == ["roles-dialog"]
    # The Roles panel closes by its backdrop too, like the others.
    page.mouse.click(5, 400)
    expect(page.get_by_role("dialog", name="Roles")).to_be_hidden()
    assert open_dialogs(page) == []
    expect(header_button["Models"]).to_be_focused()
    # Each panel still opens and closes on its own.
    for name in ("Roles", "Settings", "Models"):
        header_button[name].click()
        expect(page.get_by_role("dialog", name=name)).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name=name)).to_be_hidden()
        expect(header_button[name]).to_be_focused()
