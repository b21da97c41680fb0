"""Give memory the app has freed back to the system.

glibc's malloc keeps what Python frees for reuse: after a burst of streams the freed memory
stayed with the process for good. `malloc_trim(0)` returns the free pages at the top of every
arena and inside them. It is called once the app has gone quiet, not per request: on a large
heap it walks every arena. Other C libraries (macOS, Windows, musl) have no such call; there
this does nothing.
"""

from __future__ import annotations

import sys


def return_freed_memory() -> bool:
    """Hand freed heap memory back to the system; whether the C library could."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here: an app that never goes quiet after a burst does not need it

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
