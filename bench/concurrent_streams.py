"""Concurrent replies over the chat WebSocket against the same replies over SSE (not a test).

Usage: .venv/bin/python bench/concurrent_streams.py [--quick] [--json PATH]

Starts one fake Ollama server (`python -m tests.fake_provider --nodelay`, 200 tokens at 5 ms
per token) and one `openchat serve` pointing at it. Each round starts `streams` clients at
once (a barrier), every one in a chat of its own created before the clock starts, and reads
one reply: over SSE (`POST /api/sessions/<id>/chat/stream` with `http.client`, as in
bench_stream.py) or over the WebSocket (`/ws/chat/<id>` with `websocket-client`, sending
`{"message"}`). Both are timed from the moment the client starts connecting, so the upgrade
is counted like the POST. WebSocket and SSE rounds alternate (which goes first alternates
too), so machine noise falls on both alike; the first round of each warms up.

For every stream: the time to its first `delta`, to the end of the reply (`done`), and the
longest gap between two arrivals that carried a delta. The fake sends a token every 5 ms, so
a gap over 20 ms is a stall: the text was held back somewhere (the relay, or a client thread
waiting for the interpreter). For every round: the serve process's CPU time (all threads,
from /proc) per stream. Numbers: docs/performance.md.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import websocket
from bench_stream import (
    HOST,
    MODEL,
    PROMPT,
    REPLY_TEXT,
    BenchError,
    Fake,
    Processes,
    Serve,
    Stream,
    alternate,
    bench_main,
    concurrent_round,
    cpu_seconds,
    machine,
    ms,
    new_sessions,
    percentile,
    progress,
    read_relayed,
    settings_text,
    start_fakes,
    start_serve,
    wait_healthy,
)

STALL = 0.020  # seconds: four tokens' time at 5 ms per token
DELTA_FRAME = '{"event":"delta"'  # a frame's start; the timed loop parses no JSON
DONE_FRAME = '{"event":"done"'


@dataclass(frozen=True)
class Config:
    streams: int
    tokens: int
    delay_ms: float
    rounds: int


FULL = Config(streams=32, tokens=200, delay_ms=5.0, rounds=5)
QUICK = Config(streams=8, tokens=100, delay_ms=5.0, rounds=1)


class Gaps:
    """The arrival times of the chunks that carried a delta."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.last = 0.0
        self.longest = 0.0
        self.arrivals = 0

    def delta(self) -> None:
        self.arrivals += 1
        now = time.perf_counter()
        if self.first is None:
            self.first = now - self.start
        else:
            self.longest = max(self.longest, now - self.last)
        self.last = now

    def timed(self, done: bool) -> Stream:
        if self.first is None:
            raise BenchError("a stream ended without a delta")
        return Stream(self.first, time.perf_counter() - self.start, self.arrivals, done,
                      longest_gap=self.longest)


def read_sse(serve: Serve, session_id: str) -> Stream:
    """bench_stream's reader: it times the first delta, the end and the longest gap."""
    return read_relayed(serve, session_id, "ollama")


def read_websocket(serve: Serve, session_id: str) -> Stream:
    gaps = Gaps()
    ws = websocket.create_connection(
        f"ws://{HOST}:{serve.port}/ws/chat/{session_id}",
        header=[f"Authorization: Bearer {serve.token}"], timeout=120,
    )
    try:
        ws.send(json.dumps({"message": PROMPT, "model": f"ollama/{MODEL}"}))
        while True:
            frame = ws.recv()
            if frame.startswith(DELTA_FRAME):
                gaps.delta()
            elif frame.startswith(DONE_FRAME):
                return gaps.timed(True)
            elif frame.startswith('{"event":"error"'):
                raise BenchError(f"a WebSocket reply failed: {frame[:300]}")
    finally:
        ws.close()


def nth(read: Callable[[Serve, str], Stream], serve: Serve, sessions: list[str],
        index: int) -> Stream:
    return read(serve, sessions[index])


