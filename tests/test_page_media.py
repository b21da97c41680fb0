"""The page with pictures, files and thinking models: attach by picker, paste and drop, the
vision warning, the Thinking block as it streams, the Think control and per-reply numbers —
in headless Chromium against a fake Ollama."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import Page, Route, expect

from .fake_provider import Reply
from .files import pdf, png, sunset_png
from .support import send, shoot, wait_done

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "llava:7b", "qwen3:8b", "gpt-oss:20b", "qwen3-vl:8b",
    capabilities={
        "qwen3-vl:8b": ["completion", "vision", "thinking"],
        "llava:7b": ["completion", "vision"],
        "qwen3:8b": ["completion", "thinking"],
        "gpt-oss:20b": ["completion", "thinking", "tools"],
    },
)


@pytest.fixture
def default_model():
    return "ollama/llava:7b"


def pick(page: Page, name: str, mime: str, data: bytes) -> None:
    page.locator("#attach-input").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])


def data_transfer(page: Page, name: str, mime: str, data: bytes):
    """A DataTransfer holding one file, as a drop or a paste carries it."""
    return page.evaluate_handle(
        """([name, mime, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            return transfer;
        }""",
        [name, mime, base64.b64encode(data).decode()],
    )


def ready_chips(page: Page, count: int) -> None:
    expect(page.locator('.attachment-chip[data-status="ready"]')).to_have_count(count)


def test_attach_an_image_with_the_picker_and_see_it_in_the_chat(page, fake):
    image = png(64, 48, (40, 120, 220))
    pick(page, "blue.png", "image/png", image)
    chip = page.locator(".attachment-chip")
    expect(chip).to_have_count(1)
    expect(chip.locator("img.attachment-thumb")).to_be_visible()
    expect(chip.locator(".attachment-name")).to_have_text("blue.png")
    ready_chips(page, 1)
    page.get_by_role("textbox", name="Message").fill("What colour is this?")
    shoot(page, "attach-image-tray")
    page.get_by_role("textbox", name="Message").press("Enter")
    wait_done(page, 1)
    expect(page.locator(".attachment-chip")).to_have_count(0)
    thumb = page.locator("article.message.user .attached-image img")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 64
    body = fake.chat_requests()[-1].body
    assert body["messages"][-1] == {
        "role": "user", "content": "What colour is this?",
        "images": [base64.b64encode(image).decode("ascii")],
    }
    shoot(page, "attach-image-sent")
    # After a reload the picture is still there, served by the app.
    page.reload()
    expect(page.locator("article.message.user .attached-image img")).to_be_visible()


def test_drop_a_pdf_and_paste_an_image(page, fake):
    document = pdf("Revenue grew by four percent.")
    page.locator("main.conversation").dispatch_event(
        "drop", {"dataTransfer": data_transfer(page, "report.pdf", "application/pdf", document)})
    chip = page.locator(".attachment-chip.kind-pdf")
    expect(chip).to_be_visible()
    expect(chip.locator(".attachment-kind")).to_have_text("PDF")
    transfer = data_transfer(page, "", "image/png", png())
    page.get_by_role("textbox", name="Message").evaluate(
        "(box, transfer) => box.dispatchEvent(new ClipboardEvent('paste', "
        "{ clipboardData: transfer, bubbles: true, cancelable: true }))", transfer)
    expect(page.locator(".attachment-chip")).to_have_count(2)
    ready_chips(page, 2)
    send(page, "Summarize the report")
    wait_done(page, 1)
    message = fake.chat_requests()[-1].body["messages"][-1]
    assert message["content"] == (
        "File: report.pdf\n```\nRevenue grew by four percent.\n```\n\nSummarize the report")
    assert len(message["images"]) == 1
    sent = page.locator("article.message.user")
    expect(sent.locator(".attached-file .attachment-name")).to_have_text("report.pdf")
    expect(sent.locator(".attached-image img")).to_have_count(1)
    shoot(page, "attach-pdf-sent")


def test_a_file_that_cannot_be_attached_is_explained_and_removed(page):
    pick(page, "program.exe", "application/octet-stream", bytes(range(256)) * 8)
    error = page.locator("#attach-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("program.exe")
    expect(page.locator(".attachment-chip")).to_have_count(0)


def test_remove_a_file_before_sending(page, app):
    pick(page, "notes.txt", "text/plain", b"remember the milk")
    ready_chips(page, 1)
    page.get_by_role("button", name="Remove notes.txt").click()
    expect(page.locator(".attachment-chip")).to_have_count(0)
    expect(page.locator("#attachment-tray")).to_be_hidden()


def test_images_for_a_model_without_vision_ask_first(page, fake):
    page.locator("#model-select").select_option("ollama/llama3.2:3b")
    pick(page, "cat.png", "image/png", png())
    warning = page.locator("#vision-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("llama3.2:3b cannot see images")
    ready_chips(page, 1)
    shoot(page, "vision-warning")
    send(page, "What is this?")
    expect(warning).to_be_visible()
    assert fake.chat_requests() == []
    expect(page.get_by_role("button", name="Send anyway")).to_be_focused()
    page.get_by_role("button", name="Send anyway").click()
    wait_done(page, 1)
    assert fake.chat_requests()[-1].body["messages"][-1] == {
        "role": "user", "content": "What is this?"}
    # Picking a model with vision makes the warning go away.
    pick(page, "dog.png", "image/png", png())
    expect(warning).to_be_visible()
    page.locator("#model-select").select_option("ollama/llava:7b")
    expect(warning).to_be_hidden()


def test_thinking_streams_then_folds_when_the_answer_starts(page, fake):
    page.locator("#model-select").select_option("ollama/qwen3:8b")
    fake.script(Reply(reasoning="First I recall that the sky scatters blue light most.",
                      text="The sky is blue because of Rayleigh scattering.", mode="stall",
                      after=4))
    send(page, "Why is the sky blue?")
    thinking = page.locator("article.message.assistant details.thinking")
    expect(thinking).to_have_attribute("open", "")
    expect(thinking.locator(".thinking-label")).to_have_text("Thinking…")
    expect(thinking.locator(".thinking-text")).to_have_text("First I recall that")
    shoot(page, "thinking-live")
    fake.release()
    wait_done(page, 1)
    expect(thinking).not_to_have_attribute("open", "")
    expect(thinking.locator(".thinking-label")).to_have_text(re.compile(r"^Thought for "))
    expect(thinking.locator(".thinking-info")).to_have_text("10 words")
    reply = page.locator("article.message.assistant .body")
    expect(reply).to_have_text("The sky is blue because of Rayleigh scattering.")
    stats = page.locator("article.message.assistant .meta .info")
    expect(stats).to_have_text(re.compile(
        r"qwen3:8b · \d+ tokens · [\d.]+ tokens/s · [\d.]+ m?s to first token"))
    # Saved: after a reload the thinking is there, folded, and opens on a click.
    page.reload()
    saved = page.locator("article.message.assistant details.thinking")
    expect(saved).not_to_have_attribute("open", "")
    expect(saved.locator(".thinking-label")).to_have_text(re.compile(r"^Thought for "))
    saved.locator("summary").click()
    expect(saved.locator(".thinking-text")).to_have_text(
        "First I recall that the sky scatters blue light most.")
    shoot(page, "thinking-saved")


def test_the_think_control_follows_the_model_and_is_kept_per_chat(page, app, fake):
    control = page.locator("#think-control")
    expect(control).to_be_hidden()  # llava cannot think
    page.locator("#model-select").select_option("ollama/qwen3:8b")
    toggle = page.get_by_role("button", name="Think", exact=True)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    send(page, "Quick answer please")
    wait_done(page, 1)
    assert fake.chat_requests()[-1].body["think"] is False
    session = app.get("/api/sessions").json()["sessions"][0]
    page.wait_for_function(
        "id => fetch('/api/sessions/' + id).then(r => r.json()).then(s => s.think === false)",
        arg=session["id"])
    send(page, "And another")
    wait_done(page, 2)
    assert fake.chat_requests()[-1].body["think"] is False
    # A model that takes levels gets a level select instead.
    page.locator("#model-select").select_option("ollama/gpt-oss:20b")
    level = page.get_by_role("combobox", name="Thinking level")
    expect(level).to_be_visible()
    expect(toggle).to_be_hidden()
    level.select_option("high")
    send(page, "Think hard")
    wait_done(page, 3)
    assert fake.chat_requests()[-1].body["think"] == "high"
    page.reload()
    page.locator("#model-select").select_option("ollama/gpt-oss:20b")
    expect(page.get_by_role("combobox", name="Thinking level")).to_have_value("high")


def test_a_photo_for_a_model_that_sees_and_thinks(page, fake):
    """The whole story: drop a photo, watch the model think, read its answer."""
    page.locator("#model-select").select_option("ollama/qwen3-vl:8b")
    photo = sunset_png()
    page.locator("main.conversation").dispatch_event(
        "drop", {"dataTransfer": data_transfer(page, "sunset.png", "image/png", photo)})
    ready_chips(page, 1)
    fake.script(Reply(
        reasoning="The picture shows a sky going from blue to orange above dark water, with a "
                  "bright glow low in the middle: the sun is setting over the sea.",
        text="It is a **sunset over the sea**: the sky fades from blue to orange, and the sun "
             "glows just above the water line.\n\n- Time of day: evening\n- Setting: a coast",
        delay=0.01))
    send(page, "Where and when was this taken?")
    wait_done(page, 1)
    body = fake.chat_requests()[-1].body
    assert body["model"] == "qwen3-vl:8b"
    assert body["messages"][-1]["images"] == [base64.b64encode(photo).decode("ascii")]
    assert "think" not in body  # the chat's Think setting is the model's default
    thinking = page.locator("article.message.assistant details.thinking")
    expect(thinking).not_to_have_attribute("open", "")
    expect(page.locator("article.message.user .attached-image img")).to_be_visible()
    page.mouse.move(0, 0)
    shoot(page, "vision-and-thinking")


def test_the_limits_are_checked_before_uploading(page, app):
    files = [{"name": f"note{i}.txt", "mimeType": "text/plain", "buffer": f"note {i}".encode()}
             for i in range(11)]
    page.locator("#attach-input").set_input_files(files=files)
    expect(page.locator(".attachment-chip")).to_have_count(10)
    expect(page.locator("#attach-error")).to_have_text(
        "A message can carry at most 10 files; “note10.txt” was not added.")
    ready_chips(page, 10)
    # Only the ten that fit were uploaded.
    assert sum(url.endswith("/api/attachments") for url in page.requested) == 10


def test_a_think_level_chosen_right_before_send_reaches_the_model(page, app, fake):
    """The chat's new level is still on its way to the server when the person presses Send:
    the message goes with it all the same."""
    page.locator("#model-select").select_option("ollama/gpt-oss:20b")
    send(page, "First")
    wait_done(page, 1)
    held: list[Route] = []

    def hold_changes(route: Route) -> None:
        if route.request.method == "PATCH":
            held.append(route)  # answered only after the reply
        else:
            route.continue_()

    page.route("**/api/sessions/*", hold_changes)
    page.get_by_role("combobox", name="Thinking level").select_option("high")
    send(page, "Think hard")
    wait_done(page, 2)
    assert held, "the level's change was answered before the message was sent"
    assert fake.chat_requests()[-1].body["think"] == "high"
    for route in held:
        route.continue_()
