"""Streaming through `openchat serve` against reading the model server directly (not a test).

Usage: .venv/bin/python bench/bench_stream.py [--quick] [--json PATH]

The benchmark starts fake Ollama servers (`python -m tests.fake_provider --nodelay`, one per
reply shape; TCP_NODELAY as Ollama's Go server has) and one `openchat serve` whose settings
point a provider at each of them. Every
streaming measurement alternates a direct read of the fake (POST /api/chat, NDJSON) with the
same reply read through openchat (POST /api/sessions/<id>/chat/stream, SSE), so machine noise
falls on both alike, and reports the relayed figure against the direct one. Both sides use
the same client: `http.client`, a new connection per stream, counting token lines in the
bytes as they arrive and noting when the first and last tokens and the end arrived. Each
relayed run uses a chat of its own, created before the clock starts, so every run is a chat's
first message with the same one-message context.

It measures the first token, `done` after the last token, tokens/s (also after the first
token), serve CPU per token at 0 and at 5 ms/token, 32 streams at once (first token, stalls,
every stream's text checked) and the threads and memory a burst leaves behind; then it times
fresh start-ups and reads the idle memory of a server whose database holds 10,000 messages.
Every figure is reported against its target. Numbers and what they mean: docs/performance.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL = "llama3.2:3b"
HOST = "127.0.0.1"
READY = re.compile(r"OpenChat is serving at http://127\.0\.0\.1:(\d+)/\?token=(\S+)")
FAKE_READY = re.compile(r"Ollama at http://127\.0\.0\.1:(\d+)")
DIRECT_TOKEN = b'"done": false'  # one per content line of the fake's NDJSON
DIRECT_DONE = b'"done": true'  # the fake's last line: the reply ended
RELAYED_TOKEN = b"event: delta\n"  # one per delta event of openchat's SSE
RELAYED_DONE = b"event: done\n"  # the reply ended complete
TOKEN_CHARS = 4  # non-space characters per token at most, about what models stream
PROMPT = "Explain how to configure the worker, with an example."
CLK_TCK = os.sysconf("SC_CLK_TCK")
SETTLE_S = 0.25  # after a paced reply, before its CPU is read: an idle server uses none

# Replies are this text, cut into ~4-character tokens and repeated as needed: paragraphs,
# lists, inline code and a fenced block now and then, like a model's answer.
REPLY_TEXT = """\
Sure! Here is how the worker is configured, step by step.

The worker reads its settings **once** at start-up, so a reload never races with a job
that is already running. Each option has a sensible default; you only set what differs.

1. Install the package with `pip install worker`.
2. Create `worker.toml` next to your project and set `workers = 4`.
3. Restart the service so it picks up the change.

A minimal handler looks like this:

```python
def handle(job: Job, retries: int = 3) -> Result:
    for attempt in range(retries):
        try:
            return job.run()
        except TransientError:
            time.sleep(2 ** attempt)
    raise JobFailed(job.id)
```

Keep the handler small: anything slow belongs in the job itself, where a timeout can
stop it. If a job fails three times it is marked *failed* and kept for inspection.

- `timeout` is in seconds; 0 disables it, which is rarely what you want.
- `workers` should not exceed the number of cores.
- Logs go to standard output unless `log_file` is set.

That is all you need for a first run; the next section covers monitoring.

"""

TARGETS = {
    "ttft_added_median_ms": 3.0,
    "done_after_last_ms": 1.0,  # median, one stream at a time
    "concurrent_done_after_last_ms": 5.0,  # median, pooled over the concurrent streams
    "paced_cpu_us_per_token": 230.0,
    "relayed_tokens_per_s": 20_000.0,
    "relayed_tokens_per_s_after_first": 64_000.0,
    "cpu_growth": 1.5,
    "concurrent_added_p95_ms": 50.0,
    "concurrent_added_max_ms": 100.0,
    "stall_ms": 20.0,  # four tokens' time at 5 ms per token
    "startup_s": 1.0,
    "idle_pss_mb": 60.0,
    "threads_back_within": 3,  # threads after the idle wait, at most this many above before
}


class BenchError(RuntimeError):
    """Something the benchmark depends on did not work; the message says what."""


@dataclass(frozen=True)
class Config:
    ttft_runs: int
    warmup: int
    stream_tokens: int
    stream_reps: int
    cpu_sizes: tuple[int, ...]
    cpu_reps: int
    streams: int
    stream_len: int
    stream_delay_ms: float
    concurrent_rounds: int
    paced_tokens: int
    paced_delay_ms: float
    paced_pairs: int
    idle_wait_s: float
    startups: int
    messages: int


FULL = Config(
    ttft_runs=50,
    warmup=5,
    stream_tokens=20_000,
    stream_reps=3,
    cpu_sizes=(1_000, 5_000, 10_000, 20_000),
    cpu_reps=3,
    streams=32,
    stream_len=200,
    stream_delay_ms=5.0,
    concurrent_rounds=3,
    paced_tokens=500,
    paced_delay_ms=5.0,
    paced_pairs=6,
    idle_wait_s=20.0,
    startups=5,
    messages=10_000,
)
QUICK = Config(
    ttft_runs=15,
    warmup=2,
    stream_tokens=5_000,
    stream_reps=1,
    cpu_sizes=(1_000, 5_000),
    cpu_reps=1,
    streams=8,
    stream_len=100,
    stream_delay_ms=5.0,
    concurrent_rounds=1,
    paced_tokens=500,
    paced_delay_ms=5.0,
    paced_pairs=2,
    idle_wait_s=16.0,
    startups=2,
    messages=2_000,
)


# --- statistics ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def spread_ms(seconds: list[float]) -> dict[str, float]:
    """Median, p95 and max of durations, in ms."""
    return {
        "median_ms": ms(statistics.median(seconds)),
        "p95_ms": ms(percentile(seconds, 0.95)),
        "max_ms": ms(max(seconds)),
    }


# --- processes -------------------------------------------------------------------------------


class Processes:
    """Every child the benchmark starts; all are stopped on exit, whatever the exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._children: list[subprocess.Popen[str]] = []
        self._count = 0

    def spawn(self, args: list[str], name: str) -> tuple[subprocess.Popen[str], Path]:
        self._count += 1
        log = self.logs / f"{self._count:02d}-{name}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("OPENCHAT_TOKEN", "OLLAMA_HOST")}
        env["PYTHONUNBUFFERED"] = "1"
        with open(log, "w") as stderr:
            child = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,  # Ctrl+C reaches the benchmark, which stops them all
            )
        self._children.append(child)
        return child, log

    def stop(self, child: subprocess.Popen[str], timeout: float = 5.0) -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if child.stdout is not None:
            child.stdout.close()
        if child in self._children:
            self._children.remove(child)

    def stop_all(self) -> None:
        for child in list(self._children):
            if child.poll() is None:
                child.terminate()
        for child in list(self._children):
            self.stop(child, timeout=3.0)


