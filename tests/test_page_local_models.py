"""The Models panel's built-in engine in headless Chromium, with the real app: its model files
with their facts (the starter labelled as such), a file with a problem, delete after confirming,
adding a file, the catalog with this machine's recommendation, and downloads from a fake hub
(tests/fake_hub.py) with progress, speed and time left, a failure in words, and Cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from openchat_desktop.local import catalog
from openchat_desktop.paths import bundled_models_dir

from .fake_hub import serving
from .gguf_files import MODEL_METADATA, MODEL_TENSORS, T_F32, gguf_file
from .support import provider_settings, shoot

QWEN = catalog.find("qwen3-1.7b")
assert QWEN is not None
QWEN_NAME = QWEN.file.removesuffix(".gguf")
STARTER = "SmolLM2-135M-Instruct.Q4_1"
# A real GGUF header over 1 MiB of weights: the download takes long enough to be measured.
MODEL = gguf_file(MODEL_METADATA, [*MODEL_TENSORS, ("big.weight", [256, 1024], T_F32)])


@pytest.fixture
def ollama_settings(fake, default_model) -> str:
    """The fake server as Ollama, and the built-in engine beside it (as by default)."""
    return (provider_settings(("ollama", "ollama", fake.ollama_url), default_model=default_model)
            + '\n[[providers]]\nid = "local"\nkind = "local"\n')


@pytest.fixture
def hub(monkeypatch):
    with serving(monkeypatch, QWEN.repo, {QWEN.file: MODEL, "README.md": b"# Qwen3"}) as fake:
        yield fake


@pytest.fixture
def models_dir(app):
    folder = app.data_dir / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_panel(page: Page):
    page.get_by_role("button", name="Models", exact=True).click()
    dialog = page.get_by_role("dialog", name="Models")
    expect(dialog).to_be_visible()
    return dialog


def engine_window(app) -> int:
    """The context the engine gives a model trained for more (its setting, from the machine)."""
    return app.get("/api/local/engine").json()["settings"]["context_size"]


def local_row(dialog, name: str):
    return dialog.locator(f'#local-rows tr[data-name="{name}"]')


def catalog_item(dialog, entry_id: str):
    return dialog.locator(f'#catalog-list li[data-id="{entry_id}"]')


@pytest.mark.skipif(not (bundled_models_dir() / f"{STARTER}.gguf").is_file(),
                    reason="the starter model is fetched by scripts/setup.sh")
def test_the_starter_model_is_listed_with_its_facts_and_what_it_is(page, app):
    window = engine_window(app)
    assert window < 8192  # the engine's default on any machine
    dialog = open_panel(page)
    starter = local_row(dialog, STARTER)
    expect(starter.locator("th")).to_have_text(
        "SmolLM2 135M (starter)fast, but limited — download a better model")
    expect(starter.locator("td")).to_have_text(
        ["98 MB", "135M", "Q4_1", f"{window:,} of 8,192 tokens", "Not loaded",
         "Comes with OpenChat"])
    expect(starter.locator("td").nth(3).locator("span")).to_have_attribute(
        "title", f"Trained for 8,192 tokens; the built-in engine gives it {window:,} "
        "(the local.context_size setting).")
    expect(starter.get_by_role("button")).to_have_count(0)  # never deleted from here
    expect(dialog.get_by_role("button", name="Add a model file…")).to_be_focused()
    shoot(page, "local-models")


def test_a_model_file_is_deleted_after_confirming_and_a_broken_one_says_why(page, app,
                                                                          models_dir):
    (models_dir / "Tiny-Qwen.gguf").write_bytes(MODEL)
    (models_dir / "broken.gguf").write_bytes(b"nothing like a model" * 10)
    dialog = open_panel(page)
    expect(local_row(dialog, "broken").locator("th")).to_have_text(
        "broken“broken.gguf” is not a GGUF model file.")
    tiny = local_row(dialog, "Tiny-Qwen")
    expect(tiny.locator("td")).to_have_text(
        ["1.1 MB", "266K", "Q4_K_M", f"{engine_window(app):,} of 40,960 tokens", "Not loaded",
         "Delete"])
    dialog.get_by_role("button", name="Delete Tiny-Qwen").click()
    confirm = dialog.get_by_role("button", name="Really delete Tiny-Qwen?")
    expect(confirm).to_be_visible()
    assert (models_dir / "Tiny-Qwen.gguf").exists()  # nothing happens before the second press
    shoot(page, "local-models-delete-confirm")
    confirm.click()
    expect(tiny).to_have_count(0)
    assert not (models_dir / "Tiny-Qwen.gguf").exists()
    expect(local_row(dialog, STARTER)).to_be_visible()
    expect(page.locator('#model-select option[value="local/Tiny-Qwen"]')).to_have_count(0)


def test_a_model_file_is_added_from_the_computer(page, models_dir, tmp_path):
    source = tmp_path / "My-Model.gguf"
    source.write_bytes(MODEL)
    dialog = open_panel(page)
    with page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Add a model file…").click()
    chooser.value.set_files(str(source))
    expect(dialog.locator("#local-add-status")).to_have_text(
        "Added My-Model. It is ready to chat with.")
    expect(local_row(dialog, "My-Model")).to_be_visible()
    assert (models_dir / "My-Model.gguf").read_bytes() == MODEL
    expect(page.locator('#model-select option[value="local/My-Model"]')).to_have_count(1)
    # A file that is no model is refused with the sentence why.
    (tmp_path / "notes.txt").write_text("hello")
    with page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Add a model file…").click()
    chooser.value.set_files(str(tmp_path / "notes.txt"))
    expect(dialog.locator("#local-error")).to_have_text(
        "“notes.txt” is not a GGUF model file: model files for the built-in engine end in .gguf.")


def test_the_catalog_marks_the_recommendation_and_what_is_downloaded(page, app, models_dir):
    (models_dir / "Qwen3-0.6B-Q8_0.gguf").write_bytes(MODEL)
    (models_dir / f"{QWEN.file}.0123456789abcdef.part").write_bytes(b"\0" * 1000)
    recommended = app.get("/api/local/catalog").json()["recommended"]
    dialog = open_panel(page)
    expect(dialog.locator("#catalog-list li")).to_have_count(len(catalog.CATALOG))
    qwen = catalog_item(dialog, "qwen3-1.7b")
    expect(qwen.locator(".catalog-facts")).to_have_text(
        "1.1 GB download · needs 1.9 GB of memory · Apache-2.0")
    expect(qwen.locator(".catalog-good")).to_have_text(QWEN.good_at)
    expect(qwen.get_by_role("button", name="Resume Qwen3 1.7B")).to_be_visible()
    small = catalog_item(dialog, "qwen3-0.6b")
    expect(small.locator(".badge.downloaded")).to_have_text("Downloaded")
    expect(small.get_by_role("button")).to_have_count(0)
    badges = dialog.locator("#catalog-list .badge.recommended")
    if recommended is None:  # a machine too small for any: the starter is all it gets
        expect(badges).to_have_count(0)
    else:
        expect(badges).to_have_count(1)
        expect(catalog_item(dialog, recommended).locator(".badge.recommended")).to_have_text(
            "Recommended for this computer")
    catalog_item(dialog, "qwen3-1.7b").scroll_into_view_if_needed()
    shoot(page, "local-catalog")


def test_a_download_shows_progress_speed_and_time_left_and_the_model_arrives(page, app, hub):
    hub.delay = 0.02
    hub.hold_at = len(MODEL) // 2
    dialog = open_panel(page)
    catalog_item(dialog, "qwen3-1.7b").get_by_role("button", name="Download Qwen3 1.7B").click()
    status = dialog.locator("#hub-status")
    expect(dialog.locator("#hub-label")).to_have_text("Qwen3 1.7B")
    expect(status).to_contain_text("left", timeout=10_000)
    expect(status).to_have_text(
        re.compile(r"downloading — \d+% \(.+ of 1\.1 MB\) · .+/s · \d+ s left"))
    assert 0 < dialog.locator("#hub-bar").evaluate("bar => bar.value") < 1
    expect(dialog.get_by_role("button", name="Cancel")).to_be_visible()
    shoot(page, "local-downloading")
    hub.release()
    expect(status).to_have_text("Downloaded. Qwen3 1.7B is ready to chat with.", timeout=10_000)
    expect(dialog.get_by_role("button", name="Cancel")).to_be_hidden()
    row = local_row(dialog, QWEN_NAME)
    expect(row.locator("td")).to_have_text(
        ["1.1 MB", "266K", "Q4_K_M", f"{engine_window(app):,} of 40,960 tokens", "Not loaded",
         "Delete"])
    expect(catalog_item(dialog, "qwen3-1.7b").locator(".badge.downloaded")).to_be_visible()
    expect(page.locator(f'#model-select option[value="local/{QWEN_NAME}"]')).to_have_count(1)
    shoot(page, "local-downloaded")


def test_a_failing_download_says_why(page, hub):
    dialog = open_panel(page)
    dialog.get_by_role("textbox", name="Hugging Face repository or file URL").fill(
        "https://huggingface.co/someone/missing-GGUF")
    dialog.get_by_role("button", name="Download", exact=True).click()
    expect(dialog.locator("#hub-error")).to_have_text(
        "Hugging Face has no model “someone/missing-GGUF”. Check the name (it looks like "
        "“owner/repository”); a private repository also needs a token.")
    expect(dialog.locator("#hub-status")).to_have_text("Failed.")
    shoot(page, "local-download-failed")


def test_cancel_a_download_keeps_what_came_and_offers_to_resume(page, hub, models_dir):
    hub.hold_at = 256 * 1024
    dialog = open_panel(page)
    catalog_item(dialog, "qwen3-1.7b").get_by_role("button", name="Download Qwen3 1.7B").click()
    expect(dialog.locator("#hub-status")).to_contain_text("%")
    assert hub.held.wait(10)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog.locator("#hub-status")).to_have_text("Cancelled.")
    expect(dialog.locator("#hub-error")).to_have_text("")
    expect(catalog_item(dialog, "qwen3-1.7b").get_by_role(
        "button", name="Resume Qwen3 1.7B")).to_be_visible()
    assert not (models_dir / QWEN.file).exists()
    assert list(models_dir.glob("*.part"))
