"""First run with the built-in engine, in headless Chromium against the real engine and the real
starter model: the welcome offers the starter model first, a click makes it the chat's model,
the first reply shows the model loading and then streams; the picker names the starter as a
tiny starter; once a model of one's own is there, the welcome no longer pushes the starter.

Ollama is unreachable and the settings are otherwise the defaults, as on a fresh machine. A
small context window (`local.context_size`) caps the reply at a few dozen tokens."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Page, expect

from openchat_desktop.local.starter import STARTER
from openchat_desktop.paths import bundled_models_dir

from .support import delay_engine_start, message_box, send, shoot, wait_done

STARTER_ID = f"local/{STARTER.name}"
STARTER_FILE = bundled_models_dir() / STARTER.file_name
LOAD_DELAY = 4  # seconds: how long the engine child waits before it loads, as a big model would

pytestmark = pytest.mark.skipif(
    not STARTER_FILE.is_file(), reason="the starter model is fetched by scripts/setup.sh"
)

SETTINGS = "[local]\ncontext_size = 128\n"


@pytest.fixture(autouse=True)
def no_ollama(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")


@pytest.fixture
def slow_load(monkeypatch):
    delay_engine_start(monkeypatch, LOAD_DELAY)


def welcome(page: Page):
    panel = page.locator("#welcome")
    expect(panel).to_be_visible()
    return panel


def picker(page: Page):
    return page.get_by_role("combobox", name="Model", exact=True)


def test_first_run_chats_with_the_starter_model_at_once(open_page, start_server, slow_load):
    app = start_server(SETTINGS)
    page = open_page(app)
    panel = welcome(page)
    expect(panel).to_have_class(re.compile("first-run"))
    # The built-in engine comes first, then Ollama (not running here) and endpoints.
    expect(panel.get_by_role("button").first).to_have_text("Chat now with the starter model")
    expect(panel).to_contain_text(f"{STARTER.label}: {STARTER.note}.")
    expect(panel).to_contain_text("Ollama is not running at http://127.0.0.1:9")
    expect(panel.get_by_role("button", name="Add provider")).to_be_visible()
    expect(page.locator("#notice")).to_be_hidden()
    shoot(page, "first-run-built-in-engine")

    panel.get_by_role("button", name="Chat now with the starter model").click()
    expect(picker(page)).to_have_value(STARTER_ID)
    expect(message_box(page)).to_be_focused()
    # The picker names it as a starter, with its note as the hint.
    chosen = picker(page).locator("option:checked")
    expect(chosen).to_have_text(STARTER.label)
    expect(chosen).to_have_attribute("title", STARTER.note)
    expect(picker(page)).to_have_attribute("title", f"{STARTER.label}: {STARTER.note}")

    send(page, "Hi")
    loading = page.locator(".engine-loading")
    expect(loading).to_have_text(re.compile(rf"^Loading {re.escape(STARTER.label)}… \d+ s$"))
    expect(loading).to_have_attribute("role", "status")
    first = loading.inner_text()
    expect(loading).not_to_have_text(first)  # the seconds go on
    expect(loading).to_have_text(re.compile(r"… [1-9]\d* s$"))
    shoot(page, "loading-the-starter-model")

    reply = page.locator("article.message.assistant")
    expect(reply).to_have_count(1, timeout=30_000)
    expect(loading).to_have_count(0)  # the text takes its place
    wait_done(page, 1, timeout=30_000)
    assert reply.locator(".blocks").inner_text().strip()
    expect(reply.locator(".meta")).to_contain_text(STARTER_ID)
    expect(page.locator("#welcome")).to_have_count(0)
    shoot(page, "first-reply-from-the-starter-model")


def test_stop_while_the_model_loads(open_page, start_server, slow_load):
    app = start_server(SETTINGS)
    page = open_page(app)
    welcome(page).get_by_role("button", name="Chat now with the starter model").click()
    send(page, "Hi")
    loading = page.locator(".engine-loading")
    expect(loading).to_be_visible()
    page.get_by_role("button", name="Stop", exact=True).click()
    # The reply ends now, not when the model has loaded: the composer is free at once.
    reply = page.locator("article.message.assistant")
    expect(reply).to_have_attribute("data-status", "stopped", timeout=2_000)
    expect(loading).to_have_count(0)
    expect(reply.locator(".badge")).to_have_text("stopped")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert app.get("/api/local/engine").json()["state"] == "loading"
    shoot(page, "stopped-while-the-model-loads")
    # The model went on loading, so the next message is answered without a second wait.
    send(page, "Hi again")
    wait_done(page, 1, timeout=30_000)
    expect(page.locator("article.message.assistant").last.locator(".blocks")).not_to_be_empty()


def test_the_download_offer_names_the_recommended_size_and_opens_the_models_panel(
        open_page, start_server):
    app = start_server(SETTINGS)
    catalog = app.get("/api/local/catalog").json()
    best = next((m for m in catalog["models"] if m["id"] == catalog["recommended"]), None)
    page = open_page(app)
    download = welcome(page).locator("#welcome-download")
    if best is None:  # a machine with too little memory for any: the button still leads there
        expect(download).to_have_text("Download a better model")
    else:
        size = best["size"]
        shown = f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{round(size / 1e6)} MB"
        expect(download).to_have_text(f"Download a better model (≈{shown})")
        expect(welcome(page)).to_contain_text(f"{best['name']} suits this computer's memory.")
    download.click()
    expect(page.get_by_role("dialog", name="Models")).to_be_visible()


def test_with_a_model_of_ones_own_the_welcome_does_not_push_the_starter(open_page, start_server,
                                                                         tmp_path):
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    shutil.copyfile(STARTER_FILE, models / "my-model.gguf")  # a real model, not the bundled one
    app = start_server(SETTINGS)
    page = open_page(app)
    panel = welcome(page)
    expect(panel).not_to_have_class(re.compile("first-run"))
    expect(panel.get_by_role("button", name="Chat now with the starter model")).to_have_count(0)
    expect(panel.locator("#welcome-download")).to_have_count(0)
    # Both are ready; the starter comes last, named as the starter it is.
    chips = panel.get_by_role("list", name="Available models").get_by_role("button")
    expect(chips).to_have_text(["my-model", STARTER.label])
    expect(chips.last).to_have_attribute("title", re.compile(re.escape(STARTER.note)))
    shoot(page, "welcome-with-a-downloaded-model")