def read_line(child: subprocess.Popen[str], pattern: re.Pattern[str], log: Path,
              timeout: float = 30.0) -> re.Match[str]:
    """Wait for the child's stdout line matching `pattern`, then keep draining its stdout."""
    stdout = child.stdout
    assert stdout is not None
    found: list[re.Match[str]] = []
    seen = threading.Event()

    def drain(out: IO[str]) -> None:
        try:
            for line in out:
                match = pattern.search(line)
                if match and not found:
                    found.append(match)
                    seen.set()
        except (OSError, ValueError):
            pass  # closed when the child is stopped
        seen.set()

    threading.Thread(target=drain, args=(stdout,), daemon=True).start()
    seen.wait(timeout)
    if not found:
        tail = log.read_text(errors="replace")[-2000:]
        raise BenchError(f"{' '.join(child.args)} did not get ready:\n{tail}")  # type: ignore[arg-type]
    return found[0]


@dataclass
class Fake:
    name: str
    tokens: int
    delay_ms: float
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def start_fakes(procs: Processes, fakes: list[Fake], text_file: Path) -> None:
    started = []
    for fake in fakes:
        args = [
            sys.executable, "-m", "tests.fake_provider", "--port", "0",
            "--tokens", str(fake.tokens), "--delay-ms", str(fake.delay_ms), "--models", MODEL,
            "--text-file", str(text_file), "--token-chars", str(TOKEN_CHARS), "--nodelay",
        ]
        started.append((fake, *procs.spawn(args, f"fake-{fake.name}")))
    for fake, child, log in started:
        fake.port = int(read_line(child, FAKE_READY, log).group(1))


@dataclass
class Serve:
    process: subprocess.Popen[str]
    log: Path
    port: int
    token: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def settings_text(fakes: list[Fake]) -> str:
    """The first fake is provider `ollama` (the default model); the others are named after
    their reply shape."""
    lines = [f'default_model = "ollama/{MODEL}"']
    for index, fake in enumerate(fakes):
        provider = "ollama" if index == 0 else fake.name
        lines += ["", "[[providers]]", f'id = "{provider}"', 'kind = "ollama"',
                  f'base_url = "{fake.url}"']
    return "\n".join(lines) + "\n"


def serve_args(data_dir: Path, settings: Path, port: int = 0) -> list[str]:
    return [
        sys.executable, "-m", "openchat_desktop", "serve", "--port", str(port),
        "--data-dir", str(data_dir), "--settings", str(settings),
    ]


def start_serve(procs: Processes, data_dir: Path, settings: Path) -> Serve:
    child, log = procs.spawn(serve_args(data_dir, settings), "serve")
    match = read_line(child, READY, log)
    return Serve(child, log, int(match.group(1)), match.group(2))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- /proc -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private pages) from smaps_rollup, and peak RSS, in MB (10^6 bytes)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            values[name] = int(parts[0])
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    uss = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {
        "rss_mb": round(values.get("Rss", 0) * 1024 / 1e6, 1),
        "pss_mb": round(values.get("Pss", 0) * 1024 / 1e6, 1),
        "uss_mb": round(uss * 1024 / 1e6, 1),
        "peak_rss_mb": round(peak * 1024 / 1e6, 1),
    }


