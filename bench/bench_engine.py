"""The built-in engine read directly against through `openchat serve` (not a test).

Usage: .venv/bin/python bench/bench_engine.py [--quick] [--json PATH]

With the starter model (bundled-models/SmolLM2-135M-Instruct.Q4_1.gguf), the benchmark starts
its own engine child exactly as the app's engine manager does (`openchat_desktop.local.child`,
the same settings line: threads, context, batch, key) and one `openchat serve` whose settings
list only the `local` provider with the same `[local]` settings; the app starts its own child
on the first reply. Both children are the same build of llama.cpp with the same settings.

Every streaming measurement alternates a direct read of the benchmark's child
(POST /v1/chat/completions with the very body the app builds, from its OpenAI-compatible
provider) with the same message sent through openchat (POST /api/sessions/<id>/chat/stream,
SSE), one request at a time, so the two engines never generate at once. The app sends no
temperature, seed or token limit today; a small context window (`local.context_size`) ends
every long reply at the same length, so "a fixed-length reply" is the context less the prompt.

Then it times the engine's start (spawn to a healthy /health) and reads memory: the children
against the model file's size, and `openchat serve` before any local use against after the
engine has been unloaded for idleness. Numbers and what they mean: docs/performance.md.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench_stream import (
    RELAYED_TOKEN,
    ROOT,
    BenchError,
    Processes,
    Serve,
    alternate,
    api,
    bench_main,
    machine,
    memory_mb,
    ms,
    new_sessions,
    percentile,
    read_line,
    read_stream,
    start_serve,
    verdict,
    wait_healthy,
)

from openchat_desktop.local import child as engine_child
from openchat_desktop.local.manager import effective_settings
from openchat_desktop.local.models import ModelFile, describe, find_models
from openchat_desktop.paths import bundled_models_dir
from openchat_desktop.providers.base import ChatMessage, ChatRequest, ProviderConfig
from openchat_desktop.providers.openai_compat import OpenAICompatProvider
from openchat_desktop.settings.values import LocalEngine

STARTER = "SmolLM2-135M-Instruct.Q4_1"
MODEL = f"local/{STARTER}"
CONTEXT = 128  # tokens: the prompt plus the longest reply, so a long reply ends at a fixed length
SHORT_PROMPT = "Say hello."  # a short reply: the first-token runs stay quick
LONG_PROMPT = "Write a very long story about a dragon, in many chapters."
ENGINE_READY = re.compile(r'"url": "(http://127\.0\.0\.1:(\d+))"')
DIRECT_TOKEN = b'"content":"'  # one per content chunk of llama.cpp's SSE (not the role chunk)
API_KEY = "bench-engine-key"

TARGETS = {
    "ttft_added_median_ms": 3.0,
    "tokens_per_s_ratio": 0.97,  # relayed at least 97 % of direct
    "idle_growth_mb": 1.0,  # idle memory after an unload against before any local use
}


@dataclass(frozen=True)
class Config:
    ttft_runs: int
    warmup: int
    throughput_reps: int
    loads: int
    unload_cycles: int
    idle_unload: float


FULL = Config(ttft_runs=40, warmup=3, throughput_reps=8, loads=8, unload_cycles=3,
              idle_unload=2.0)
QUICK = Config(ttft_runs=10, warmup=2, throughput_reps=3, loads=3, unload_cycles=1,
               idle_unload=1.0)


# --- the engine child ------------------------------------------------------------------------


@dataclass
class Engine:
    """An engine child started as the app's manager starts one."""

    process: subprocess.Popen[str]
    url: str
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


def engine_config(model: ModelFile, settings: dict[str, Any]) -> dict[str, Any]:
    """The manager's settings line, field for field (see `EngineManager._start`)."""
    context = settings["context_size"]
    described = describe(model)
    if described.context_length:
        context = min(context, described.context_length)
    return {
        "parent": os.getpid(),  # the child serves only the process that started it
        "model": str(model.path),
        "api_key": API_KEY,
        "threads": settings["threads"],
        "context_size": context,
        "batch_size": settings["batch_size"],
        "gpu_layers": None,
    }


