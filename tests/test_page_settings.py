"""The Settings panel, themes, the model picker, first run and the welcome, in headless Chromium
against a real server and fake model servers."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from .fake_provider import FakeProvider, Reply
from .support import provider_settings, shoot

KEY = "sk-page-secret-0123456789abcdef"


pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b",
    capabilities={"qwen3:8b": ["completion", "thinking", "tools"],
                  "llama3.2:3b": ["completion", "vision"]},
)


def settings_dialog(page: Page):
    return page.get_by_role("dialog", name="Settings")


def open_settings(page: Page):
    page.get_by_role("button", name="Settings", exact=True).click()
    dialog = settings_dialog(page)
    expect(dialog).to_be_visible()
    return dialog


def wait_for_file(path, pattern: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in the settings file:\n{text}")


def theme(page: Page) -> str:
    return page.evaluate("document.documentElement.dataset.theme")


# --- themes -----------------------------------------------------------------------------------


def test_light_theme_is_saved_and_survives_a_reload(open_page, app):
    page = open_page(app)
    page.emulate_media(reduced_motion="reduce")  # no fade-in: the screenshot shows the panel
    assert theme(page) == "dark"
    dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    opener = page.get_by_role("button", name="Settings", exact=True)
    dialog = open_settings(page)
    shoot(page, "settings-panel")
    dialog.get_by_label("Light").check()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    wait_for_file(app.settings_path, r'(?m)^theme = "light"$')
    expect(dialog.get_by_role("status")).to_have_text("Saved.")
    shoot(page, "settings-panel-light")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()  # focus goes back where it was
    page.reload()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != dark_bg
    assert app.get("/api/settings").json()["settings"]["theme"] == "light"
    shoot(page, "light-theme")


def test_system_theme_follows_the_computer_live(open_page, start_server, fake):
    app = start_server('theme = "system"\n' + provider_settings(
        ("ollama", "ollama", fake.ollama_url)))
    page = open_page(app)
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    dialog = open_settings(page)
    expect(dialog.get_by_label("System (follow the computer)")).to_be_checked()
    dialog.get_by_label("Dark").check()
    wait_for_file(app.settings_path, r'(?m)^theme = "dark"$')
    page.emulate_media(color_scheme="light")  # a fixed choice no longer follows
    page.wait_for_timeout(200)
    assert theme(page) == "dark"


# --- providers --------------------------------------------------------------------------------


def test_add_an_openai_compatible_provider_test_it_and_use_its_models(open_page, app):
    with FakeProvider(models=["gpt-fake-mini", "gpt-fake-large"], api_key=KEY) as cloud:
        page = open_page(app)
        dialog = open_settings(page)
        dialog.get_by_role("button", name="Add provider").click()
        form = dialog.get_by_role("form", name="Add provider")
        expect(form.get_by_label("Id", exact=True)).to_be_focused()
        form.get_by_label("Id", exact=True).fill("cloud")
        form.get_by_label("Kind").select_option("openai")
        form.get_by_label("Base URL").fill(cloud.openai_url)
        form.get_by_role("button", name="Test connection").click()
        result = form.locator(".test-result")
        expect(result).to_contain_text("key refused")  # no key yet: the server says 401
        form.get_by_label("API key", exact=True).fill(KEY)
        form.get_by_role("button", name="Test connection").click()
        expect(result).to_contain_text("Connection ok: 2 models")
        expect(result).to_contain_text("gpt-fake-mini")
        shoot(page, "settings-add-provider")
        form.get_by_role("button", name="Save provider").click()
        expect(form).to_be_hidden()
        item = dialog.locator(".provider-item[data-id=cloud]")
        expect(item).to_contain_text("OpenAI-compatible")
        expect(item.locator(".status")).to_have_text("connected")
        expect(item).to_contain_text("API key in the settings file (…cdef)")
        text = app.settings_path.read_text()
        assert 'id = "cloud"' in text and f'api_key = "{KEY}"' in text
        shoot(page, "settings-provider-added")
        page.keyboard.press("Escape")
        picker = page.get_by_role("combobox", name="Model", exact=True)
        expect(picker.locator("optgroup[label=cloud] option")).to_have_count(2)
        picker.select_option("cloud/gpt-fake-large")
        assert picker.input_value() == "cloud/gpt-fake-large"

        # The key is write-only: never filled in, never in the page or the API's answers.
        dialog = open_settings(page)
        dialog.get_by_role("button", name="Edit cloud").click()
        key_field = dialog.get_by_label("API key", exact=True)
        expect(key_field).to_have_value("")
        expect(dialog.get_by_text("A key is set (…cdef)")).to_be_visible()
        assert KEY not in page.content()
        for path in ("/api/settings", "/api/models"):
            assert KEY not in app.get(path).text
        # Saving the edit without typing a key keeps it.
        dialog.get_by_label("Models").fill("extra-model")
        dialog.get_by_role("button", name="Save provider").click()
        wait_for_file(app.settings_path, r'models = \["extra-model"\]')
        assert f'api_key = "{KEY}"' in app.settings_path.read_text()


def test_saving_from_the_panel_keeps_the_files_comments(open_page, start_server, fake):
    app = start_server(
        "# my own notes about this file\n"
        'default_model = "ollama/llama3.2:3b"  # the everyday one\n\n'
        "# the local server\n"
        f'[[providers]]\nid = "ollama"\nkind = "ollama"\nbase_url = "{fake.ollama_url}"\n'
    )
    page = open_page(app)
    dialog = open_settings(page)
    dialog.get_by_label("Model for new chats").select_option("ollama/qwen3:8b")
    wait_for_file(app.settings_path, r'default_model = "ollama/qwen3:8b"')
    dialog.get_by_role("button", name="Edit ollama").click()
    dialog.get_by_label("Models").fill("custom:latest")
    dialog.get_by_role("button", name="Save provider").click()
    text = wait_for_file(app.settings_path, r'models = \["custom:latest"\]')
    assert "# my own notes about this file" in text
    assert "# the local server" in text
    assert "# the everyday one" in text


def test_a_refused_change_is_shown_next_to_the_form(open_page, app):
    page = open_page(app)
    dialog = open_settings(page)
    dialog.get_by_role("button", name="Add provider").click()
    dialog.get_by_label("Id", exact=True).fill("bad id")
    dialog.get_by_label("Kind").select_option("openai")
    dialog.get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
    before = app.settings_path.read_text()
    dialog.get_by_role("button", name="Save provider").click()
    error = dialog.locator("#provider-error")
    expect(error).to_contain_text("providers[1].id")
    assert app.settings_path.read_text() == before
    expect(dialog.get_by_role("form", name="Add provider")).to_be_visible()


def test_a_broken_settings_file_shows_a_banner_with_its_line(open_page, start_server, fake):
    good = provider_settings(("ollama", "ollama", fake.ollama_url))
    broken = good + '\n[[providers]]\nid = "x"\nkind = olama\n'
    line = broken.splitlines().index("kind = olama") + 1
    app = start_server(broken)
    page = open_page(app)
    banner = page.locator("#settings-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text(str(app.settings_path))
    expect(banner).to_contain_text(f"line {line},")
    shoot(page, "settings-broken-banner")
    banner.get_by_role("button", name="Open Settings").click()
    dialog = settings_dialog(page)
    expect(dialog).to_contain_text("Changes are disabled until the file is fixed")
    expect(dialog.get_by_role("button", name="Add provider")).to_be_disabled()
    expect(dialog.get_by_label("Light")).to_be_disabled()
    page.keyboard.press("Escape")
    # Fixing the file by hand clears the banner on its own.
    app.settings_path.write_text(good)
    expect(banner).to_be_hidden(timeout=10_000)


# --- the model picker -------------------------------------------------------------------------


def test_the_picker_shows_capabilities_and_a_provider_that_is_down(
    open_page, start_server, ollama_settings
):
    app = start_server(
        ollama_settings + provider_settings(("remote", "openai", "http://127.0.0.1:9/v1")))
    page = open_page(app)
    picker = page.get_by_role("combobox", name="Model", exact=True)
    expect(picker.locator("option[value='ollama/qwen3:8b']")).to_have_text(
        "qwen3:8b — thinking, tools")
    expect(picker.locator("option[value='ollama/llama3.2:3b']")).to_have_text(
        "llama3.2:3b — vision")
    down = picker.locator("optgroup[label^=remote]")
    expect(down).to_have_attribute("label", "remote — not reachable")
    reason = down.locator("option").first
    expect(reason).to_be_disabled()
    expect(reason).to_contain_text("not reachable:")
    assert picker.input_value() == "ollama/llama3.2:3b"
    dialog = open_settings(page)
    remote = dialog.locator(".provider-item[data-id=remote]")
    expect(remote.locator(".status")).to_have_text("not reachable")
    expect(remote.locator(".provider-message")).not_to_be_empty()


def test_the_model_picked_in_a_chat_is_remembered(open_page, app, fake):
    fake.script(Reply(text="Hello there."))
    page = open_page(app)
    page.get_by_role("textbox", name="Message").fill("Hi")
    page.get_by_role("textbox", name="Message").press("Enter")
    expect(page.locator("article.message.assistant").first).to_have_attribute(
        "data-status", "complete")
    picker = page.get_by_role("combobox", name="Model", exact=True)
    picker.select_option("ollama/qwen3:8b")
    session_id = app.get("/api/sessions").json()["sessions"][0]["id"]
    deadline = time.monotonic() + 5
    while app.get(f"/api/sessions/{session_id}").json()["model"] != "ollama/qwen3:8b":
        assert time.monotonic() < deadline, "the picked model was not saved with the chat"
        time.sleep(0.05)
    page.reload()
    expect(page.locator("article.message.assistant").first).to_be_visible()
    expect(picker).to_have_value("ollama/qwen3:8b")
    page.get_by_role("button", name="New chat").click()
    expect(picker).to_have_value("ollama/llama3.2:3b")  # a new chat starts on the default


# --- first run and welcome --------------------------------------------------------------------


def test_first_run_explains_how_to_start_and_offers_to_add_a_provider(open_page, start_server):
    app = start_server(provider_settings(("ollama", "ollama", "http://127.0.0.1:9")))
    page = open_page(app)
    panel = page.locator("#messages .welcome.first-run")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("ollama serve")
    expect(panel).to_contain_text("ollama pull llama3.2")
    expect(panel).to_contain_text("OpenAI-compatible")
    shoot(page, "first-run")
    panel.get_by_role("button", name="Add provider").click()
    dialog = settings_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("form", name="Add provider")).to_be_visible()
    expect(dialog.get_by_label("Id", exact=True)).to_be_focused()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_the_welcome_lists_the_models_and_fills_the_composer(open_page, app, fake):
    page = open_page(app)
    welcome = page.locator("#messages .welcome")
    expect(welcome).to_be_visible()
    expect(welcome).not_to_have_class(re.compile("first-run"))
    models = welcome.get_by_role("list", name="Available models")
    expect(models.get_by_role("button")).to_have_text(
        ["llama3.2:3b — vision", "qwen3:8b — thinking, tools"])
    shoot(page, "welcome")
    qwen = models.get_by_role("button", name="qwen3:8b — thinking, tools")
    expect(qwen).to_have_attribute("aria-pressed", "false")
    qwen.click()
    expect(page.get_by_role("combobox", name="Model", exact=True)).to_have_value("ollama/qwen3:8b")
    expect(qwen).to_have_attribute("aria-pressed", "true")
    prompt = welcome.get_by_role("list", name="Example prompts").get_by_role("button").first
    text = prompt.inner_text()
    prompt.click()
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_have_value(text)
    expect(box).to_be_focused()
    fake.script(Reply(text="Sure."))
    box.press("Enter")
    expect(page.locator("article.message.assistant").first).to_be_visible()
    expect(welcome).to_have_count(0)  # gone once the conversation has a message


def test_removing_a_provider_asks_once_more_then_removes_it(open_page, start_server, fake):
    app = start_server(provider_settings(
        ("ollama", "ollama", fake.ollama_url), ("spare", "openai", "http://127.0.0.1:9/v1")))
    page = open_page(app)
    dialog = open_settings(page)
    dialog.get_by_role("button", name="Remove spare").click()
    assert 'id = "spare"' in app.settings_path.read_text()  # the first press only asks
    dialog.get_by_role("button", name="Really remove spare?").click()
    expect(dialog.locator(".provider-item[data-id=spare]")).to_have_count(0)
    text = wait_for_file(app.settings_path, r'id = "ollama"')
    assert "spare" not in text
    expect(page.get_by_role("combobox", name="Model", exact=True).locator(
        "optgroup[label^=spare]")).to_have_count(0)


def test_the_panel_works_by_keyboard_and_keeps_focus_inside(open_page, app):
    page = open_page(app)
    opener = page.get_by_role("button", name="Settings", exact=True)
    opener.focus()
    page.keyboard.press("Enter")
    dialog = settings_dialog(page)
    expect(dialog).to_be_visible()
    inside = "() => document.getElementById('settings-dialog').contains(document.activeElement)"
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "Tab left the Settings panel"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused control shows no focus ring"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    # Shift+Tab wraps the other way.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    for _ in range(25):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside), "Shift+Tab left the Settings panel"
    page.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_a_refresh_of_the_open_panel_keeps_the_focus_where_it_was(open_page, app):
    page = open_page(app)
    dialog = open_settings(page)
    for control in (dialog.get_by_role("button", name="Edit ollama"),
                    dialog.get_by_role("button", name="Remove ollama"),
                    dialog.get_by_label("Model for new chats"),
                    dialog.get_by_label("Dark")):
        control.focus()
        old = control.element_handle()
        # Back in front: the panel looks at the settings file again and is drawn anew.
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        if control.evaluate("e => e.tagName") == "BUTTON":  # list items are made anew
            page.wait_for_function("old => !old.isConnected", arg=old)
        page.wait_for_load_state("networkidle")
        expect(control).to_be_focused()
    page.keyboard.press("Tab")  # from the last control round to the first
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