def thread_count(pid: int) -> int:
    """The process's threads now, from the `Threads:` line of /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no thread count")


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    first: float  # seconds from the request's start to the first whole token
    end: float  # seconds from the request's start to the end of the body
    tokens: int  # token lines (direct) or delta events (relayed)
    done: bool = False  # the relayed stream ended with its `done` event
    last: float = 0.0  # seconds from the request's start to the last token's arrival
    finished: float | None = None  # ... to the end marker's arrival (`done`, `"done": true`)
    longest_gap: float = 0.0  # longest wait between two arrivals of tokens, after the first
    body: bytes = b""  # the raw body, when the reader was asked to keep it

    @property
    def done_after_last(self) -> float:
        """Seconds from the last token's arrival to the end marker's."""
        if self.finished is None:
            raise BenchError("a stream ended without its end marker")
        return self.finished - self.last

    def check(self, name: str, expected: int) -> None:
        """All the reply arrived. Direct: one line per token. Relayed: the `done` event and at
        most one delta per token, because deltas logged before a client attaches reach it
        as one compacted event (its text exact; the first check compares the text)."""
        relayed = self.done or self.tokens != expected
        if (self.tokens != expected and not relayed) or (
            relayed and not (self.done and 0 < self.tokens <= expected)
        ):
            raise BenchError(f"{name}: {self.tokens} tokens (done: {self.done}), "
                             f"expected {expected}")


def read_stream(port: int, path: str, body: bytes, headers: dict[str, str], marker: bytes,
                boundary: bytes, on_chunk: Callable[[bytes], None] | None = None,
                end_marker: bytes = RELAYED_DONE, keep: bool = False) -> Stream:
    """POST and read the streamed body as it arrives, counting `marker` in every part that
    ends at a `boundary` (a line for NDJSON, an event for SSE) and noting when `end_marker`
    arrives. Every time is taken when the read that brought the bytes returns. `keep` keeps
    the raw body for checks made after the clock stops."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    chunks: list[bytes] = []
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise BenchError(f"POST {path} -> {response.status}: {response.read()[:500]!r}")
        first: float | None = None
        last = 0.0
        longest_gap = 0.0
        finished: float | None = None
        tokens = 0
        carry = b""
        while data := response.read1(65536):
            now = time.perf_counter() - start
            if on_chunk is not None:
                on_chunk(data)
            if keep:
                chunks.append(data)
            if carry:
                data = carry + data
            cut = data.rfind(boundary)
            if cut < 0:
                carry = data
                continue
            cut += len(boundary)
            count = data.count(marker, 0, cut)
            if finished is None and data.find(end_marker, 0, cut) >= 0:
                finished = now
            carry = data[cut:]
            if count:
                if first is None:
                    first = now
                else:
                    longest_gap = max(longest_gap, now - last)
                last = now
            tokens += count
        end = time.perf_counter() - start
    finally:
        connection.close()
    if first is None:
        raise BenchError(f"POST {path}: the stream ended without a token")
    done = finished is not None and end_marker == RELAYED_DONE
    return Stream(first, end, tokens, done, last, finished, longest_gap, b"".join(chunks))


def direct_body(prompt: str = PROMPT) -> bytes:
    request = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True}
    return json.dumps(request).encode()


def read_direct(fake: Fake, keep: bool = False) -> Stream:
    headers = {"Content-Type": "application/json"}
    return read_stream(fake.port, "/api/chat", direct_body(), headers, DIRECT_TOKEN, b"\n",
                       end_marker=DIRECT_DONE, keep=keep)


def read_relayed(serve: Serve, session_id: str, provider: str, keep: bool = False) -> Stream:
    body = json.dumps({"message": PROMPT, "model": f"{provider}/{MODEL}"}).encode()
    return read_stream(serve.port, f"/api/sessions/{session_id}/chat/stream", body,
                       serve.headers(), RELAYED_TOKEN, b"\n\n", keep=keep)


def api(serve: Serve, method: str, path: str, body: object = None) -> Any:
    connection = http.client.HTTPConnection(HOST, serve.port, timeout=60)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers=serve.headers())
        response = connection.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise BenchError(f"{method} {path} -> {response.status}: {payload[:500]!r}")
        return json.loads(payload) if payload else None
    finally:
        connection.close()


def new_sessions(serve: Serve, count: int) -> list[str]:
    return [api(serve, "POST", "/api/sessions", {})["id"] for _ in range(count)]


T = TypeVar("T")


def alternate(index: int, direct: Callable[[], T], relayed: Callable[[], T]) -> tuple[T, T]:
    """Run both; which goes first alternates, so neither always follows the other."""
    if index % 2 == 0:
        first = direct()
        return first, relayed()
    second = relayed()
    return direct(), second


# --- checks ----------------------------------------------------------------------------------


def direct_text(stream: Stream) -> str:
    """The text of a kept direct body: every NDJSON line's content, in order."""
    return "".join(
        json.loads(line)["message"]["content"] for line in stream.body.splitlines() if line.strip()
    )


def check_relayed(stream: Stream, expected_text: str, name: str) -> int:
    """A kept relayed body is exact: its deltas add up to `expected_text` and it ends with a
    `done` whose message is complete. Returns the number of delta events."""
    text = []
    final = None
    for block in stream.body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "delta":
            text.append(json.loads(fields["data"])["text"])
        elif fields.get("event") in ("done", "error"):
            final = (fields["event"], json.loads(fields["data"]))
    if final is None or final[0] != "done" or final[1]["message"]["status"] != "complete":
        raise BenchError(f"{name}: the relayed reply did not end with a complete message: "
                         f"{final}")
    if "".join(text) != expected_text:
        raise BenchError(f"{name}: the relayed text differs from the direct text")
    return len(text)


def check_same_text(serve: Serve, fake: Fake, provider: str) -> int:
    """Parse one reply fully on both sides: the relayed deltas must add up to the direct text."""
    expected = direct_text(read_direct(fake, keep=True))
    (session_id,) = new_sessions(serve, 1)
    return check_relayed(read_relayed(serve, session_id, provider, keep=True), expected,
                         "the first reply")


# --- measurements ----------------------------------------------------------------------------