def start_engine(logs: Path, config: dict[str, Any], name: str) -> Engine:
    """Spawn the child, send its settings line, wait for its ready line; the caller stops it
    with `stop_engine` (which an ExitStack also does on any exit)."""
    with open(logs / f"{name}.log", "w") as stderr:
        process = subprocess.Popen(
            engine_child.command(),
            cwd=ROOT,
            env=engine_child.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            close_fds=True,
        )
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps(config) + "\n")
        process.stdin.flush()
        match = read_line(process, ENGINE_READY, logs / f"{name}.log", timeout=120)
    except BaseException:
        stop_engine(process)
        raise
    return Engine(process, match.group(1), int(match.group(2)))


def stop_engine(process: subprocess.Popen[str]) -> None:
    """Closing its stdin is how the app ends a child; killing is the fallback."""
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


# --- requests --------------------------------------------------------------------------------


def app_body(prompt: str) -> bytes:
    """The body the app sends for a chat's first message: built by its own provider."""
    provider = OpenAICompatProvider(ProviderConfig(id="local", kind="openai", base_url=""))
    try:
        request = ChatRequest(model=STARTER, messages=(ChatMessage("user", prompt),))
        return json.dumps(provider.chat_body(request)).encode()
    finally:
        provider.close()


@dataclass(frozen=True)
class Reply:
    first: float  # seconds from the request's start to the first token
    end: float  # seconds from the request's start to the end of the body
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None

    @property
    def tokens_per_s(self) -> float:
        return (self.completion_tokens or 0) / self.end


def read_direct(engine: Engine, body: bytes) -> Reply:
    raw: list[bytes] = []
    stream = read_stream(engine.port, "/v1/chat/completions", body, engine.headers(),
                         DIRECT_TOKEN, b"\n\n", raw.append)
    text: list[str] = []
    usage: dict[str, Any] = {}
    for block in b"".join(raw).decode().split("\n\n"):
        data = block.removeprefix("data: ").strip()
        if not data or data == "[DONE]":
            continue
        chunk = json.loads(data)
        for choice in chunk.get("choices") or ():
            text.append((choice.get("delta") or {}).get("content") or "")
        usage = chunk.get("usage") or usage
    return Reply(stream.first, stream.end, "".join(text), usage.get("prompt_tokens"),
                 usage.get("completion_tokens"))


def read_relayed(serve: Serve, session_id: str, prompt: str) -> Reply:
    raw: list[bytes] = []
    body = json.dumps({"message": prompt, "model": MODEL}).encode()
    stream = read_stream(serve.port, f"/api/sessions/{session_id}/chat/stream", body,
                         serve.headers(), RELAYED_TOKEN, b"\n\n", raw.append)
    final = None
    for block in b"".join(raw).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") in ("done", "error"):
            final = (fields["event"], json.loads(fields["data"]))
    if final is None or final[0] != "done" or final[1]["message"]["status"] != "complete":
        raise BenchError(f"the relayed reply did not end with a complete message: {final}")
    message = final[1]["message"]
    usage = message.get("usage") or {}
    return Reply(stream.first, stream.end, message["content"], usage.get("prompt_tokens"),
                 usage.get("completion_tokens"))


def engine_pid(serve: Serve) -> int | None:
    state = api(serve, "GET", "/api/local/engine")
    return state["pid"] if state["state"] == "loaded" else None


# --- measurements ----------------------------------------------------------------------------


def check_same_request(engine: Engine, serve: Serve) -> dict[str, Any]:
    """Both paths reach the model with the same prompt and stop at the same length. The app
    sends no seed or temperature, so the sampled words differ; the token counts may not."""
    body = app_body(LONG_PROMPT)
    (session_id,) = new_sessions(serve, 1)
    direct = read_direct(engine, body)
    relayed = read_relayed(serve, session_id, LONG_PROMPT)
    if None in (direct.prompt_tokens, relayed.prompt_tokens, direct.completion_tokens,
                relayed.completion_tokens):
        raise BenchError(f"a reply came without its token counts: {direct}, {relayed}")
    if direct.prompt_tokens != relayed.prompt_tokens:
        raise BenchError(f"the prompts differ: {direct.prompt_tokens} tokens direct, "
                         f"{relayed.prompt_tokens} relayed")
    if not direct.text.strip() or not relayed.text.strip():
        raise BenchError("a reply came back empty")
    return {
        "prompt_tokens": direct.prompt_tokens,
        "direct_completion_tokens": direct.completion_tokens,
        "relayed_completion_tokens": relayed.completion_tokens,
        "texts_equal": direct.text == relayed.text,
    }


