"""Time the store's hot paths: opening a chat of 10,000 messages, a send, and opening the database.

Run: .venv/bin/python bench/bench_store.py   (numbers go in docs/storage.md)
Each figure is the median of many runs; on a shared machine, compare runs taken back to back.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openchat_desktop.store import Store

CHAT_LENGTH = 10_000
RUNS = 200


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "openchat.sqlite3"
        store = Store(path)
        session = store.create_session(title="long chat")
        parent = None
        start = time.perf_counter()
        for i in range(CHAT_LENGTH):
            role = "user" if i % 2 == 0 else "assistant"
            text = f"message {i}: " + "lorem ipsum dolor sit amet " * 20
            parent = store.add_message(
                session_id=session.id,
                parent_id=parent.id if parent else None,
                role=role,
                content=text,
            )
        fill = time.perf_counter() - start
        assert parent is not None
        newest = store.branch(session.id, limit=50)
        assert len(newest) == 50 and newest[-1].id == parent.id
        older = newest[0].id

        print(f"sqlite {__import__('sqlite3').sqlite_version}, python {sys.version.split()[0]}")
        print(f"add_message (one transaction each): {fill / CHAT_LENGTH * 1000:.3f} ms")
        print(
            f"branch(limit=50), newest 50 of {CHAT_LENGTH}: "
            f"{median_ms(lambda: store.branch(session.id, limit=50)):.3f} ms"
        )
        print(
            f"branch(limit=50, before_id=...), the page above: "
            f"{median_ms(lambda: store.branch(session.id, limit=50, before_id=older)):.3f} ms"
        )
        print(
            f"branch(), all {CHAT_LENGTH}: "
            f"{median_ms(lambda: store.branch(session.id), runs=10):.1f} ms"
        )
        checkpoint = store.add_message(
            session_id=session.id,
            parent_id=parent.id,
            role="assistant",
            content="",
            status="streaming",
        )
        body = "x" * 4000

        def save() -> None:
            store.save_progress(checkpoint.id, content=body, reasoning="")

        print(f"save_progress checkpoint (4 KB): {median_ms(save):.3f} ms")

        def send() -> None:
            store.start_reply(
                session_id=session.id, parent_id=checkpoint.id, user_content="next", model="p/m"
            )

        print(f"start_reply (user message, reply row, leaf: one transaction): "
              f"{median_ms(send):.3f} ms")
        print(f"get_message: {median_ms(lambda: store.get_message(checkpoint.id)):.3f} ms")
        print(f"search('lorem 9999'): {median_ms(lambda: store.search('lorem 9999'), 20):.2f} ms")
        store.close()

        print(
            f"Store(path) + close at head, in-process: "
            f"{median_ms(lambda: Store(path).close(), runs=50):.2f} ms"
        )
        code = (
            "import time, sys; t = time.perf_counter(); "
            "from openchat_desktop.store import Store; i = time.perf_counter(); "
            f"s = Store({str(path)!r}); o = time.perf_counter(); s.close(); "
            "print(f'{(i - t) * 1000:.0f} {(o - i) * 1000:.1f} {\"alembic\" in sys.modules}')"
        )
        runs = [
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()
            for _ in range(5)
        ]
        imports = statistics.median(float(r[0]) for r in runs)
        opens = statistics.median(float(r[1]) for r in runs)
        print(
            f"fresh process: import openchat_desktop.store {imports:.0f} ms, "
            f"Store(path) {opens:.1f} ms, alembic imported: {runs[0][2]}"
        )


if __name__ == "__main__":
    main()
