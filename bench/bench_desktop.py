"""The desktop app: time to the page shown in the window, memory, and the packaged size.

Usage: .venv/bin/python bench/bench_desktop.py [--app build/dist/OpenChat] [--runs 5]

Starts the window on a virtual X display (Xvfb) with an empty data folder and no model server,
from source (`python -m openchat_desktop`) and, when `--app` points at a built one-folder app
(`build/build.sh`), frozen. "Shown" is the window's page-loaded event, which the app logs at
INFO; the clock runs from spawning the process to reading that line. The first run of each
starts after dropping the page cache when the machine allows (root on Linux): a cold start.

Memory is read once the page has settled: PSS summed over the app and every process it
started (Qt WebEngine's renderer, GPU and zygote processes), and `openchat serve` alone.
Numbers and what they mean: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop_harness import Display, close_window, free_port  # noqa: E402

SHOWN = re.compile(r"window shown ([\d.]+) s after launch")


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total * 1024 / 1e6, 1)


def launch_window(command: list[str], display: Display, data: Path, *, cold: bool) -> dict:
    """One start of the window: seconds to the page shown, then memory once settled."""
    env = {**os.environ, "DISPLAY": display.name, "OPENCHAT_LOG_LEVEL": "INFO",
           "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox"}
    env.pop("WAYLAND_DISPLAY", None)
    settings = data / "settings.toml"
    # no model server answers: the first-run page, as a new user sees it
    settings.write_text('[[providers]]\nid = "ollama"\nkind = "ollama"\n'
                        f'base_url = "http://127.0.0.1:{free_port()}"\n')
    dropped = drop_caches() if cold else False
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--data-dir", str(data / "data"), "--settings", str(settings)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    shown = None
    assert process.stdout is not None
    for line in process.stdout:
        if SHOWN.search(line):
            shown = time.perf_counter() - started
            break
    if shown is None:
        raise SystemExit(f"the window never showed: {command}")
    time.sleep(3)  # let the page finish its first requests and the renderer settle
    memory = pss_mb(descendants(process.pid))
    closing = time.perf_counter()
    close_window(display)
    process.wait(30)
    exited = time.perf_counter() - closing
    process.stdout.close()
    return {"shown_s": round(shown, 3), "pss_mb": memory, "close_to_exit_s": round(exited, 3),
            "cold": dropped}


def server_alone(command: list[str], data: Path) -> float:
    process = subprocess.Popen([*command, "serve", "--data-dir", str(data / "data")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    time.sleep(2)
    memory = pss_mb([process.pid])
    process.terminate()
    process.wait(15)
    process.stdout.close()
    return memory


def folder_mb(path: Path) -> float:
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return round(size / 1e6, 1)


def compressed_mb(path: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "app.tar.gz"
        subprocess.run(["tar", "-czf", str(archive), "-C", str(path.parent), path.name],
                       check=True)
        return round(archive.stat().st_size / 1e6, 1)


def measure(name: str, command: list[str], runs: int, display: Display) -> dict:
    results = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(launch_window(command, display, Path(tmp), cold=run == 0))
    with tempfile.TemporaryDirectory() as tmp:
        alone = server_alone(command, Path(tmp))
    warm = [r["shown_s"] for r in results[1:]] or [results[0]["shown_s"]]
    summary = {
        "first_start_s": results[0]["shown_s"],
        "first_start_cold_cache": results[0]["cold"],
        "warm_start_median_s": round(statistics.median(warm), 3),
        "app_pss_mb": statistics.median(r["pss_mb"] for r in results),
        "server_alone_pss_mb": alone,
        "close_to_exit_max_s": max(r["close_to_exit_s"] for r in results),
        "runs": results,
    }
    print(f"{name}: {json.dumps(summary, indent=2)}", flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, help="a built one-folder app (build/dist/OpenChat)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    display = Display()
    report = {}
    try:
        report["source"] = measure("from source", [sys.executable, "-m", "openchat_desktop"],
                                   args.runs, display)
        if args.app:
            executable = args.app / ("OpenChat.exe" if os.name == "nt" else "OpenChat")
            report["frozen"] = measure("frozen", [str(executable)], args.runs, display)
            report["size"] = {"folder_mb": folder_mb(args.app),
                              "tar_gz_mb": compressed_mb(args.app)}
            print(f"size: {report['size']}")
    finally:
        display.close()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