def measure_ttft(engine: Engine, serve: Serve, config: Config) -> dict[str, Any]:
    body = app_body(SHORT_PROMPT)
    direct: list[float] = []
    relayed: list[float] = []
    sessions = iter(new_sessions(serve, config.ttft_runs + config.warmup))
    for index in range(config.warmup + config.ttft_runs):
        d, r = alternate(index, lambda: read_direct(engine, body),
                         lambda: read_relayed(serve, next(sessions), SHORT_PROMPT))
        if index >= config.warmup:
            direct.append(d.first)
            relayed.append(r.first)
    paired = [r - d for r, d in zip(relayed, direct, strict=True)]
    return {
        "runs": config.ttft_runs,
        "direct_median_ms": ms(statistics.median(direct)),
        "direct_p95_ms": ms(percentile(direct, 0.95)),
        "relayed_median_ms": ms(statistics.median(relayed)),
        "relayed_p95_ms": ms(percentile(relayed, 0.95)),
        "added_median_ms": ms(statistics.median(paired)),
        "added_p95_ms": ms(percentile(paired, 0.95)),
        "added_min_ms": ms(min(paired)),
        "added_max_ms": ms(max(paired)),
    }


def measure_throughput(engine: Engine, serve: Serve, reps: int, length: int) -> dict[str, Any]:
    """Pairs where both replies reached the context's end (`length` tokens); a reply the
    model ended earlier is run again, a few times at most."""
    body = app_body(LONG_PROMPT)
    direct: list[Reply] = []
    relayed: list[Reply] = []
    short = 0
    index = 0
    while len(direct) < reps + 1:  # the first pair warms up
        if short > 3 * reps:
            raise BenchError(f"{short} replies ended before {length} tokens")
        (session_id,) = new_sessions(serve, 1)
        d, r = alternate(index, partial(read_direct, engine, body),
                         partial(read_relayed, serve, session_id, LONG_PROMPT))
        index += 1
        if d.completion_tokens != length or r.completion_tokens != length:
            short += 1
            continue
        direct.append(d)
        relayed.append(r)
    direct, relayed = direct[1:], relayed[1:]
    ratios = [r.tokens_per_s / d.tokens_per_s for r, d in zip(relayed, direct, strict=True)]

    def generation(reply: Reply) -> float:
        return (length - 1) / (reply.end - reply.first)

    return {
        "tokens": length,
        "reps": reps,
        "rerun_short_replies": short,
        "direct_tokens_per_s": round(statistics.median(d.tokens_per_s for d in direct), 1),
        "relayed_tokens_per_s": round(statistics.median(r.tokens_per_s for r in relayed), 1),
        "relayed_over_direct": round(statistics.median(ratios), 4),
        "ratio_min": round(min(ratios), 4),
        "ratio_max": round(max(ratios), 4),
        "direct_generation_tokens_per_s": round(statistics.median(map(generation, direct)), 1),
        "relayed_generation_tokens_per_s": round(statistics.median(map(generation, relayed)), 1),
        "direct_reply_s": round(statistics.median(d.end for d in direct), 3),
        "relayed_reply_s": round(statistics.median(r.end for r in relayed), 3),
    }


def measure_loads(logs: Path, config: dict[str, Any], runs: int) -> dict[str, Any]:
    """Spawn to ready line, and to /health answering 200, one child at a time."""
    ready: list[float] = []
    healthy: list[float] = []
    for index in range(runs):
        began = time.perf_counter()
        engine = start_engine(logs, config, f"load-{index}")
        ready.append(time.perf_counter() - began)
        try:
            wait_healthy(engine.port, path="/health", what="the engine child")
            healthy.append(time.perf_counter() - began)
        finally:
            stop_engine(engine.process)
    return {
        "runs": runs,
        "ready_median_s": round(statistics.median(ready), 3),
        "healthy_median_s": round(statistics.median(healthy), 3),
        "healthy_min_s": round(min(healthy), 3),
        "healthy_max_s": round(max(healthy), 3),
    }


def wait_unloaded(serve: Serve, timeout: float) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if api(serve, "GET", "/api/local/engine")["state"] == "idle":
            return time.perf_counter() - began
        time.sleep(0.1)
    raise BenchError(f"the engine was still loaded {timeout:g} s after the last reply")


