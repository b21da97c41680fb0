"""A reply while it streams, in headless Chromium against a fake provider: Stop wins at any
moment after Send, and the text on screen always reads as the reply so far."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import message_box, send, send_and_stop, shoot, wait_done, wait_for

# A slow model: a quarter second before each word, ten seconds for the whole reply. A Stop that
# does not take shows as a reply that runs to its end.
SLOW_WORDS = [f"word{i} " for i in range(1, 41)]
SLOW = Reply(chunks=SLOW_WORDS, delay=0.25)


def replies(page: Page):
    return page.locator("article.message.assistant")


def expect_stopped(page: Page, app, fake, reply_count: int) -> None:
    """The reply ended stopped, long before the model would have finished, and the page says so;
    the composer is free; the model server's request was closed."""
    reply = replies(page).nth(reply_count - 1)
    expect(reply).to_have_attribute("data-status", "stopped", timeout=4_000)
    expect(reply.locator(".badge")).to_have_text("stopped")
    expect(reply.get_by_role("button", name="Retry")).to_be_visible()
    words = reply.locator(".body").inner_text().split()
    assert len(words) < len(SLOW_WORDS) // 2, words
    assert words == [w.strip() for w in SLOW_WORDS[: len(words)]]
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_hidden()
    expect(message_box(page)).to_be_editable()
    assert fake.disconnected.wait(3), "the request to the model server was not closed"
    session = app.get("/api/sessions").json()["sessions"][0]
    saved = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert saved[-1]["status"] == "stopped"


def test_stop_right_after_send_in_a_chat_stops_the_reply(page, app, fake):
    fake.script(Reply(text="First answer."), SLOW, Reply(text="Third answer."))
    send(page, "One")
    wait_done(page, 1)
    gap = send_and_stop(page, "Two, then stop at once")
    assert gap < 20, f"Stop came {gap:.0f} ms after Enter"
    # The message is on screen from the start, and the composer is emptied.
    expect(page.locator("article.message.user .body")).to_have_text(
        ["One", "Two, then stop at once"])
    expect(message_box(page)).to_have_value("")
    expect_stopped(page, app, fake, 2)
    expect(page.locator("article.message.user .body")).to_have_text(
        ["One", "Two, then stop at once"])
    shoot(page, "stop-right-after-send")
    # Free means free: the next message goes out and is answered in full.
    send(page, "Three")
    wait_done(page, 2)
    expect(replies(page).last.locator(".body")).to_have_text("Third answer.")


def test_stop_while_a_new_chat_is_being_created(page, app, fake):
    fake.script(SLOW)
    gap = send_and_stop(page, "Start a chat and stop")
    assert gap < 20, f"Stop came {gap:.0f} ms after Enter"
    expect(page.locator("article.message.user .body")).to_have_text(["Start a chat and stop"])
    expect(page.locator("#welcome")).to_have_count(0)
    expect_stopped(page, app, fake, 1)
    expect(page.get_by_role("navigation", name="Chats")).to_contain_text("Start a chat and stop")


def test_escape_right_after_send_stops_the_reply(page, app, fake):
    fake.script(Reply(text="First answer."), SLOW)
    send(page, "One")
    wait_done(page, 1)
    gap = send_and_stop(page, "Two", key="Escape")
    assert gap < 20, f"Esc came {gap:.0f} ms after Enter"
    expect_stopped(page, app, fake, 2)


def test_stop_while_an_attachment_uploads(page, app, fake, tmp_path):
    fake.script(SLOW)
    # the 200,000 characters read of it take about 50,000 tokens: a window that holds them
    fake.context_lengths["llama3.2:3b"] = 131072
    assert app.patch("/api/settings", {"context": {"max_ollama_context": 131072}}).ok
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n" * 200_000)  # a few MB: the upload takes a moment
    page.locator("#attach-input").set_input_files(str(notes))
    send_and_stop(page, "Read this, then never mind", after_ms=5)
    expect_stopped(page, app, fake, 1)
    expect(page.locator("article.message.user .attachment-name")).to_have_text("notes.txt")
    expect(page.locator("#attachment-tray")).to_be_hidden()


