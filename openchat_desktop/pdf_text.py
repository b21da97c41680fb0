"""The text of a PDF, read in a child process that can be stopped at any moment.

pypdf is pure Python, and one page can cost it minutes: 18 KB can hold a megabyte of drawing
operators that every page of the file shares, or a stream that inflates to gigabytes. A
thread cannot be interrupted in the middle of a page; a process can. So the reading runs in
a spawned child that sends each page's text as soon as it has it, and the caller kills it
when the time is up, when the person who sent the file has gone, or once it has enough text.
The child also caps its own address space, so a decompression bomb ends in a MemoryError
there instead of in a machine that swaps.

This module imports nothing from the app: the child starts with only pypdf to load.
"""

from __future__ import annotations

import io
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Literal

# Why the reading ended before the last page.
Stop = Literal["chars", "time", "memory", "crashed", "left"]
Problem = Literal["encrypted", "damaged"]

# Spawned, never forked: the server has threads (and a database pool) a fork would copy
# half-way through whatever they were doing.
_SPAWN = multiprocessing.get_context("spawn")
POLL_SECONDS = 0.1  # how soon a departed client is noticed
# At most this many children at once, so many uploads together cannot hold more than this
# many times a child's memory; a reading that waits for its turn spends its own time on it.
MAX_READERS = 2
_readers = threading.BoundedSemaphore(MAX_READERS)


@dataclass(frozen=True, slots=True)
class PdfReading:
    """What was read: the text of the first pages, and why the reading ended early if it did.

    `problem` is set when the file could not be read at all (then `pages` is empty)."""

    pages: tuple[str, ...]
    page_count: int
    stopped: Stop | None = None
    problem: Problem | None = None
    detail: str = ""  # for the log: what pypdf said about a damaged file


def read_pdf(
    data: bytes,
    *,
    max_chars: int,
    seconds: float,
    memory_bytes: int,
    client_left: Callable[[], bool],
) -> PdfReading:
    """Read pages until there are `max_chars` characters, the last page, `seconds` have
    passed or `client_left()` says nobody waits for the answer; the child is gone on return."""
    deadline = time.monotonic() + seconds
    while not _readers.acquire(timeout=POLL_SECONDS):
        if client_left():
            return PdfReading((), 0, "left")
        if time.monotonic() >= deadline:
            return PdfReading((), 0, "time")
    try:
        return _run_child(data, max_chars, deadline, memory_bytes, client_left)
    finally:
        _readers.release()


def _run_child(
    data: bytes,
    max_chars: int,
    deadline: float,
    memory_bytes: int,
    client_left: Callable[[], bool],
) -> PdfReading:
    receiver, sender = _SPAWN.Pipe(duplex=False)
    child = _SPAWN.Process(
        target=read_in_child, args=(sender, data, max_chars, memory_bytes), name="pdf-text",
        daemon=True,
    )
    child.start()
    sender.close()  # the child holds the only writing end: its exit is our end of file
    pages: list[str] = []
    count = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return PdfReading(tuple(pages), count, "time")
            if client_left():
                return PdfReading(tuple(pages), count, "left")
            if not receiver.poll(min(POLL_SECONDS, left)):
                continue
            try:
                kind, value = receiver.recv()
            except (EOFError, OSError):  # gone without a word: killed, or it crashed
                return PdfReading(tuple(pages), count, "crashed")
            if kind == "pages":
                count = value
            elif kind == "page":
                pages.append(value)
            elif kind == "end":
                return PdfReading(tuple(pages), count, value)
            else:
                return PdfReading((), count, problem=kind, detail=value)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
        child.close()


def read_in_child(sender: Connection, data: bytes, max_chars: int, memory_bytes: int) -> None:
    """The child's whole life: send ("pages", n), then ("page", text) per page, then
    ("end", why or None); or ("encrypted" | "damaged", detail)."""
    limit_memory(memory_bytes)
    try:
        sender.send(read_pages(sender, data, max_chars))
    except MemoryError:
        try:
            sender.send(("end", "memory"))
        except MemoryError:
            pass  # the parent reads this child's silent end the same way
    finally:
        sender.close()


def read_pages(sender: Connection, data: bytes, max_chars: int) -> tuple[str, object]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return "encrypted", ""
        pages = reader.pages
        sender.send(("pages", len(pages)))
        chars = 0
        for number, page in enumerate(pages, start=1):
            text = (page.extract_text() or "").strip()
            sender.send(("page", text))
            chars += len(text)
            if chars >= max_chars and number < len(pages):
                return "end", "chars"
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile file can make a parser fail any way
        return "damaged", f"{type(exc).__name__}: {exc}"
    return "end", None


def limit_memory(memory_bytes: int) -> None:
    """Cap this process's address space, where the system allows it (not on Windows, where
    pypdf's own limit per stream and the time budget remain)."""
    try:
        import resource
    except ImportError:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
