"""The Models panel in headless Chromium: installed models with their details, a pull whose
progress bar moves and finishes, Cancel, errors in plain words, delete after confirming."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .support import shoot

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "llava:7b",
    capabilities={"llava:7b": ["completion", "vision"]},
    registry=["llama3.2:3b", "llava:7b", "moondream:1.8b"],
    loaded=["llava:7b"],
)


@pytest.fixture
def default_model():
    return "ollama/llava:7b"


def open_panel(page: Page):
    page.get_by_role("button", name="Models", exact=True).click()
    dialog = page.get_by_role("dialog", name="Models")
    expect(dialog).to_be_visible()
    return dialog


def rows(dialog):
    return dialog.locator("#models-rows tr")


def test_installed_models_are_listed_with_their_details(page):
    dialog = open_panel(page)
    expect(rows(dialog)).to_have_count(2)
    llava = dialog.locator('tr[data-name="llava:7b"]')
    expect(llava.locator("td")).to_have_text(
        ["2.0 GB", "3.2B", "Q4_K_M", "vision", "Loaded", "Delete"])
    expect(dialog.locator('tr[data-name="llama3.2:3b"] td').nth(4)).to_have_text("Not loaded")
    expect(page.get_by_role("textbox", name="Model name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Models", exact=True)).to_be_focused()


def test_pull_shows_a_moving_progress_bar_and_the_model_arrives(page, fake):
    fake.pull_steps = 4
    fake.pull_hold_at = 2  # the download waits at half until released
    dialog = open_panel(page)
    dialog.get_by_role("textbox", name="Model name").fill("moondream:1.8b")
    dialog.get_by_role("button", name="Pull").click()
    bar = dialog.get_by_role("progressbar", name="Download progress")
    expect(dialog.locator("#pull-status")).to_contain_text("50%")
    assert bar.evaluate("bar => bar.value") == 0.5
    expect(dialog.get_by_role("button", name="Cancel")).to_be_visible()
    shoot(page, "models-pulling")
    fake.release_pull()
    expect(dialog.locator("#pull-status")).to_have_text(
        "Downloaded. moondream:1.8b is ready to chat with.")
    assert bar.evaluate("bar => bar.value") == 1
    expect(dialog.get_by_role("button", name="Cancel")).to_be_hidden()
    expect(rows(dialog)).to_have_count(3)
    expect(dialog.locator('tr[data-name="moondream:1.8b"]')).to_be_visible()
    shoot(page, "models-pulled")
    # The model picker offers it at once.
    expect(page.locator('#model-select option[value="ollama/moondream:1.8b"]')).to_have_count(1)


def test_cancel_a_pull(page, fake):
    fake.pull_steps = 4
    fake.pull_hold_at = 1
    dialog = open_panel(page)
    dialog.get_by_role("textbox", name="Model name").fill("moondream:1.8b")
    dialog.get_by_role("textbox", name="Model name").press("Enter")
    expect(dialog.locator("#pull-status")).to_contain_text("25%")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog.locator("#pull-status")).to_have_text("Cancelled.")
    assert fake.disconnected.wait(5)
    assert "moondream:1.8b" not in fake.models
    expect(rows(dialog)).to_have_count(2)


def test_an_unknown_model_is_explained(page):
    dialog = open_panel(page)
    dialog.get_by_role("textbox", name="Model name").fill("no-such-model")
    dialog.get_by_role("button", name="Pull").click()
    expect(dialog.get_by_role("alert").filter(has_text="no model called")).to_have_text(
        "Ollama has no model called “no-such-model”. Check the name at ollama.com/library.")


def test_delete_a_model_after_confirming(page, fake):
    dialog = open_panel(page)
    dialog.get_by_role("button", name="Delete llama3.2:3b").click()
    confirm = dialog.get_by_role("button", name="Really delete llama3.2:3b?")
    expect(confirm).to_be_visible()
    assert "llama3.2:3b" in fake.models  # nothing happens before the second press
    shoot(page, "models-delete-confirm")
    confirm.click()
    expect(rows(dialog)).to_have_count(1)
    assert fake.models == ["llava:7b"]
    expect(page.locator('#model-select option[value="ollama/llama3.2:3b"]')).to_have_count(0)
