"""What a request costs before the app sees it, through `openchat serve` (not a test).

Usage: .venv/bin/python bench/bench_accept.py [--requests N] [--idle N] [--json PATH]

Starts one `openchat serve` (empty data folder, no provider) and sends `GET /api/health`
`--requests` times, each on a new connection (`http.client`), one after the other, as every
streamed reply starts: the round trip (median, p95) and the server's CPU per request (user +
system time of the serve process, from /proc, all threads). With `--idle N`, N more
connections then each send half a request line and wait, and the same is measured again
while they are open. A server that gives each connection a thread before its head has
arrived does not answer at all with more idle connections than threads; the run then fails
on a 10 s timeout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench_stream import (
    HOST,
    BenchError,
    Processes,
    Serve,
    cpu_seconds,
    machine,
    ms,
    percentile,
    signals_raise,
    start_serve,
)

WARMUP = 50


def round_trip(port: int) -> float:
    began = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", "/api/health")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise BenchError(f"/api/health answered {response.status}")
    return time.perf_counter() - began


def measure(serve: Serve, requests: int) -> dict[str, Any]:
    for _ in range(WARMUP):
        round_trip(serve.port)
    cpu_before = cpu_seconds(serve.pid)
    times = [round_trip(serve.port) for _ in range(requests)]
    cpu = cpu_seconds(serve.pid) - cpu_before
    return {
        "requests": requests,
        "median_ms": ms(percentile(times, 0.5)),
        "p95_ms": ms(percentile(times, 0.95)),
        "cpu_us_per_request": round(cpu / requests * 1e6, 1),
    }


def run(requests: int, idle: int, work: Path, procs: Processes) -> dict[str, Any]:
    settings = work / "settings.toml"
    settings.write_text("")
    serve = start_serve(procs, work / "data", settings)
    results: dict[str, Any] = {"machine": machine(), "plain": measure(serve, requests)}
    if idle:
        waiting = []
        try:
            for _ in range(idle):
                sock = socket.create_connection((HOST, serve.port), timeout=10)
                waiting.append(sock)
                sock.sendall(b"GET /api/heal")
            results["idle_connections"] = idle
            results["with_idle"] = measure(serve, requests)
        finally:
            for sock in waiting:
                sock.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=0, help="idle connections held open")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        stack.enter_context(signals_raise())
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="openchat-accept-")))
        logs = work / "logs"
        logs.mkdir()
        procs = Processes(logs)
        stack.callback(procs.stop_all)
        try:
            results = run(args.requests, args.idle, work, procs)
        except (BenchError, OSError) as exc:
            print(f"bench_accept: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench_accept: interrupted; stopping the server", file=sys.stderr)
            return 130
    for phase in ("plain", "with_idle"):
        if phase in results:
            print(phase, json.dumps(results[phase]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