def measure_ttft(serve: Serve, fake: Fake, config: Config) -> dict[str, Any]:
    direct: list[float] = []
    relayed: list[float] = []
    done_after: dict[str, list[float]] = {"direct": [], "relayed": []}
    sessions = iter(new_sessions(serve, config.ttft_runs + config.warmup))
    for index in range(config.warmup + config.ttft_runs):
        d, r = alternate(
            index, lambda: read_direct(fake), lambda: read_relayed(serve, next(sessions), "ollama")
        )
        if index >= config.warmup:
            direct.append(d.first)
            relayed.append(r.first)
            done_after["direct"].append(d.done_after_last)
            done_after["relayed"].append(r.done_after_last)
    paired = [r - d for r, d in zip(relayed, direct, strict=True)]
    return {
        "runs": config.ttft_runs,
        "reply_tokens": fake.tokens,
        "direct_median_ms": ms(statistics.median(direct)),
        "direct_p95_ms": ms(percentile(direct, 0.95)),
        "relayed_median_ms": ms(statistics.median(relayed)),
        "relayed_p95_ms": ms(percentile(relayed, 0.95)),
        "added_median_ms": ms(statistics.median(relayed) - statistics.median(direct)),
        "added_p95_ms": ms(percentile(relayed, 0.95) - percentile(direct, 0.95)),
        "paired_difference_median_ms": ms(statistics.median(paired)),
        "done_after_last": {side: spread_ms(values) for side, values in done_after.items()},
    }


def measure_throughput(serve: Serve, fake: Fake, provider: str, reps: int) -> dict[str, Any]:
    direct: list[float] = []
    relayed: list[float] = []
    direct_after_first: list[float] = []
    relayed_after_first: list[float] = []
    sessions = iter(new_sessions(serve, reps + 1))
    for index in range(reps + 1):  # the first pair warms up
        d, r = alternate(
            index, lambda: read_direct(fake), lambda: read_relayed(serve, next(sessions), provider)
        )
        d.check("direct", fake.tokens)
        r.check("relayed", fake.tokens)
        if index:
            direct.append(fake.tokens / d.end)
            relayed.append(fake.tokens / r.end)
            direct_after_first.append(fake.tokens / (d.end - d.first))
            relayed_after_first.append(fake.tokens / (r.end - r.first))
    return {
        "tokens": fake.tokens,
        "reps": reps,
        "direct_tokens_per_s": round(statistics.median(direct)),
        "relayed_tokens_per_s": round(statistics.median(relayed)),
        "relayed_over_direct": round(statistics.median(relayed) / statistics.median(direct), 3),
        "direct_after_first_tokens_per_s": round(statistics.median(direct_after_first)),
        "relayed_after_first_tokens_per_s": round(statistics.median(relayed_after_first)),
    }


def measure_cpu(serve: Serve, providers: dict[int, str], reps: int) -> dict[str, Any]:
    rows = []
    for size, provider in sorted(providers.items()):
        sessions = iter(new_sessions(serve, reps))
        cpu = 0.0
        wall: list[float] = []
        for _ in range(reps):
            before = cpu_seconds(serve.pid)
            stream = read_relayed(serve, next(sessions), provider)
            cpu += cpu_seconds(serve.pid) - before
            stream.check("relayed", size)
            wall.append(stream.end)
        rows.append({
            "tokens": size,
            "reps": reps,
            "cpu_s_per_reply": round(cpu / reps, 3),
            "cpu_us_per_token": round(cpu / (reps * size) * 1e6, 1),
            "relayed_tokens_per_s": round(size / statistics.median(wall)),
            "rss_mb_after": memory_mb(serve.pid)["rss_mb"],
        })
    growth = rows[-1]["cpu_us_per_token"] / rows[0]["cpu_us_per_token"]
    return {"sizes": rows, "growth": round(growth, 2), "clock_tick_s": 1 / CLK_TCK}


def measure_paced(serve: Serve, fake: Fake, provider: str, config: Config) -> dict[str, Any]:
    """Whole replies at a model's pace: the serve process's CPU per token and how long `done`
    follows the last token, one stream at a time. The CPU is read from before the request to
    SETTLE_S after the body ends, so work the server does after `done` (a final save) counts."""
    direct: list[Stream] = []
    relayed: list[Stream] = []
    used: list[float] = []  # serve CPU seconds of every relayed run, the warm-up's first
    sessions = iter(new_sessions(serve, config.paced_pairs + 1))

    def relayed_run() -> Stream:
        before = cpu_seconds(serve.pid)
        stream = read_relayed(serve, next(sessions), provider, keep=True)
        time.sleep(SETTLE_S)
        used.append(cpu_seconds(serve.pid) - before)
        return stream

    for index in range(config.paced_pairs + 1):  # the first pair warms up
        d, r = alternate(index, lambda: read_direct(fake, keep=True), relayed_run)
        d.check("direct", fake.tokens)
        check_relayed(r, direct_text(d), "a paced reply")
        if index:
            direct.append(d)
            relayed.append(r)
    cpu = used[1:]
    per_token = [used / fake.tokens for used in cpu]
    return {
        "tokens": fake.tokens,
        "delay_ms": fake.delay_ms,
        "pairs": config.paced_pairs,
        "cpu_us_per_token": round(statistics.median(per_token) * 1e6, 1),
        "cpu_us_per_token_pooled": round(sum(cpu) / (len(cpu) * fake.tokens) * 1e6, 1),
        "cpu_us_per_token_runs": [round(value * 1e6, 1) for value in per_token],
        "direct_reply_s": round(statistics.median(s.end for s in direct), 3),
        "relayed_reply_s": round(statistics.median(s.end for s in relayed), 3),
        "done_after_last": {
            "direct": spread_ms([s.done_after_last for s in direct]),
            "relayed": spread_ms([s.done_after_last for s in relayed]),
        },
        "longest_gap": {
            "direct": spread_ms([s.longest_gap for s in direct]),
            "relayed": spread_ms([s.longest_gap for s in relayed]),
        },
        "clock_tick_s": 1 / CLK_TCK,
    }