def measure_idle_memory(procs: Processes, work: Path, settings: Path,
                        config: Config) -> dict[str, Any]:
    """`openchat serve` idle before any local use, then after each reply and unload."""
    serve = start_serve(procs, work / "idle-data", settings)
    try:
        wait_healthy(serve.port, serve.process, serve.log)
        api(serve, "GET", "/api/models")  # what the page asks at start: lists the model file
        api(serve, "GET", "/api/local/engine")
        time.sleep(2.0)
        before = memory_mb(serve.pid)
        cycles: list[dict[str, Any]] = []
        for _ in range(config.unload_cycles):
            (session_id,) = new_sessions(serve, 1)
            reply = read_relayed(serve, session_id, SHORT_PROMPT)
            unloaded = wait_unloaded(serve, config.idle_unload + 30)
            time.sleep(2.0)
            cycles.append({
                "cold_first_token_s": round(reply.first, 3),
                "unloaded_after_s": round(reply.end + unloaded, 2),
                "memory": memory_mb(serve.pid),
            })
    finally:
        procs.stop(serve.process)
    last = cycles[-1]["memory"]
    return {
        "idle_unload_s": config.idle_unload,
        "before": before,
        "cycles": cycles,
        "growth_rss_mb": round(last["rss_mb"] - before["rss_mb"], 1),
        "growth_uss_mb": round(last["uss_mb"] - before["uss_mb"], 1),
    }


# --- report ----------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    e = results["engine"]
    lines = [
        f"Machine: {m['cpu']} ({m['cpu_mhz']} MHz), {m['usable_cores']} of {m['cores']} cores "
        f"usable, {m['memory_gb']} GB; Python {m['python']}; {m['os']}",
        f"Engine: {STARTER} ({e['model_mb']} MB), threads {e['threads']}, context "
        f"{e['context_size']}, batch {e['batch_size']}; prompt {e['prompt_tokens']} tokens "
        f"(long) on both paths",
        "",
        "| measure | direct | through openchat | difference | target | |",
        "|---|---:|---:|---:|---|---|",
    ]
    t = results["ttft"]
    lines += [
        f"| time to first token, median of {t['runs']} | {t['direct_median_ms']} ms "
        f"| {t['relayed_median_ms']} ms | +{t['added_median_ms']} ms (paired) | ≤ 3 ms added "
        f"| {verdict(t['added_median_ms'] <= TARGETS['ttft_added_median_ms'])} |",
        f"| time to first token, p95 | {t['direct_p95_ms']} ms | {t['relayed_p95_ms']} ms "
        f"| +{t['added_p95_ms']} ms (paired) | | |",
    ]
    s = results["throughput"]
    lines += [
        f"| tokens/s, {s['tokens']}-token reply, median of {s['reps']} "
        f"| {s['direct_tokens_per_s']} | {s['relayed_tokens_per_s']} "
        f"| ×{s['relayed_over_direct']} (paired) | within 3 % "
        f"| {verdict(s['relayed_over_direct'] >= TARGETS['tokens_per_s_ratio'])} |",
        f"| tokens/s after the first token | {s['direct_generation_tokens_per_s']} "
        f"| {s['relayed_generation_tokens_per_s']} | | | |",
    ]
    load = results["load"]
    lines.append(
        f"| engine start to /health 200, median of {load['runs']} | {load['healthy_median_s']} s "
        f"(min {load['healthy_min_s']}, max {load['healthy_max_s']}) | | | | |"
    )
    idle = results["idle"]
    cold = idle["cycles"][0]["cold_first_token_s"]
    lines.append(f"| first token with the engine unloaded (load + reply) | | {cold} s | | | |")
    mem = results["children"]
    for name in ("rss_mb", "pss_mb", "uss_mb", "peak_rss_mb"):
        lines.append(
            f"| engine child {name.removesuffix('_mb').replace('_', ' ').upper()} "
            f"| {mem['direct'][name]} MB | {mem['relayed'][name]} MB | | | |"
        )
    growth = idle["growth_uss_mb"]
    lines.append(
        f"| app idle after unload against before local use (USS) | | {growth:+} MB "
        f"| | no growth (≤ 1 MB) | {verdict(growth <= TARGETS['idle_growth_mb'])} |"
    )
    lines += ["", "| `openchat serve` idle | RSS | PSS | USS | peak RSS |",
              "|---|---:|---:|---:|---:|"]
    rows = [("before any local use", idle["before"])]
    rows += [(f"after reply {i + 1} and its unload", c["memory"])
             for i, c in enumerate(idle["cycles"])]
    for label, values in rows:
        lines.append(f"| {label} | {values['rss_mb']} MB | {values['pss_mb']} MB "
                     f"| {values['uss_mb']} MB | {values['peak_rss_mb']} MB |")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def settings_text(engine: dict[str, Any], idle_unload: float) -> str:
    return (
        f'default_model = "{MODEL}"\n\n[local]\nthreads = {engine["threads"]}\n'
        f'context_size = {engine["context_size"]}\nbatch_size = {engine["batch_size"]}\n'
        f"idle_unload = {idle_unload}\n\n[[providers]]\nid = \"local\"\nkind = \"local\"\n"
    )


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


