"""A reply while it streams, in headless Chromium against a fake provider: the text on screen
always reads as the reply so far."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import send, shoot, wait_done
from .fake_provider import Reply


def replies(page: Page):
    return page.locator("article.message.assistant")


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
