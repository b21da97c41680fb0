"""Measure streaming-render CPU per token for short and long replies (not a test).

Usage: .venv/bin/python bench/bench_rendering.py

A reply of realistic markdown (headings, paragraphs, nested lists, fenced code in three
languages, tables, quotes) is fed in ~4-character tokens arriving at 50 per second. Per-token
CPU must stay roughly flat as the reply grows; the naive row (full re-render per token) shows
what that avoids. The last rows are worst cases: a reply that is one single block, whose
preview the renderer refreshes less often as it grows rather than spending more CPU.
"""

from __future__ import annotations

import itertools
import re
import time

from openchat_desktop.rendering import StreamRenderer, render_markdown

REPEAT = 3  # timings are best of three: machine noise only ever adds time

SECTION = """\
## Step {n}: configure the worker

The worker reads its settings once at start-up and keeps them **immutable**, so a reload
never races with a running job. See [the docs](https://example.com/docs/{n}) for details.

1. Install the package:
   - on Linux, use the system Python
   - on macOS, use `brew install python`
2. Create the config file and set `workers = {n}`.
3. Restart the service.

```python
def handle(job: Job, retries: int = 3) -> Result:
    \"\"\"Run one job, retrying transient failures.\"\"\"
    for attempt in range(retries):
        try:
            return job.run()
        except TransientError as exc:
            log.warning("attempt %d failed: %s", attempt, exc)
            time.sleep(2 ** attempt)
    raise JobFailed(job.id)
```

| option  | default | meaning                   |
|---------|--------:|---------------------------|
| workers |       4 | parallel jobs             |
| timeout |      30 | seconds before a job dies |

> **Note:** a timeout of 0 disables the limit, which is rarely what you want.

```js
export async function poll(url, ms = 500) {{
  const res = await fetch(url);
  return res.ok ? res.json() : new Promise((r) => setTimeout(() => r(poll(url, ms)), ms));
}}
```

That is all for step {n}; the next one covers ~~logging~~ monitoring.

```unknownlang
raw output {n} <kept> as plain text
```

"""


def tokenize(text: str) -> list[str]:
    """Split text the way a model streams it: ~4 characters per token, nothing lost."""
    return re.findall(r"\s*\S{1,4}|\s+", text)


def reply(tokens: int) -> list[str]:
    """A realistic reply of exactly `tokens` tokens."""
    pieces: list[str] = []
    sections = 0
    while len(pieces) < tokens:
        sections += 1
        pieces += tokenize(SECTION.format(n=sections))
    return pieces[:tokens]


def long_list(tokens: int) -> list[str]:
    """Worst case: the whole reply is one flat list, so the unfinished tail keeps growing."""
    text = "".join(f"- item {i} with some words and `code`\n" for i in range(tokens))
    return tokenize(text)[:tokens]


def long_fence(tokens: int) -> list[str]:
    """Worst case: the whole reply is one code block that never closes while it streams."""
    lines = (f"def f{i}(x):\n    return x * {i} + 1  # comment\n" for i in range(tokens))
    return tokenize("```python\n" + "".join(lines) + "```\n")[:tokens]


class StreamClock:
    """Time as a model streaming 50 tokens per second sees it: arrivals plus our own CPU."""

    def __init__(self) -> None:
        self.arrivals = 0.0
        self.began = time.process_time()

    def __call__(self) -> float:
        return self.arrivals + time.process_time() - self.began


def stream(pieces: list[str], min_interval: float) -> tuple[float, int, str]:
    """CPU seconds to stream `pieces`, updates sent, and whether finish() had to resend."""
    clock = StreamClock()
    renderer = StreamRenderer(min_interval=min_interval, clock=clock)
    updates = 0
    sent = 0
    began = time.process_time()
    for piece in pieces:
        clock.arrivals += 0.02
        update = renderer.feed(piece)
        if update is not None:
            updates += 1
            sent = update.start + len(update.blocks)
    final = renderer.finish()
    cpu = time.process_time() - began
    total = final.start + len(final.blocks)
    note = "resent all" if sent and not final.start else f"streamed {sent}/{total}"
    return cpu, updates + 1, note


def naive(pieces: list[str]) -> float:
    """CPU seconds to re-render the whole reply after every token."""
    began = time.process_time()
    for end in itertools.accumulate(pieces):
        render_markdown(end)
    return time.process_time() - began


def once(pieces: list[str]) -> float:
    began = time.process_time()
    render_markdown("".join(pieces))
    return time.process_time() - began


def row(label: str, pieces: list[str], cpu: float, updates: int, note: str) -> None:
    chars = sum(map(len, pieces))
    per_token = cpu / len(pieces) * 1e6
    print(
        f"| {label:<28} | {len(pieces):>6} | {chars:>7} | {cpu:>7.3f} | {per_token:>8.1f} "
        f"| {updates:>7} | {note:<16} |"
    )


def best_stream(pieces: list[str], min_interval: float, repeat: int = REPEAT) -> tuple:
    """CPU of the fastest run, with the updates and note of the first."""
    runs = [stream(pieces, min_interval) for _ in range(repeat)]
    _, updates, note = runs[0]
    return min(cpu for cpu, _, _ in runs), updates, note


def main() -> None:
    stream(reply(500), 0.0)  # import pygments and load the lexers before measuring
    print(
        "| mode                         | tokens |   chars |   CPU s | µs/token | updates "
        "| note             |"
    )
    print("|" + "|".join(["-" * 30, "-" * 7 + ":", "-" * 8 + ":", "-" * 8 + ":"]), end="")
    print("|" + "|".join(["-" * 9 + ":", "-" * 8 + ":", "-" * 18]) + "|")
    for tokens in (1_000, 20_000):
        pieces = reply(tokens)
        row("stream, every token", pieces, *best_stream(pieces, 0.0))
        row("stream, 50 ms, 50 tok/s", pieces, *best_stream(pieces, 0.05))
        row("one full render", pieces, min(once(pieces) for _ in range(REPEAT)), 1, "reference")
        if tokens <= 1_000:
            row("naive: full render/token", pieces, naive(pieces), tokens, "quadratic")
    for tokens in (1_000, 4_000):
        for label, pieces in (
            ("one flat list", long_list(tokens)),
            ("one code block", long_fence(tokens)),
        ):
            row(f"{label}, every token", pieces, *best_stream(pieces, 0.0, 1))
            row(f"{label}, 50 ms", pieces, *best_stream(pieces, 0.05, 1))


if __name__ == "__main__":
    main()
