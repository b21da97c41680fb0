"""Freed memory goes back to the system when asked, where the C library allows it."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import pytest

from openchat_desktop.heap import return_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_freed_memory_below_a_live_block_is_returned() -> None:
    chunks = [bytes(2000) + bytes([n % 256]) for n in range(25_000)]  # ~50 MB through malloc
    kept = bytes(2000) + b"!"  # above them on the heap: free() alone cannot shrink past it
    del chunks
    before = resident_bytes()
    assert return_freed_memory() is True
    assert before - resident_bytes() > 20_000_000
    assert kept.endswith(b"!")  # what is still in use is left alone


@pytest.mark.skipif(GLIBC, reason="here the C library can return memory")
def test_elsewhere_it_does_nothing() -> None:
    assert return_freed_memory() is False
