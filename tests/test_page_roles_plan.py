"""The Roles panel and Plan Mode in headless Chromium: managing roles, the chat's system prompt,
a plan-mode reply streaming its plan (also across a reload, and stopped while planning), and
the whole journey with the keyboard only."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import message_box, send, shoot

PLANNER = "ollama/qwen3:8b"
EXECUTOR = "ollama/llama3.2:3b"
PLAN_TEXT = "1. Boil water.\n2. Add the egg.\n3. Wait nine minutes."
TIME = r"(\d+ ms|\d+\.\d s)"  # how long a phase took (stats.js duration)


def roles_dialog(page: Page):
    return page.get_by_role("dialog", name="Roles")


def only_session(app) -> dict:
    sessions = app.get("/api/sessions").json()["sessions"]
    assert len(sessions) == 1, sessions
    return sessions[0]


def tab_to(page: Page, name: str, limit: int = 30) -> None:
    """Press Tab until the control called `name` has the focus, as a keyboard user does."""
    for _ in range(limit):
        label = page.evaluate(
            "() => { const el = document.activeElement;"
            " return el.getAttribute('aria-label') || el.labels?.[0]?.textContent"
            " || el.textContent; }")
        if label == name:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {name!r}")


# --- the Roles panel ----------------------------------------------------------------------------


def test_roles_panel_creates_edits_uses_and_deletes(page, app):
    page.get_by_role("button", name="Roles", exact=True).click()
    dialog = roles_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("No roles yet")
    expect(page.locator("#new-role")).to_be_focused()
    page.locator("#new-role").click()
    page.get_by_label("Name").fill("Translator")
    page.get_by_label("Instructions").fill("Translate everything into French.")
    page.get_by_role("button", name="Save role").click()
    item = dialog.locator(".role-item", has_text="Translator")
    expect(item).to_contain_text("Translate everything into French.")
    page.locator("#new-role").click()
    page.get_by_label("Name").fill("translator")
    page.get_by_role("button", name="Save role").click()
    expect(page.locator("#role-error")).to_contain_text("already exists")
    page.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name="Edit Translator").click()
    page.get_by_label("Instructions").fill("Translate into German.")
    page.get_by_role("button", name="Save role").click()
    expect(item).to_contain_text("Translate into German.")
    assert [r["instructions"] for r in app.get("/api/roles").json()["roles"]] == [
        "Translate into German."]

    page.get_by_role("button", name="Use Translator").click()
    expect(page.get_by_role("button", name="Stop using Translator")).to_have_attribute(
        "aria-pressed", "true")
    expect(page.locator("#role-chip")).to_contain_text("Role: Translator")
    page.get_by_label("System prompt for this chat").fill("Keep it short.")
    page.get_by_role("button", name="Save prompt").click()
    expect(page.locator("#chat-prompt-status")).to_have_text("Saved.")
    expect(page.locator("#system-preview")).to_have_text("Translate into German.\n\nKeep it short.")
    session = only_session(app)
    assert session["system_prompt"] == "Keep it short."
    assert session["role_id"] == app.get("/api/roles").json()["roles"][0]["id"]
    shoot(page, "roles-panel")

    delete = page.get_by_role("button", name="Delete Translator")
    delete.click()
    page.get_by_role("button", name="Really delete Translator?").click()
    expect(dialog).to_contain_text("No roles yet")
    expect(page.locator("#role-chip")).to_be_hidden()
    expect(page.locator("#system-preview")).to_have_text("Keep it short.")
    assert app.get("/api/roles").json()["roles"] == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_role_chip_clears_the_role(page, app):
    role = app.post("/api/roles", {"name": "Poet", "instructions": "Rhyme."}).json()
    session = app.new_session(role_id=role["id"])
    page.reload()
    page.get_by_role("navigation", name="Chats").locator(".chat-open").first.click()
    expect(page.locator("#role-chip")).to_contain_text("Role: Poet")
    page.get_by_role("button", name="Clear role").click()
    expect(page.locator("#role-chip")).to_be_hidden()
    assert app.get(f"/api/sessions/{session['id']}").json()["role_id"] is None


# --- a plan-mode chat ---------------------------------------------------------------------------


def plan_chat(app) -> dict:
    session = app.new_session(plan_mode={"planner": PLANNER, "executor": EXECUTOR})
    return session


def test_a_plan_mode_reply_streams_its_plan_then_the_answer(page, app, fake):
    plan_chat(app)
    fake.script(Reply(text=PLAN_TEXT, mode="stall", after=3),
                Reply(text="Put the egg in **boiling** water for nine minutes.", delay=0.01))
    page.reload()
    expect(page.locator("#plan-chip")).to_contain_text("Plan: qwen3:8b → llama3.2:3b")
    send(page, "How do I boil an egg?")
    block = page.locator("article.message.assistant details.plan-block")
    expect(block).to_have_attribute("open", "")
    expect(block.locator("summary")).to_have_text(f"Plan · {PLANNER} · planning…")
    expect(block.locator(".plan-text")).to_have_text("1. Boil water.")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    shoot(page, "plan-live")

    page.reload()  # the plan keeps being written on the server
    block = page.locator("article.message.assistant details.plan-block")
    expect(block.locator(".plan-text")).to_have_text("1. Boil water.")
    fake.release()
    reply = page.locator("article.message.assistant")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".body")).to_contain_text("for nine minutes.")
    expect(reply.locator(".body strong")).to_have_text("boiling")
    expect(block.locator("summary")).to_have_text(
        re.compile(rf"^Plan · {PLANNER} · {TIME}$"))
    expect(block.locator(".plan-text ol li")).to_have_count(3)  # rendered as a list
    expect(reply.locator(".meta .info")).to_contain_text(
        re.compile(rf"Answer · {EXECUTOR} · {TIME}"))
    shoot(page, "plan-reply")

    page.reload()  # from the database: the block starts closed, opens on demand
    block = page.locator("article.message.assistant details.plan-block")
    expect(block).not_to_have_attribute("open", "")
    block.locator("summary").click()
    expect(block.locator(".plan-text")).to_contain_text("Wait nine minutes.")


def test_stop_while_planning_keeps_the_plan(page, app, fake):
    plan_chat(app)
    fake.script(Reply(text=PLAN_TEXT, mode="stall", after=3))
    page.reload()
    expect(page.locator("#plan-chip")).to_contain_text("Plan: qwen3:8b → llama3.2:3b")
    send(page, "How do I boil an egg?")
    block = page.locator("article.message.assistant details.plan-block")
    expect(block.locator(".plan-text")).to_have_text("1. Boil water.")
    page.keyboard.press("Escape")  # Stop
    reply = page.locator("article.message.assistant")
    expect(reply).to_have_attribute("data-status", "stopped")
    expect(block.locator("summary")).to_contain_text("stopped")
    expect(block.locator(".plan-text")).to_contain_text("Boil water.")
    assert len(fake.chat_requests()) == 1  # the executor was never asked


# --- the keyboard-only journey ------------------------------------------------------------------


def test_keyboard_only_roles_model_switch_and_plan_mode(page, app, fake):
    keys = page.keyboard
    keys.press("Shift+Escape")  # go to the message box
    expect(message_box(page)).to_be_focused()
    keys.press("Control+Shift+L")
    dialog = roles_dialog(page)
    expect(dialog).to_be_visible()
    expect(page.locator("#new-role")).to_be_focused()
    for name, instructions in [("Pirate", "Talk like a pirate."), ("Chef", "Answer as a chef.")]:
        keys.press("Enter")  # New role
        expect(page.get_by_label("Name")).to_be_focused()
        keys.type(name)
        keys.press("Tab")
        keys.type(instructions)
        keys.press("Control+Enter")
        expect(dialog.locator(".role-item", has_text=name)).to_be_visible()
        tab_to(page, "New role")
    # edit Chef, delete Pirate
    tab_to(page, "Edit Chef")
    keys.press("Enter")
    expect(page.get_by_label("Instructions")).to_have_value("Answer as a chef.")
    keys.press("Tab")
    keys.press("End")
    keys.type(" Be brief.")
    keys.press("Control+Enter")
    expect(dialog.locator(".role-item", has_text="Chef")).to_contain_text("Be brief.")
    tab_to(page, "Delete Pirate")
    keys.press("Enter")
    expect(page.locator(":focus")).to_have_text("Really delete Pirate?")
    keys.press("Enter")
    expect(dialog.locator(".role-item")).to_have_count(1)
    tab_to(page, "Use Chef")
    keys.press("Enter")
    expect(page.locator("#role-chip")).to_contain_text("Role: Chef")
    keys.press("Escape")
    expect(dialog).to_be_hidden()
    expect(message_box(page)).to_be_focused()

    # switch the model, then turn Plan Mode on, with completion
    keys.type("/model qw")
    keys.press("Enter")
    expect(page.locator("#model-select")).to_have_value(PLANNER)
    keys.type("/model:plan")
    keys.press("Tab")
    expect(message_box(page)).to_have_value("/model:plan-mode ")
    keys.type("qw")
    keys.press("Tab")
    keys.type("ll")
    keys.press("Enter")
    expect(page.locator("#plan-chip")).to_contain_text("Plan: qwen3:8b → llama3.2:3b")

    fake.script(Reply(text=PLAN_TEXT), Reply(text="Aye, boil it."))
    keys.type("How do I boil an egg?")
    keys.press("Enter")
    reply = page.locator("article.message.assistant")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator("details.plan-block .plan-text")).to_contain_text("Add the egg.")
    expect(reply.locator(".body")).to_have_text("Aye, boil it.")
    shoot(page, "keyboard-journey")
    planner, executor = [r.body for r in fake.chat_requests()]
    assert planner["model"] == "qwen3:8b" and executor["model"] == "llama3.2:3b"
    assert planner["messages"][0]["content"].endswith(
        "The answer will be written under these instructions:\nAnswer as a chef. Be brief.")
    assert executor["messages"][0] == {"role": "system", "content": "Answer as a chef. Be brief."}
    session = only_session(app)
    assert session["model"] == PLANNER and session["plan_mode"]["executor"] == EXECUTOR

    keys.press("Tab")  # leave the box so "?" opens the help
    keys.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("Roles and this chat's system prompt")
    expect(help_dialog).to_contain_text("/help lists them")
