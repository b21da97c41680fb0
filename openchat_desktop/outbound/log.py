"""The outbound log: one row per request to another host, written off the request thread.

A request only puts a tuple on a queue; one writer thread turns them into rows, so a slow disk
never delays a stream. A row is added when the request starts (it shows while a long reply
streams) and completed when the response ends. The table keeps the newest `limit` rows."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .policy import Destination

log = logging.getLogger(__name__)

LIMIT = 10_000  # rows kept; older ones are dropped as new ones come
TRIM_EVERY = 100  # rows added between two trims


class OutboundRows(Protocol):
    """The table as the log writes it (the store's `OutboundRows`)."""

    def add_outbound(
        self, *, at: str, source: str, method: str, host: str, path: str, sent: int,
        outcome: str, status: int | None = None, received: int = 0,
    ) -> int: ...

    def end_outbound(
        self, seq: int, *, status: int | None, sent: int, received: int, outcome: str
    ) -> None: ...

    def trim_outbound(self, keep: int) -> None: ...

    def clear_outbound(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Item:
    """One thing for the writer: a row to start or end, a flush to confirm, or stop."""

    kind: str  # "start" | "end" | "clear" | "flush" | "stop"
    entry: int = 0  # 0: a row that is complete when started (a refusal)
    fields: dict[str, Any] = field(default_factory=dict)
    done: threading.Event | None = None


class OutboundLog:
    def __init__(
        self, rows: OutboundRows, *, clock: Callable[[], str], limit: int = LIMIT
    ) -> None:
        """`clock` stamps a request as it starts, in the store's format (store.clock)."""
        self._rows = rows
        self._clock = clock
        self._limit = limit
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._entries = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    def started(self, source: str, method: str, destination: Destination, sent: int) -> int:
        """A request is going out; the number to end it with."""
        entry = next(self._entries)
        self._put(_Item("start", entry, self._fields(source, method, destination, sent, "sent")))
        return entry

    def ended(
        self, entry: int, status: int | None, sent: int, received: int, outcome: str
    ) -> None:
        fields: dict[str, Any] = {
            "status": status, "sent": sent, "received": received, "outcome": outcome,
        }
        self._put(_Item("end", entry, fields))

    def refused(self, source: str, method: str, destination: Destination) -> None:
        """A request local-only mode kept on this machine: nothing was sent."""
        self._put(_Item("start", 0, self._fields(source, method, destination, 0, "refused")))

    def clear(self) -> None:
        """Empty the table. The writer does it, in turn: a request still running when the
        log is cleared then leaves no half row behind."""
        self._put(_Item("clear"))
        self.flush()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything recorded so far is in the table (before it is read)."""
        if self._thread is None:
            return
        done = threading.Event()
        self._put(_Item("flush", done=done))
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, then stop the writer (before the store closes)."""
        self.flush()
        self._closed = True
        if self._thread is not None:
            self._queue.put(_Item("stop"))
            self._thread.join(5)

    def _fields(
        self, source: str, method: str, destination: Destination, sent: int, outcome: str
    ) -> dict[str, Any]:
        return {
            "at": self._clock(), "source": source, "method": method.upper(),
            "host": destination.host, "path": destination.path, "sent": sent,
            "outcome": outcome,
        }

    def _put(self, item: _Item) -> None:
        if self._closed:
            return
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._write, name="outbound-log", daemon=True
                    )
                    self._thread.start()
        self._queue.put(item)

    def _write(self) -> None:
        rows: dict[int, int] = {}  # entry → seq of rows started and not yet ended
        added = 0
        while True:
            item = self._queue.get()
            if item.kind == "stop":
                return
            if item.done is not None:
                item.done.set()
                continue
            try:
                if item.kind == "start":
                    seq = self._rows.add_outbound(**item.fields)
                    if item.entry:
                        rows[item.entry] = seq
                    added += 1
                    if added % TRIM_EVERY == 0:
                        self._rows.trim_outbound(self._limit)
                elif item.kind == "clear":
                    rows.clear()
                    self._rows.clear_outbound()
                elif item.entry in rows:
                    self._rows.end_outbound(rows.pop(item.entry), **item.fields)
            except Exception:  # the log must never stop the app: the next row may work
                log.exception("writing the outbound log failed")
