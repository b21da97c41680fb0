"""The page under load, in headless Chromium (not a test): how long a 1,000-message chat
takes to open, whether a 20,000-token markdown reply blocks the main thread while it
streams, and how the page's memory moves over 50 long replies.

    .venv/bin/python bench/bench_page.py [--quick]

Starts its own fake model server and `openchat serve`-equivalent runtime in this process,
drives Debian's /usr/bin/chromium with Playwright, and prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from openchat_desktop.runtime import Runtime  # noqa: E402
from tests.fake_provider import FakeProvider, Reply  # noqa: E402
from tests.support import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402

TOKEN = "bench-token-abcdefghijklmnopqrstuvwxyz"
MARKDOWN = (
    "## Section {n}\n\nSome *emphasis*, `inline code` and a [link](https://example.com). "
    "A sentence that goes on for a while to look like prose.\n\n"
    "```python\ndef step_{n}(items):\n    total = 0\n    for item in items:\n"
    "        total += item * {n}\n    return total\n```\n\n"
    "- first point {n}\n- second point {n}\n\n"
)

# Long tasks (> 50 ms on the main thread) and heap use, recorded by the page itself.
OBSERVE = """
window.__long = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__long.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


def tokens_of(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def reply_text(tokens: int) -> list[str]:
    chunks: list[str] = []
    n = 0
    while len(chunks) < tokens:
        chunks += tokens_of(MARKDOWN.format(n=n))
        n += 1
    return chunks[:tokens]


def fill_long_chat(runtime: Runtime, count: int) -> str:
    store = runtime.store
    session = store.create_session(title="A long chat", model="ollama/llama3.2:3b")
    parent = None
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        text = f"Question {i}?" if role == "user" else MARKDOWN.format(n=i)
        parent = store.add_message(session_id=session.id, parent_id=parent, role=role,
                                   content=text).id
    return session.id


def open_chat_ms(page, base: str, title: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        page.goto(f"{base}/")
        page.get_by_role("textbox", name="Message").wait_for()
        page.evaluate("document.querySelector('#messages').replaceChildren()")
        start = page.evaluate("performance.now()")
        page.get_by_role("navigation", name="Chats").get_by_text(title).first.click()
        page.locator("article.message").last.wait_for()
        page.wait_for_function("() => document.querySelectorAll('article.message').length >= 50")
        times.append(page.evaluate("performance.now()") - start)
    return times


def stream_reply(page, fake: FakeProvider, chunks: list[str], delay: float) -> float:
    fake.script(Reply(chunks=chunks, delay=delay))
    before = page.locator("article.message.assistant").count()
    box = page.get_by_role("textbox", name="Message")
    box.fill("Write a long answer")
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "(before) => { const a = document.querySelectorAll('article.message.assistant');"
        " return a.length > before && a[a.length - 1].dataset.status === 'complete'; }",
        arg=before,
        timeout=600_000,
    )
    return time.perf_counter() - started


def stop_ms(page, fake: FakeProvider, runs: int) -> list[float]:
    """From pressing Stop to the reply showing as stopped, while the model is still writing."""
    times = []
    for _ in range(runs):
        fake.script(Reply(chunks=reply_text(100_000), delay=0.002))
        box = page.get_by_role("textbox", name="Message")
        box.fill("Go on and on")
        box.press("Enter")
        page.get_by_role("button", name="Stop").wait_for()
        page.wait_for_timeout(300)
        start = page.evaluate("performance.now()")
        page.get_by_role("button", name="Stop").click()
        page.wait_for_function(
            "() => { const a = document.querySelectorAll('article.message.assistant');"
            " return a.length > 0 && a[a.length - 1].dataset.status === 'stopped'; }")
        times.append(page.evaluate("performance.now()") - start)
    return times


def heap_mb(page) -> float:
    page.evaluate("window.gc && window.gc()")
    return page.evaluate("performance.memory.usedJSHeapSize") / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller replies and fewer runs")
    args = parser.parse_args()
    long_tokens, replies, reply_tokens = (5_000, 10, 1_000) if args.quick else (20_000, 50, 2_000)

    with tempfile.TemporaryDirectory(prefix="openchat-page-bench-") as work, \
            FakeProvider(models=["llama3.2:3b"]) as fake, sync_playwright() as playwright:
        work_dir = Path(work)
        settings = work_dir / "settings.toml"
        settings.write_text(
            f'default_model = "ollama/llama3.2:3b"\n[[providers]]\nid = "ollama"\n'
            f'kind = "ollama"\nbase_url = "{fake.ollama_url}"\n'
        )
        runtime = Runtime(data_dir=work_dir / "data", settings_path=settings, token=TOKEN)
        runtime.start()
        try:
            fill_long_chat(runtime, 1_000)
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_FLAGS, "--enable-precise-memory-info", "--js-flags=--expose-gc"],
            )
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(f"{runtime.base_url}/?token={TOKEN}")
            opened = open_chat_ms(page, runtime.base_url, "A long chat", 3 if args.quick else 5)

            page.get_by_role("button", name="New chat").first.click()
            page.evaluate(OBSERVE)
            seconds = stream_reply(page, fake, reply_text(long_tokens), 0.0005)
            long_tasks = page.evaluate("window.__long")

            before = heap_mb(page)
            for _ in range(replies):
                stream_reply(page, fake, reply_text(reply_tokens), 0.0)
            after = heap_mb(page)
            page.get_by_role("button", name="New chat").first.click()
            page.wait_for_timeout(500)
            after_new_chat = heap_mb(page)
            stopped = stop_ms(page, fake, 3 if args.quick else 10)
            browser.close()
        finally:
            runtime.shutdown()

    print("| measure | result | target |")
    print("|---|---|---|")
    print(f"| open a 1,000-message chat (newest 50 shown), median of {len(opened)} | "
          f"{statistics.median(opened):.0f} ms (max {max(opened):.0f}) | ≤ 300 ms |")
    print(f"| main-thread tasks over 50 ms while a {long_tokens:,}-token markdown reply "
          f"streams ({seconds:.1f} s) | {len(long_tasks)}"
          f"{' (longest ' + format(max(long_tasks), '.0f') + ' ms)' if long_tasks else ''} | "
          "none |")
    print(f"| JS heap before / after {replies} replies of {reply_tokens:,} tokens / after "
          f"opening a new chat | {before:.1f} / {after:.1f} / {after_new_chat:.1f} MB | "
          "no growth that stays |")
    print(f"| Stop pressed → reply shown stopped (model still writing), median of {len(stopped)} | "
          f"{statistics.median(stopped):.0f} ms (max {max(stopped):.0f}) | ≤ 200 ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
