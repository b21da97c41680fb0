"""The OpenAI-compatible endpoint against reading the model server directly (not a test).

Usage: .venv/bin/python bench/openai_endpoint.py [--quick] [--json PATH]

The benchmark starts fake OpenAI-compatible servers (`python -m tests.fake_provider
--nodelay`, one per reply length) and one `openchat serve` whose settings name each of them
as a provider of kind `openai`. Every measurement reads the same streamed reply three ways,
in turn and in a rotating order, so machine noise falls on all alike: the fake read directly,
`POST /v1/chat/completions` of openchat recorded as a chat (the default), and the same with
`"store": false` (streamed from the provider in the request thread, nothing written). All
three use the official `openai` client, streaming, one client per way (its connection pool
kept warm as an editor's would be). Time to first token is from the call to the first
content chunk; tokens/s counts content chunks from the first to the last.

Numbers and what they mean: docs/performance.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import openai
from bench_stream import (
    MODEL,
    REPLY_TEXT,
    BenchError,
    Fake,
    Processes,
    bench_main,
    machine,
    percentile,
    progress,
    start_fakes,
    start_serve,
    wait_healthy,
)

PROMPT = "Explain how to configure the worker, with an example."
WAYS = ("direct", "recorded", "not_recorded")


@dataclass(frozen=True)
class Config:
    ttft_runs: int
    warmup: int
    stream_tokens: int
    stream_reps: int


FULL = Config(ttft_runs=50, warmup=5, stream_tokens=5_000, stream_reps=5)
QUICK = Config(ttft_runs=12, warmup=2, stream_tokens=2_000, stream_reps=2)


@dataclass
class Read:
    ttft: float  # seconds from the call to the first content chunk
    tokens: int
    seconds: float  # from the first content chunk to the last

    @property
    def rate(self) -> float:
        return (self.tokens - 1) / self.seconds if self.seconds > 0 else float("nan")


def settings_text(fakes: list[Fake]) -> str:
    lines = [f'default_model = "{fakes[0].name}/{MODEL}"']
    for fake in fakes:
        lines += ["", "[[providers]]", f'id = "{fake.name}"', 'kind = "openai"',
                  f'base_url = "{fake.url}/v1"']
    return "\n".join(lines) + "\n"


def read(client: openai.OpenAI, model: str, extra: dict[str, Any]) -> Read:
    began = time.perf_counter()
    first = last = 0.0
    tokens = 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], stream=True,
        extra_body=extra or None)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            if not tokens:
                first = last
            tokens += 1
    return Read(first - began, tokens, last - first)


def rotate(index: int, runs: dict[str, Any]) -> dict[str, Read]:
    """Each way once, the order shifted every time so no way always follows another."""
    order = WAYS[index % 3:] + WAYS[:index % 3]
    return {way: runs[way]() for way in order}


def summary(values: list[float], scale: float = 1.0, *, tail: float = 0.95
            ) -> dict[str, float]:
    """The median and the bad tail: the 95th percentile of a time, the 5th of a rate."""
    return {"median": round(statistics.median(values) * scale, 2),
            "tail": round(percentile(values, tail) * scale, 2)}


def measure(ways: dict[str, Any], runs: int, warmup: int) -> dict[str, dict[str, Any]]:
    reads: dict[str, list[Read]] = {way: [] for way in WAYS}
    for index in range(warmup + runs):
        for way, result in rotate(index, ways).items():
            if index >= warmup:
                reads[way].append(result)
    counts = {way: {r.tokens for r in results} for way, results in reads.items()}
    if len({frozenset(c) for c in counts.values()}) != 1:
        raise BenchError(f"the ways read different numbers of tokens: {counts}")
    return {way: {"ttft_ms": summary([r.ttft for r in results], 1000),
                  "tokens_per_s": summary([r.rate for r in results], tail=0.05),
                  "tokens": results[0].tokens}
            for way, results in reads.items()}


def run(config: Config, work: Path, procs: Processes) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "config": config.__dict__}
    text_file = work / "reply.md"
    text_file.write_text(REPLY_TEXT)
    short, long = Fake("short", 64, 0.0), Fake("long", config.stream_tokens, 0.0)
    progress("starting 2 fake model servers and openchat serve")
    start_fakes(procs, [short, long], text_file)
    settings = work / "settings.toml"
    settings.write_text(settings_text([short, long]))
    serve = start_serve(procs, work / "data", settings)
    wait_healthy(serve.port, serve.process, serve.log)
    relay = openai.OpenAI(base_url=f"http://127.0.0.1:{serve.port}/v1", api_key=serve.token,
                          max_retries=0)
    for step, (fake, runs, warmup) in enumerate(
            [(short, config.ttft_runs, config.warmup), (long, config.stream_reps, 1)], 1):
        direct = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="unused", max_retries=0)
        model = f"{fake.name}/{MODEL}"
        ways = {
            "direct": partial(read, direct, MODEL, {}),
            "recorded": partial(read, relay, model, {}),
            "not_recorded": partial(read, relay, model, {"store": False}),
        }
        progress(f"{step}/2 {fake.tokens:,}-token reply, {runs} runs each way")
        results[fake.name] = measure(ways, runs, warmup)
    return results


def added(results: dict[str, Any], reply: str, way: str, key: str, stat: str) -> float:
    return round(results[reply][way][key][stat] - results[reply]["direct"][key][stat], 2)


def report(results: dict[str, Any]) -> str:
    lines = ["# OpenAI-compatible endpoint vs the provider read directly", ""]
    for reply in ("short", "long"):
        tokens = results[reply]["direct"]["tokens"]
        lines += [f"## {tokens:,}-token reply", "",
                  "| way | TTFT median ms | TTFT p95 ms | tokens/s median | tokens/s p5 |",
                  "|---|---|---|---|---|"]
        for way in WAYS:
            entry = results[reply][way]
            lines.append(f"| {way} | {entry['ttft_ms']['median']} | {entry['ttft_ms']['tail']} "
                         f"| {entry['tokens_per_s']['median']:,} "
                         f"| {entry['tokens_per_s']['tail']:,} |")
        for way in WAYS[1:]:
            lines.append(f"\n{way}: added TTFT median "
                         f"{added(results, reply, way, 'ttft_ms', 'median')} ms, p95 "
                         f"{added(results, reply, way, 'ttft_ms', 'tail')} ms; tokens/s median "
                         f"{added(results, reply, way, 'tokens_per_s', 'median')}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        argv, name="openai_endpoint", description=__doc__,
        quick_help="fewer and shorter runs (~20 s)", quick=QUICK, full=FULL, run_bench=run,
        report_results=report,
    )


if __name__ == "__main__":
    sys.exit(main())