@contextmanager
def engine_running(logs: Path, config: dict[str, Any], name: str) -> Iterator[Engine]:
    engine = start_engine(logs, config, name)
    try:
        yield engine
    finally:
        stop_engine(engine.process)


def run(config: Config, work: Path, procs: Processes) -> dict[str, Any]:
    models = find_models(work / "no-models", bundled_models_dir())
    if STARTER not in models:
        raise BenchError(f"the starter model is missing: {bundled_models_dir()}/{STARTER}.gguf")
    model = models[STARTER]
    # The app's own defaults for this machine, with the small context written out.
    app = effective_settings(LocalEngine(context_size=CONTEXT), work / "data")
    engine = {"threads": app.threads, "context_size": app.context_size,
              "batch_size": app.batch_size}
    child_config = engine_config(model, engine)
    results: dict[str, Any] = {
        "machine": machine(),
        "config": config.__dict__,
        "engine": {**engine, "model_mb": round(model.path.stat().st_size / 1e6, 1)},
    }
    settings = work / "settings.toml"
    settings.write_text(settings_text(engine, 600.0))
    logs = procs.logs
    progress("starting the engine child and openchat serve")
    with engine_running(logs, child_config, "engine-direct") as direct:
        wait_healthy(direct.port, path="/health", what="the engine child")
        serve = start_serve(procs, work / "data", settings)
        wait_healthy(serve.port, serve.process, serve.log)
        check = check_same_request(direct, serve)  # also loads the app's child
        results["engine"]["prompt_tokens"] = check["prompt_tokens"]
        results["check"] = check
        length = check["direct_completion_tokens"]
        progress(f"checked: same prompt ({check['prompt_tokens']} tokens), replies of "
                 f"{length} and {check['relayed_completion_tokens']} tokens")
        if length != check["relayed_completion_tokens"]:
            raise BenchError("the two engines stopped the same reply at different lengths")
        progress(f"1/5 time to first token, {config.ttft_runs} runs each way")
        results["ttft"] = measure_ttft(direct, serve, config)
        progress(f"2/5 tokens/s, {length}-token reply, {config.throughput_reps} runs each way")
        results["throughput"] = measure_throughput(direct, serve, config.throughput_reps, length)
        relayed_pid = engine_pid(serve)
        if relayed_pid is None:
            raise BenchError("the app's engine was not loaded after its replies")
        progress("3/5 memory of the engine children")
        results["children"] = {
            "model_file_mb": results["engine"]["model_mb"],
            "direct": memory_mb(direct.pid),
            "relayed": memory_mb(relayed_pid),
        }
        procs.stop(serve.process)
    progress(f"4/5 engine start, {config.loads} runs")
    results["load"] = measure_loads(logs, child_config, config.loads)
    progress(f"5/5 app idle memory, {config.unload_cycles} reply and unload cycle(s)")
    idle_settings = work / "idle-settings.toml"
    idle_settings.write_text(settings_text(engine, config.idle_unload))
    results["idle"] = measure_idle_memory(procs, work, idle_settings, config)
    return results


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        argv, name="bench_engine", description=__doc__, quick_help="fewer runs (about a minute)",
        quick=QUICK, full=FULL, run_bench=run, report_results=report,
    )


if __name__ == "__main__":
    sys.exit(main())
