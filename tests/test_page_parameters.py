"""The Parameters panel: a chat's model options set with sliders and fields, presets, resets,
saved to the chat (and a failure shown), used by the next reply and shown with it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .support import provider_settings, send, shoot, wait_done, wait_for

MODEL = "ollama/llama3.2:3b"
MODEL_DEFAULTS = f'\n[models."{MODEL}"]\noptions = {{ temperature = 0.3 }}\n'

pytestmark = pytest.mark.fake_models("llama3.2:3b", "qwen3:8b")


def sent_options(fake) -> dict:
    """The options Ollama got, less the window size OpenChat always sends it (`num_ctx`)."""
    options = dict(fake.chat_requests()[-1].body["options"])
    options.pop("num_ctx")
    return options


@pytest.fixture
def app(start_server, fake):
    return start_server(provider_settings(("ollama", "ollama", fake.ollama_url),
                                          default_model=MODEL) + MODEL_DEFAULTS)


def open_panel(page: Page):
    page.get_by_role("button", name="Parameters", exact=True).click()
    dialog = page.get_by_role("dialog", name="Parameters")
    expect(dialog).to_be_visible()
    return dialog


def chat_options(app) -> dict | None:
    return app.get("/api/sessions").json()["sessions"][0]["options"]


def test_a_new_chats_temperature_goes_with_its_first_message_and_shows_on_the_reply(
    page, app, fake
):
    dialog = open_panel(page)
    slider = dialog.get_by_role("slider", name="Temperature")
    value = dialog.locator("#param-temperature-value")
    expect(value).to_have_text("default (0.3)")  # the model's default, from the settings
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(value).to_have_text("0.2")
    expect(dialog.locator("#parameters-status")).to_have_text(
        "Used from this chat's first message.")
    shoot(page, "parameters-new-chat")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Parameters", exact=True)).to_be_focused()

    send(page, "Hello")
    wait_done(page, 1)
    assert sent_options(fake) == {"temperature": 0.2}
    reply = page.locator("article.message.assistant").last
    expect(reply.locator(".options-used")).to_have_text("temperature 0.2")
    # The chat keeps it for its next messages.
    assert wait_for(lambda: chat_options(app)) == {"temperature": 0.2}
    send(page, "Again")
    wait_done(page, 2)
    assert sent_options(fake) == {"temperature": 0.2}
    shoot(page, "parameters-reply-meta")


def test_a_preset_then_resets_save_to_the_chat(page, app, fake):
    session = app.new_session(model=MODEL)
    page.reload()
    expect(page.locator("#chat-title")).to_have_text(session["title"])
    dialog = open_panel(page)
    precise = dialog.get_by_role("button", name="Precise")
    precise.click()
    expect(precise).to_have_attribute("aria-pressed", "true")
    expect(dialog.locator("#param-temperature-value")).to_have_text("0.2")
    expect(dialog.locator("#param-top_p-value")).to_have_text("0.9")
    assert wait_for(lambda: chat_options(app) == {"temperature": 0.2, "top_p": 0.9})
    expect(dialog.locator("#parameters-status")).to_have_text("Saved.")

    dialog.get_by_role("button", name="Reset Temperature to the model's default").click()
    expect(dialog.locator("#param-temperature-value")).to_have_text("default (0.3)")
    expect(precise).to_have_attribute("aria-pressed", "false")
    assert wait_for(lambda: chat_options(app) == {"top_p": 0.9})

    max_tokens = dialog.get_by_role("spinbutton", name="Max tokens")
    max_tokens.fill("64")
    max_tokens.press("Tab")
    assert wait_for(lambda: chat_options(app) == {"top_p": 0.9, "max_tokens": 64})
    shoot(page, "parameters-preset")

    dialog.get_by_role("button", name="Reset all to the model's default").click()
    assert wait_for(lambda: chat_options(app) is None)
    expect(dialog.get_by_role("button", name="Reset all to the model's default")).to_be_disabled()
    dialog.get_by_role("button", name="Close").click()
    send(page, "Hi")
    wait_done(page, 1)
    assert sent_options(fake) == {"temperature": 0.3}  # the model's


def test_a_failed_save_is_shown_and_nothing_is_saved(page, app):
    app.new_session(model=MODEL, options={"seed": 3})
    page.reload()
    dialog = open_panel(page)
    seed = dialog.get_by_role("spinbutton", name="Seed")
    expect(seed).to_have_value("3")
    max_tokens = dialog.get_by_role("spinbutton", name="Max tokens")
    max_tokens.fill("0")
    max_tokens.press("Tab")
    alert = dialog.get_by_role("alert")
    expect(alert).to_have_text(
        "Not saved: `options.max_tokens` must be a whole number, 1 or more.")
    expect(page.locator("#notice")).to_contain_text("The parameters were not saved")
    shoot(page, "parameters-failed")
    assert chat_options(app) == {"seed": 3}
    # Fixed, it saves, and the failure goes.
    max_tokens.fill("12")
    max_tokens.press("Tab")
    assert wait_for(lambda: chat_options(app) == {"seed": 3, "max_tokens": 12})
    expect(dialog.locator("#parameters-status")).to_have_text("Saved.")


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_panel_fits_1040_pixels_in_both_themes(open_page, start_server, fake, theme):
    app = start_server(f'theme = "{theme}"\n' + provider_settings(
        ("ollama", "ollama", fake.ollama_url), default_model=MODEL) + MODEL_DEFAULTS)
    app.new_session(model=MODEL, options={"temperature": 0.9, "stop": ["END", "\n\nUser:"]})
    page = open_page(app, width=1040, height=760)
    header = page.locator(".chat-header")
    assert header.evaluate("e => e.scrollWidth <= e.clientWidth"), "the header overflows"
    dialog = open_panel(page)
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(dialog.get_by_role("textbox", name="Stop texts")).to_have_value("END\n\\n\\nUser:")
    fits = dialog.evaluate(
        "d => { const r = d.getBoundingClientRect(); return r.left >= 0 && "
        "r.right <= innerWidth && d.scrollWidth <= d.clientWidth + 1; }")
    assert fits
    # Every option has a labelled control and its own reset.
    for name in ("Temperature", "Top P", "Top K", "Min P", "Max tokens", "Seed", "Stop texts",
                 "Repeat penalty", "Presence penalty", "Frequency penalty", "Context length",
                 "Keep alive"):
        expect(dialog.get_by_label(name, exact=True)).to_be_visible()
        expect(dialog.get_by_role("button", name=f"Reset {name} to the model's default")
               ).to_have_count(1)
    shoot(page, f"parameters-1040-{theme}")