def concurrent_round(streams: int, run: Callable[[int], Stream]) -> list[Stream]:
    """Start `streams` readers at once; each returns its Stream."""
    barrier = threading.Barrier(streams)
    results: list[Stream | BaseException | None] = [None] * streams

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = run(index)
        except BaseException as exc:  # reported below, in the main thread
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if not isinstance(result, Stream):
            raise BenchError(f"a concurrent stream failed: {result!r}")
    return [r for r in results if isinstance(r, Stream)]


def relay_nth(serve: Serve, sessions: list[str], provider: str, index: int) -> Stream:
    return read_relayed(serve, sessions[index], provider, keep=True)


def measure_concurrency(serve: Serve, fake: Fake, provider: str, config: Config) -> dict:
    direct: list[Stream] = []
    relayed: list[Stream] = []
    for index in range(config.concurrent_rounds + 1):  # the first pair of rounds warms up
        sessions = new_sessions(serve, config.streams)
        d, r = alternate(
            index,
            partial(concurrent_round, config.streams, lambda i: read_direct(fake, keep=True)),
            partial(concurrent_round, config.streams,
                    partial(relay_nth, serve, sessions, provider)),
        )
        if index:
            direct += d
            relayed += r
        time.sleep(0.3)  # let the last checkpoints land before the next round
    expected = direct_text(direct[0])
    for stream in direct:
        stream.check("a concurrent stream", fake.tokens)
        if direct_text(stream) != expected:
            raise BenchError("two direct reads of the same fake gave different texts")
    for stream in relayed:
        stream.check("a concurrent stream", fake.tokens)
        check_relayed(stream, expected, "a concurrent stream")
    result: dict[str, Any] = {
        "streams": config.streams,
        "rounds": config.concurrent_rounds,
        "tokens": fake.tokens,
        "delay_ms": fake.delay_ms,
    }
    for name, runs in (("direct", direct), ("relayed", relayed)):
        firsts = [s.first for s in runs]
        gaps = [s.longest_gap for s in runs]
        result[f"{name}_median_ms"] = ms(statistics.median(firsts))
        result[f"{name}_p95_ms"] = ms(percentile(firsts, 0.95))
        result[f"{name}_max_ms"] = ms(max(firsts))
        result[f"{name}_stream_median_s"] = round(statistics.median(s.end for s in runs), 3)
        result[f"{name}_longest_gap_max_ms"] = ms(max(gaps))
        result[f"{name}_longest_gap_median_ms"] = ms(statistics.median(gaps))
        result[f"{name}_streams_with_a_stall"] = sum(
            gap * 1000 > TARGETS["stall_ms"] for gap in gaps
        )
        result[f"{name}_done_after_last"] = spread_ms([s.done_after_last for s in runs])
    for stat in ("median", "p95", "max"):
        result[f"added_{stat}_ms"] = round(
            result[f"relayed_{stat}_ms"] - result[f"direct_{stat}_ms"], 2
        )
    return result


def process_state(pid: int) -> dict[str, Any]:
    """The serve process's thread count and memory, for the before/after of a burst."""
    return {"threads": thread_count(pid), **memory_mb(pid)}


def measure_burst(serve: Serve, fake: Fake, provider: str, config: Config) -> dict[str, Any]:
    """The concurrent rounds, with the serve process's threads and memory before them, right
    after them and after `idle_wait_s` of idling: what a burst leaves behind."""
    before = process_state(serve.pid)
    concurrency = measure_concurrency(serve, fake, provider, config)
    after = process_state(serve.pid)
    time.sleep(config.idle_wait_s)
    return {
        "concurrency": concurrency,
        "after_burst": {"before": before, "right_after": after,
                        "after_wait": process_state(serve.pid), "wait_s": config.idle_wait_s},
    }


def wait_healthy(port: int, child: subprocess.Popen[str] | None = None, log: Path | None = None,
                 timeout: float = 30.0, path: str = "/api/health",
                 what: str = "openchat serve") -> None:
    """Poll `path` until it answers 200; a BenchError naming `what` when it never does, or
    with the end of its log when `child` exits first."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if child is not None and child.poll() is not None:
            said = log.read_text(errors="replace")[-2000:] if log is not None else ""
            raise BenchError(f"{what} exited:\n{said}")
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.002)
    raise BenchError(f"{what} did not answer {path} in time")


def measure_startup(procs: Processes, work: Path, settings: Path, runs: int) -> dict[str, Any]:
    times = []
    memory: dict[str, float] = {}
    for index in range(runs):
        port = free_port()
        began = time.perf_counter()
        child, log = procs.spawn(serve_args(work / f"start-{index}", settings, port), "start")
        wait_healthy(port, child, log)
        times.append(time.perf_counter() - began)
        if index == runs - 1:
            time.sleep(2.0)
            memory = memory_mb(child.pid)
        procs.stop(child)
    return {
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "idle_empty_memory": memory,
    }


def fill_store(data_dir: Path, total: int) -> tuple[str, float]:
    """A database of `total` messages: one long chat with most of them and 100 short ones.
    Returns the long chat's id and the seconds it took."""
    from openchat_desktop import paths
    from openchat_desktop.store import Store

    began = time.perf_counter()
    store = Store(paths.database_path(data_dir))
    try:
        short_chats, short_length = 100, 20
        if total < short_chats * short_length * 2:
            short_chats = 0
        long_length = total - short_chats * short_length
        sections = REPLY_TEXT.split("\n\n")

        def add_chat(title: str, length: int) -> str:
            session = store.create_session(title=title, model=f"ollama/{MODEL}")
            parent = None
            for i in range(length):
                if i % 2 == 0:
                    role, text = "user", f"Question {i}: how do I set up the worker for case {i}?"
                else:
                    # a few paragraphs of the reply, varying in length and start
                    start = i % len(sections)
                    text = "\n\n".join(sections[start:] + sections[:start][: i % 3])
                    role = "assistant"
                parent = store.add_message(session_id=session.id,
                                           parent_id=parent.id if parent else None,
                                           role=role, content=text)
            return session.id

        for chat in range(short_chats):
            add_chat(f"Short chat {chat}", short_length)
        long_id = add_chat("The long chat", long_length)
        if store.count_messages() != total:
            raise BenchError(f"the store holds {store.count_messages()} messages, not {total}")
    finally:
        store.close()
    return long_id, time.perf_counter() - began