def measured_round(serve: Serve, streams: int, run_one: Callable[[int], Stream],
                   cpu: list[float]) -> list[Stream]:
    """A concurrent round, adding the serve process's CPU seconds per stream to `cpu`."""
    before = cpu_seconds(serve.pid)
    runs = concurrent_round(streams, run_one)
    cpu.append((cpu_seconds(serve.pid) - before) / streams)
    return runs


def summary(runs: list[Stream], cpu: list[float]) -> dict[str, Any]:
    firsts = [run.first for run in runs]
    gaps = [run.longest_gap for run in runs]
    return {
        "first_median_ms": ms(statistics.median(firsts)),
        "first_p95_ms": ms(percentile(firsts, 0.95)),
        "first_max_ms": ms(max(firsts)),
        "reply_median_s": round(statistics.median(run.end for run in runs), 3),
        "reply_max_s": round(max(run.end for run in runs), 3),
        "longest_gap_ms": ms(max(gaps)),
        "streams_with_a_stall": sum(gap > STALL for gap in gaps),
        "serve_cpu_per_stream_ms": ms(statistics.median(cpu)),
    }


def run(config: Config, work: Path, procs: Processes) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "config": config.__dict__}
    text_file = work / "reply.md"
    text_file.write_text(REPLY_TEXT)
    fake = Fake("many", config.tokens, config.delay_ms)
    progress("starting a fake model server and openchat serve")
    start_fakes(procs, [fake], text_file)
    settings = work / "settings.toml"
    settings.write_text(settings_text([fake]))
    serve = start_serve(procs, work / "data", settings)
    wait_healthy(serve.port, serve.process, serve.log)
    over_sse: list[Stream] = []
    over_websocket: list[Stream] = []
    sse_cpu: list[float] = []
    websocket_cpu: list[float] = []
    for index in range(config.rounds + 1):  # the first pair of rounds warms up
        progress(f"round {index}/{config.rounds}: {config.streams} streams each way")
        sse_sessions = new_sessions(serve, config.streams)
        ws_sessions = new_sessions(serve, config.streams)
        sse, ws = alternate(
            index,
            partial(measured_round, serve, config.streams,
                    partial(nth, read_sse, serve, sse_sessions), sse_cpu),
            partial(measured_round, serve, config.streams,
                    partial(nth, read_websocket, serve, ws_sessions), websocket_cpu),
        )
        if index:
            over_sse += sse
            over_websocket += ws
        time.sleep(0.3)  # let the last checkpoints land before the next round
    if not all(run.done for run in over_sse + over_websocket):
        raise BenchError("a stream ended without its done event")
    results["sse"] = summary(over_sse, sse_cpu[1:])
    results["websocket"] = summary(over_websocket, websocket_cpu[1:])
    return results


def report(results: dict[str, Any]) -> str:
    config = results["config"]
    lines = [
        f"{config['streams']} concurrent streams, {config['tokens']} tokens at "
        f"{config['delay_ms']:g} ms/token, {config['rounds']} rounds each way",
        "",
        "| | first token median | p95 | max | whole reply median | max "
        "| longest gap | streams with a stall > 20 ms | serve CPU per stream |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, key in (("SSE", "sse"), ("WebSocket", "websocket")):
        r = results[key]
        lines.append(
            f"| {name} | {r['first_median_ms']} ms | {r['first_p95_ms']} ms | "
            f"{r['first_max_ms']} ms | {r['reply_median_s']} s | {r['reply_max_s']} s | "
            f"{r['longest_gap_ms']} ms | {r['streams_with_a_stall']} | "
            f"{r['serve_cpu_per_stream_ms']} ms |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        argv, name="concurrent_streams", description=__doc__,
        quick_help="8 streams, one round each way (~10 s)", quick=QUICK, full=FULL,
        run_bench=run, report_results=report,
    )


if __name__ == "__main__":
    sys.exit(main())