def test_stop_while_the_model_has_not_answered_yet(page, app, fake):
    fake.script(Reply(text="First answer."), SLOW)
    send(page, "One")
    wait_done(page, 1)
    send(page, "Two")
    # The request is with the model, which has not said a word: the server has not answered.
    wait_for(lambda: len(fake.chat_requests()) == 2)
    expect(replies(page)).to_have_count(1)
    expect(page.locator("article.message.user .body")).to_have_text(["One", "Two"])
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_enabled()
    shoot(page, "sent-waiting-for-the-model")
    stop.click()
    expect_stopped(page, app, fake, 2)


def test_stop_pressed_again_and_esc_after_the_end_change_nothing(page, app, fake):
    fake.script(Reply(text="Short answer."), SLOW)
    send(page, "One")
    wait_done(page, 1)
    send_and_stop(page, "Two", again=2)
    expect_stopped(page, app, fake, 2)
    stops = [url for url in page.requested if url.endswith("/stop")]
    assert len(set(stops)) == 1, stops  # one reply stopped (asked again only if not yet running)
    # With nothing streaming, Esc does nothing at all.
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    expect(replies(page)).to_have_count(2)
    expect(replies(page).first).to_have_attribute("data-status", "complete")
    expect(replies(page).last).to_have_attribute("data-status", "stopped")
    assert [url for url in page.requested if url.endswith("/stop")] == stops


# --- the text while it streams -------------------------------------------------------------

SAMPLER = """() => {
    // Every state of the reply's text the page shows: after each change, and at each frame.
    window.samples = [];
    const take = () => {
        const body = document.querySelector("#messages article.message.assistant .body");
        if (body) window.samples.push(body.innerText);
    };
    new MutationObserver(take).observe(document.getElementById("messages"),
        { childList: true, subtree: true, characterData: true });
    const frame = () => { take(); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
}"""


def collapse(text: str) -> str:
    """Whitespace as a browser shows it: each run of it one space."""
    return re.sub(r"\s+", " ", text).lstrip()


def assert_always_a_prefix(samples: list[str], reply: str) -> None:
    whole = collapse(reply)
    shown = [collapse(s) for s in samples]
    wrong = [s for s in shown if not whole.startswith(s)]
    assert not wrong, f"shown while streaming, not the reply so far: {wrong[0][-60:]!r}"
    partial = {s for s in shown if s and len(s) < len(whole.rstrip())}
    assert len(partial) > 30, f"only {len(partial)} states seen while streaming"


def stream_words(count: int) -> list[str]:
    """Words each with the space after it, some lines and paragraphs, and a few chunks of
    whitespace alone: how real models split their text."""
    chunks = []
    for i in range(1, count + 1):
        space = "\n\n" if i % 97 == 0 else "\n" if i % 41 == 0 else " "
        chunks += [f"tok{i}", space] if i % 5 == 0 else [f"tok{i}{space}"]
    return chunks


def test_words_never_run_together_while_streaming(page, app, fake):
    chunks = stream_words(400)
    reply = "".join(chunks)
    fake.script(Reply(chunks=chunks, delay=0.004))
    page.evaluate(SAMPLER)
    send(page, "Count to four hundred")
    expect(replies(page).first.locator(".body")).to_contain_text("tok150")
    shoot(page, "streaming-words")
    wait_done(page, 1, timeout=20_000)
    expect(replies(page).first.locator(".body")).to_contain_text("tok400")
    assert_always_a_prefix(page.evaluate("window.samples"), reply)


def test_words_never_run_together_when_a_reply_is_rejoined(page, app, fake):
    chunks = stream_words(300)
    reply = "".join(chunks)
    fake.script(Reply(chunks=chunks, mode="stall", after=150, delay=0.004))
    send(page, "Count to three hundred")
    expect(replies(page).first.locator(".body")).to_contain_text("tok100")
    page.reload()  # the page rebuilds the reply from its replay, then follows the rest
    page.evaluate(SAMPLER)
    expect(replies(page).first.locator(".body")).to_contain_text("tok100")
    fake.release()
    wait_done(page, 1, timeout=20_000)
    assert_always_a_prefix(page.evaluate("window.samples"), reply)