def measure_memory(procs: Processes, work: Path, settings: Path, total: int) -> dict[str, Any]:
    data_dir = work / "big"
    long_id, fill_s = fill_store(data_dir, total)
    serve = start_serve(procs, data_dir, settings)
    try:
        before = memory_mb(serve.pid)
        sessions = api(serve, "GET", "/api/sessions")["sessions"]
        page = api(serve, "GET", f"/api/sessions/{long_id}/messages?limit=50")
        if len(page["messages"]) != 50:
            raise BenchError(f"expected 50 messages, got {len(page['messages'])}")
        models = api(serve, "GET", "/api/models")
        if not models["models"]:
            raise BenchError(f"/api/models listed nothing: {models}")
        time.sleep(2.0)
        after = memory_mb(serve.pid)
    finally:
        procs.stop(serve.process)
    return {
        "messages": total,
        "sessions": len(sessions),
        "fill_s": round(fill_s, 1),
        "database_mb": round(sum(
            p.stat().st_size for p in data_dir.iterdir() if p.name.startswith("openchat.sqlite3")
        ) / 1e6, 1),
        "at_ready": before,
        "idle": after,
    }


# --- report ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    mhz = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and cpu == "unknown":
            cpu = line.split(":", 1)[1].strip()
        if line.startswith("cpu MHz") and not mhz:
            mhz = line.split(":", 1)[1].strip()
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    system = platform.platform()
    os_release = Path("/etc/os-release")
    if os_release.exists():
        for line in os_release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    return {
        "cpu": cpu,
        "cpu_mhz": mhz,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": system,
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def signed(value: float) -> str:
    return f"+{value}" if value >= 0 else f"{value}"


def done_rows(label: str, spread: dict[str, dict[str, float]], target: str,
              limit: float) -> list[str]:
    """Median, p95 and max of `done` after the last token; the verdict is the median's."""
    direct, relayed = spread["direct"], spread["relayed"]
    rows = []
    for stat in ("median", "p95", "max"):
        key = f"{stat}_ms"
        judged = f"| {target} | {verdict(relayed[key] <= limit)} |" if stat == "median" else "| | |"
        rows.append(f"| `done` after the last token, {label}, {stat} | {direct[key]} ms "
                    f"| {relayed[key]} ms | {signed(round(relayed[key] - direct[key], 2))} ms "
                    + judged)
    return rows


def target_rows(results: dict[str, Any]) -> list[str]:
    """One row per measure, in the order of the targets, each with its verdict."""
    lines = []
    t = results.get("ttft")
    if t:
        lines.append(
            f"| time to first token, median of {t['runs']} | {t['direct_median_ms']} ms "
            f"| {t['relayed_median_ms']} ms | +{t['added_median_ms']} ms | ≤ 3 ms added "
            f"| {verdict(t['added_median_ms'] <= TARGETS['ttft_added_median_ms'])} |"
        )
        lines.append(
            f"| time to first token, p95 | {t['direct_p95_ms']} ms | {t['relayed_p95_ms']} ms "
            f"| +{t['added_p95_ms']} ms | | |"
        )
    p = results.get("paced")
    if p:
        lines += done_rows(f"one stream, {p['tokens']} tokens at {p['delay_ms']:g} ms/token",
                           p["done_after_last"], "≤ 1 ms", TARGETS["done_after_last_ms"])
    if t:
        d, r = t["done_after_last"]["direct"], t["done_after_last"]["relayed"]
        lines.append(
            f"| `done` after the last token, one stream, {t['reply_tokens']} tokens at "
            f"0 ms/token, median (p95) | {d['median_ms']} ({d['p95_ms']}) ms "
            f"| {r['median_ms']} ({r['p95_ms']}) ms | | | |"
        )
    k = results.get("concurrency")
    if k:
        lines += done_rows(f"{k['streams']} streams, pooled",
                           {"direct": k["direct_done_after_last"],
                            "relayed": k["relayed_done_after_last"]},
                           "≤ 5 ms", TARGETS["concurrent_done_after_last_ms"])
    if p:
        lines.append(
            f"| serve CPU per token, {p['tokens']} tokens at {p['delay_ms']:g} ms/token, "
            f"median of {p['pairs']} (all runs pooled) | | {p['cpu_us_per_token']} µs "
            f"({p['cpu_us_per_token_pooled']} µs) | | ≤ 230 µs "
            f"| {verdict(p['cpu_us_per_token'] <= TARGETS['paced_cpu_us_per_token'])} |"
        )
        d, r = p["longest_gap"]["direct"], p["longest_gap"]["relayed"]
        lines.append(
            f"| longest gap between tokens after the first, same runs, median (max) "
            f"| {d['median_ms']} ({d['max_ms']}) ms | {r['median_ms']} ({r['max_ms']}) ms "
            f"| | | |"
        )
        lines.append(
            f"| whole reply, {p['tokens']} tokens at {p['delay_ms']:g} ms/token, median "
            f"| {p['direct_reply_s']} s | {p['relayed_reply_s']} s "
            f"| {signed(ms(p['relayed_reply_s'] - p['direct_reply_s']))} ms | | |"
        )
    s = results.get("throughput")
    if s:
        lines.append(
            f"| tokens/s, one {s['tokens']:,}-token reply at 0 ms/token "
            f"| {s['direct_tokens_per_s']:,} | {s['relayed_tokens_per_s']:,} "
            f"| ×{s['relayed_over_direct']} | ≥ 20,000 relayed "
            f"| {verdict(s['relayed_tokens_per_s'] >= TARGETS['relayed_tokens_per_s'])} |"
        )
        after = s["relayed_after_first_tokens_per_s"]
        lines.append(
            f"| tokens/s after the first token, same runs | "
            f"{s['direct_after_first_tokens_per_s']:,} | {after:,} "
            f"| ×{round(after / s['direct_after_first_tokens_per_s'], 3)} | ≥ 64,000 relayed "
            f"| {verdict(after >= TARGETS['relayed_tokens_per_s_after_first'])} |"
        )
    c = results.get("cpu")
    if c:
        first, last = c["sizes"][0], c["sizes"][-1]
        lines.append(
            f"| serve CPU per token at 0 ms/token, {first['tokens']:,} → {last['tokens']:,} "
            f"tokens | | {first['cpu_us_per_token']} → {last['cpu_us_per_token']} µs "
            f"| ×{c['growth']} | flat (≤ ×1.5) | {verdict(c['growth'] <= TARGETS['cpu_growth'])} |"
        )
    if k:
        limits = {"p95": ("≤ 50 ms added", TARGETS["concurrent_added_p95_ms"]),
                  "max": ("≤ 100 ms added", TARGETS["concurrent_added_max_ms"])}
        label = f"{k['streams']} streams at {k['delay_ms']:g} ms/token"
        for stat in ("median", "p95", "max"):
            added = k[f"added_{stat}_ms"]
            judged = "| | |"
            if stat in limits:
                judged = f"| {limits[stat][0]} | {verdict(added <= limits[stat][1])} |"
            lines.append(
                f"| first token, {label}, {stat} | {k[f'direct_{stat}_ms']} ms "
                f"| {k[f'relayed_{stat}_ms']} ms | {signed(added)} ms " + judged
            )
        stalls_ok = k["relayed_longest_gap_max_ms"] <= TARGETS["stall_ms"]
        lines += [
            f"| longest gap between tokens after the first, {label}, worst stream "
            f"| {k['direct_longest_gap_max_ms']} ms | {k['relayed_longest_gap_max_ms']} ms | "
            f"| no stall over 20 ms | {verdict(stalls_ok)} |",
            f"| longest gap between tokens after the first, median of the streams' "
            f"| {k['direct_longest_gap_median_ms']} ms | {k['relayed_longest_gap_median_ms']} ms "
            f"| | | |",
            f"| streams with a gap over 20 ms, of {k['streams'] * k['rounds']} "
            f"| {k['direct_streams_with_a_stall']} | {k['relayed_streams_with_a_stall']} "
            f"| | | |",
            f"| every stream exact (text, `done`, complete) | | all "
            f"{k['streams'] * k['rounds']} | | every stream | met |",
        ]
    b = results.get("after_burst")
    if b:
        more = b["after_wait"]["threads"] - b["before"]["threads"]
        lines.append(
            f"| serve threads, before the burst → {b['wait_s']:g} s after it | "
            f"| {b['before']['threads']} → {b['after_wait']['threads']} | {signed(more)} "
            f"| back within {TARGETS['threads_back_within']} "
            f"| {verdict(more <= TARGETS['threads_back_within'])} |"
        )
    u = results.get("startup")
    if u:
        lines.append(
            f"| start-up to /api/health 200, median of {u['runs']} | | {u['median_s']} s "
            f"(min {u['min_s']}, max {u['max_s']}) | | ≤ 1 s "
            f"| {verdict(u['median_s'] <= TARGETS['startup_s'])} |"
        )
    mem = results.get("memory")
    if mem:
        idle = mem["idle"]
        lines.append(
            f"| idle memory, {mem['messages']:,} messages stored (RSS / PSS / USS) | "
            f"| {idle['rss_mb']} / {idle['pss_mb']} / {idle['uss_mb']} MB | | ≤ 60 MB PSS "
            f"| {verdict(idle['pss_mb'] <= TARGETS['idle_pss_mb'])} |"
        )
    return lines


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    load = " / ".join(f"{value:.2f}" for value in results["load_average_start"])
    if "load_average_end" in results:
        load += " at the start, " + " / ".join(
            f"{value:.2f}" for value in results["load_average_end"]) + " at the end"
    lines = [
        f"Machine: {m['cpu']} ({m['cpu_mhz']} MHz), {m['usable_cores']} of {m['cores']} cores "
        f"usable, {m['memory_gb']} GB; Python {m['python']}, SQLite {m['sqlite']}; {m['os']}; "
        f"load average (1 / 5 / 15 min) {load}",
        "",
        "| measure | direct | through openchat | difference | target | |",
        "|---|---:|---:|---:|---|---|",
        *target_rows(results),
    ]
    c = results.get("cpu")
    if c:
        lines += [
            "",
            "| reply tokens | serve CPU per reply | µs per token | tokens/s relayed "
            "| serve RSS after |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in c["sizes"]:
            lines.append(
                f"| {row['tokens']:,} | {row['cpu_s_per_reply']} s | {row['cpu_us_per_token']} "
                f"| {row['relayed_tokens_per_s']:,} | {row['rss_mb_after']} MB |"
            )
    b = results.get("after_burst")
    if b:
        k = results["concurrency"]
        lines += [
            "",
            f"| `openchat serve` around {k['rounds'] + 1} rounds of {k['streams']} streams "
            "| threads | RSS | PSS | USS |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, state in (("before", b["before"]), ("right after", b["right_after"]),
                             (f"after {b['wait_s']:g} s idle", b["after_wait"])):
            lines.append(f"| {label} | {state['threads']} | {state['rss_mb']} MB "
                         f"| {state['pss_mb']} MB | {state['uss_mb']} MB |")
    u = results.get("startup")
    mem = results.get("memory")
    if mem or u:
        lines += ["", "| memory of `openchat serve` | RSS | PSS | USS | peak RSS |",
                  "|---|---:|---:|---:|---:|"]
        rows = []
        if u and u["idle_empty_memory"]:
            rows.append(("idle, empty data dir, 2 s after start", u["idle_empty_memory"]))
        if mem:
            rows.append((f"{mem['messages']:,} messages, at ready", mem["at_ready"]))
            rows.append((f"{mem['messages']:,} messages, idle after requests", mem["idle"]))
        for label, values in rows:
            lines.append(
                f"| {label} | {values['rss_mb']} MB | {values['pss_mb']} MB "
                f"| {values['uss_mb']} MB | {values['peak_rss_mb']} MB |"
            )
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run like Ctrl+C, so the clean-up below still runs."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {
        signum: signal.signal(signum, interrupt)
        for signum in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(signum) is not signal.SIG_IGN  # e.g. nohup: keep ignoring
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def run(config: Config, work: Path, procs: Processes) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "config": config.__dict__,
                               "load_average_start": load_average()}
    text_file = work / "reply.md"
    text_file.write_text(REPLY_TEXT)
    short = Fake("short", 64, 0.0)
    cpu_fakes = [Fake(f"t{n}", n, 0.0) for n in config.cpu_sizes if n != config.stream_tokens]
    long = Fake("long", config.stream_tokens, 0.0)
    many = Fake("many", config.stream_len, config.stream_delay_ms)
    paced = Fake("paced", config.paced_tokens, config.paced_delay_ms)
    fakes = [short, long, many, paced, *cpu_fakes]
    progress(f"starting {len(fakes)} fake model servers and openchat serve")
    start_fakes(procs, fakes, text_file)
    settings = work / "settings.toml"
    settings.write_text(settings_text(fakes))
    serve = start_serve(procs, work / "data", settings)
    wait_healthy(serve.port, serve.process, serve.log)
    tokens = check_same_text(serve, short, "ollama")
    progress(f"checked: the relayed deltas add up to the direct text ({tokens} tokens)")

    progress(f"1/7 time to first token, {config.ttft_runs} runs each way")
    results["ttft"] = measure_ttft(serve, short, config)
    progress(f"2/7 tokens/s, {config.stream_tokens:,}-token reply")
    results["throughput"] = measure_throughput(serve, long, "long", config.stream_reps)
    progress(f"3/7 serve CPU per token, replies of {config.cpu_sizes}")
    by_size = {f.tokens: f.name for f in cpu_fakes}
    if config.stream_tokens in config.cpu_sizes:
        by_size[config.stream_tokens] = "long"
    results["cpu"] = measure_cpu(serve, by_size, config.cpu_reps)
    progress(f"4/7 {config.paced_tokens}-token replies at {config.paced_delay_ms:g} ms/token, "
             f"{config.paced_pairs} pairs")
    results["paced"] = measure_paced(serve, paced, "paced", config)
    progress(f"5/7 {config.streams} concurrent streams at {config.stream_delay_ms:g} ms/token, "
             f"then {config.idle_wait_s:g} s idle")
    results.update(measure_burst(serve, many, "many", config))
    procs.stop(serve.process)

    one = work / "one-provider.toml"
    one.write_text(settings_text([short]))
    progress(f"6/7 start-up, {config.startups} fresh starts")
    results["startup"] = measure_startup(procs, work, one, config.startups)
    progress(f"7/7 idle memory with {config.messages:,} messages stored")
    results["memory"] = measure_memory(procs, work, one, config.messages)
    results["load_average_end"] = load_average()
    return results


def bench_main(
    argv: list[str] | None,
    *,
    name: str,
    description: str,
    quick_help: str,
    quick: Any,
    full: Any,
    run_bench: Callable[[Any, Path, Processes], dict[str, Any]],
    report_results: Callable[[dict[str, Any]], str],
) -> int:
    """The command line every benchmark shares: `--quick`, `--json PATH`, a private work
    folder, every process it starts stopped at the end, and a sentence instead of a traceback."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    config = quick if args.quick else full
    began = time.perf_counter()
    with ExitStack() as stack:
        stack.enter_context(signals_raise())
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="openchat-bench-")))
        logs = work / "logs"
        logs.mkdir()
        procs = Processes(logs)
        stack.callback(procs.stop_all)
        try:
            results = run_bench(config, work, procs)
        except BenchError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{name}: interrupted; stopping what it started", file=sys.stderr)
            return 130
    results["elapsed_s"] = round(time.perf_counter() - began, 1)
    print(report_results(results))
    print(f"\n(run took {results['elapsed_s']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        argv, name="bench_stream", description=__doc__, quick_help="fewer and shorter runs (~40 s)",
        quick=QUICK, full=FULL, run_bench=run, report_results=report,
    )


if __name__ == "__main__":
    sys.exit(main())
