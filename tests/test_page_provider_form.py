"""The provider form in Settings, in headless Chromium: kinds and services fill in the id and
the address, and Test connection says in sentences how it went, offering the address that
works when the one typed lacks /v1."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_provider import FakeProvider
from .support import send, shoot, wait_done


def open_form(page: Page):
    page.get_by_role("button", name="Settings", exact=True).click()
    dialog = page.get_by_role("dialog", name="Settings")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Add provider").click()
    form = dialog.get_by_role("form", name="Add provider")
    expect(form).to_be_visible()
    return dialog, form


def test_an_address_without_v1_is_offered_with_it_saved_and_chatted_with(open_page, app):
    with FakeProvider(models=["lm-model"], echo=True) as lmstudio:
        page = open_page(app)
        dialog, form = open_form(page)
        form.get_by_label("Kind").select_option("openai")
        form.get_by_label("Service").select_option(label="LM Studio")
        expect(form.get_by_label("Id", exact=True)).to_have_value("lmstudio")
        url = form.get_by_label("Base URL")
        expect(url).to_have_value("http://127.0.0.1:1234/v1")
        # Typed as LM Studio shows its server: without /v1.
        url.fill(lmstudio.url)
        form.get_by_role("button", name="Test connection").click()
        result = form.locator(".test-result")
        expect(result).to_contain_text("Connection ok: 1 model (lm-model).")
        expect(result).to_contain_text(
            f"The server answers at {lmstudio.openai_url}, not at {lmstudio.url}: use that address"
        )
        shoot(page, "settings-provider-v1-offered")
        form.get_by_role("button", name="Use this address").click()
        expect(url).to_have_value(lmstudio.openai_url)
        expect(form.get_by_role("button", name="Use this address")).to_be_hidden()
        form.get_by_role("button", name="Save provider").click()
        expect(form).to_be_hidden()
        assert f'base_url = "{lmstudio.openai_url}"' in app.settings_path.read_text()
        item = dialog.locator(".provider-item[data-id=lmstudio]")
        expect(item.locator(".status")).to_have_text("connected")
        expect(item.locator(".provider-message")).to_have_count(0)  # nothing left to say
        page.keyboard.press("Escape")

        picker = page.get_by_role("combobox", name="Model", exact=True)
        expect(picker.locator("optgroup[label=lmstudio] option")).to_have_count(1)
        picker.select_option("lmstudio/lm-model")
        send(page, "Hello from the form")
        wait_done(page, 1)
        reply = page.locator("article.message.assistant").last
        expect(reply).to_contain_text("Hello from the form")
        assert lmstudio.chat_requests()[-1].path == "/v1/chat/completions"


def test_kinds_and_services_fill_in_what_the_person_has_not_typed(open_page, app):
    page = open_page(app)
    _, form = open_form(page)
    kind = form.get_by_label("Kind")
    ident = form.get_by_label("Id", exact=True)
    url = form.get_by_label("Base URL")
    service = form.get_by_label("Service")
    kind.select_option("anthropic")
    expect(ident).to_have_value("anthropic")
    expect(url).to_have_value("https://api.anthropic.com")
    expect(form.locator("#provider-url-hint")).to_contain_text("Optional")
    expect(service).to_be_hidden()  # services are OpenAI-compatible ones
    kind.select_option("gemini")
    expect(ident).to_have_value("gemini")
    expect(url).to_have_value("https://generativelanguage.googleapis.com")
    # "ollama" is taken by the app's provider: the suggestion gets a number.
    kind.select_option("ollama")
    expect(ident).to_have_value("ollama-2")
    kind.select_option("openai")
    expect(service).to_be_visible()
    service.select_option(label="OpenRouter")
    expect(ident).to_have_value("openrouter")
    expect(url).to_have_value("https://openrouter.ai/api/v1")
    # What the person typed stays when they pick something else.
    ident.fill("my-router")
    service.select_option(label="Groq")
    expect(ident).to_have_value("my-router")
    expect(url).to_have_value("https://api.groq.com/openai/v1")


def test_a_server_listing_nothing_says_where_to_name_models(open_page, app):
    with FakeProvider(models=[]) as bare:
        page = open_page(app)
        _, form = open_form(page)
        form.get_by_label("Id", exact=True).fill("bare")
        form.get_by_label("Base URL").fill(bare.openai_url)
        form.get_by_role("button", name="Test connection").click()
        result = form.locator(".test-result")
        expect(result).to_contain_text(f"Connection ok. bare lists no models at {bare.openai_url}")
        expect(result).to_contain_text("under Models")
        expect(form.get_by_role("button", name="Use this address")).to_be_hidden()
        # A failure is a sentence too.
        bare.fail("/v1/models", 401)
        form.get_by_role("button", name="Test connection").click()
        expect(result).to_contain_text("rejected the API key (401)")
