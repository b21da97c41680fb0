"""The Settings panel's MCP servers and a chat's choice of tool servers, in headless Chromium
against a real server, with the test MCP server (tests/mcp_server.py) as a real child."""

from __future__ import annotations

import json
import sys

from playwright.sync_api import Page, expect

from .support import provider_settings, send, shoot, wait_done, wait_for
from .test_mcp_servers import SERVER_SCRIPT
from .test_page_settings import open_settings, wait_for_file


def mcp_section(page: Page):
    return page.get_by_role("region", name="MCP servers")


def server_toml(server_id: str) -> str:
    return (
        f'[[mcp_servers]]\nid = "{server_id}"\ncommand = {json.dumps(sys.executable)}\n'
        f"args = [{json.dumps(SERVER_SCRIPT)}]\n\n"
    )


def test_add_test_and_save_a_server_then_start_it(open_page, app):
    page = open_page(app, width=1040)
    dialog = open_settings(page)
    section = mcp_section(page)
    expect(section.get_by_text("No MCP servers yet.")).to_be_visible()
    section.get_by_role("button", name="Add MCP server").click()
    expect(section.get_by_label("Server id")).to_be_focused()
    page.keyboard.type("calc")
    section.get_by_label("Command", exact=True).fill(sys.executable)
    section.get_by_label("Arguments").fill(SERVER_SCRIPT)
    section.get_by_label("Tools run").select_option("always")
    section.get_by_role("button", name="Test").click()
    result = section.get_by_role("status")
    expect(result).to_contain_text("It works: 6 tools.", timeout=20_000)
    expect(result).to_contain_text("add — Add two numbers.")
    shoot(page, "mcp-test-ok")
    section.get_by_role("button", name="Save server").click()
    text = wait_for_file(app.settings_path, r'id = "calc"')
    assert 'approval = "always"' in text and SERVER_SCRIPT in text
    item = section.locator('[data-id="calc"]')
    expect(item).to_contain_text("stopped")
    expect(section.get_by_role("button", name="Add MCP server")).to_be_focused()
    item.get_by_role("button", name="Start calc").click()
    expect(item).to_contain_text("running", timeout=20_000)
    expect(item).to_contain_text("6 tools: add, fail, slow")
    shoot(page, "mcp-server-running")
    # Disable it, then remove it after a second press.
    item.get_by_role("button", name="Disable calc").click()
    expect(item).to_contain_text("disabled")
    wait_for_file(app.settings_path, r"enabled = false")
    item.get_by_role("button", name="Remove calc").click()
    expect(item.get_by_role("button", name="Really remove calc?")).to_be_visible()
    item.get_by_role("button", name="Really remove calc?").click()
    expect(section.get_by_text("No MCP servers yet.")).to_be_visible()
    wait_for(lambda: "mcp_servers" not in app.settings_path.read_text())
    expect(dialog).to_be_visible()


def test_a_server_that_fails_shows_the_sentence(open_page, start_server, fake):
    app = start_server(
        provider_settings(("ollama", "ollama", fake.ollama_url))
        + '[[mcp_servers]]\nid = "broken"\ncommand = "no-such-command-here"\n'
    )
    page = open_page(app, width=1040)
    open_settings(page)
    section = mcp_section(page)
    item = section.locator('[data-id="broken"]')
    item.get_by_role("button", name="Start broken").click()
    expect(item).to_contain_text(
        'The command "no-such-command-here" was not found; install it, or give its full path.'
    )
    expect(item.locator(".status")).to_have_text("error")
    # The form's Test says why too, for an address where nothing answers.
    item.get_by_role("button", name="Edit broken").click()
    section.get_by_label("An HTTP address").check()
    section.get_by_label("URL").fill("http://127.0.0.1:9/mcp")
    section.get_by_role("button", name="Test").click()
    expect(section.get_by_role("status")).to_have_text(
        "Nothing answers at http://127.0.0.1:9/mcp; check the address and that the server runs."
    )
    shoot(page, "mcp-test-failed")


def test_a_chat_chooses_its_tool_servers_with_the_keyboard(open_page, start_server, fake):
    app = start_server(
        provider_settings(("ollama", "ollama", fake.ollama_url))
        + server_toml("calc") + server_toml("notes")
    )
    page = open_page(app, width=1040)
    page.emulate_media(reduced_motion="reduce")  # no fade-in: the screenshot shows the panel
    send(page, "Hello")
    wait_done(page, 1)
    tools = page.get_by_role("button", name="Tools", exact=True)
    tools.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Tools for this chat")
    expect(dialog).to_be_visible()
    calc = dialog.get_by_role("checkbox", name="calc")
    notes = dialog.get_by_role("checkbox", name="notes")
    expect(dialog.get_by_role("checkbox", name="Built-in tools")).to_be_checked()
    expect(calc).to_be_checked()  # every enabled server by default
    expect(notes).to_be_checked()
    shoot(page, "tool-choice")
    notes.focus()
    page.keyboard.press("Space")
    expect(dialog.get_by_role("status")).to_have_text("Saved.")
    session_id = app.get("/api/sessions").json()["sessions"][0]["id"]
    assert app.get(f"/api/sessions/{session_id}").json()["tool_servers"] == ["builtin", "calc"]
    page.keyboard.press("Escape")
    expect(tools).to_be_focused()
    page.reload()
    page.get_by_role("button", name="Tools", exact=True).click()
    expect(dialog.get_by_role("checkbox", name="notes")).not_to_be_checked()
    dialog.get_by_role("button", name="Use every enabled server").click()
    expect(dialog.get_by_role("checkbox", name="notes")).to_be_checked()
    wait_for(lambda: app.get(f"/api/sessions/{session_id}").json()["tool_servers"] is None)
