"""Tests read nothing beside the repository: a clone with nothing next to it must pass.

An audit hook sees every file the test process opens. A path in the folder that holds the
repository, but outside the repository itself (a sibling checkout, say), is recorded; the
session then fails with the list. Paths elsewhere (temporary folders, the venv, the system)
are not the repository's concern, nor is the Python that runs the tests, wherever it lives.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PARENT = str(ROOT.parent) + os.sep
_ROOT = str(ROOT) + os.sep
OPEN_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "pathlib.Path.glob"})

# The interpreter and its packages may live anywhere, a venv beside the checkout included.
_RUNTIME = tuple(
    os.path.abspath(p) + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
)

outside: list[str] = []
_installed = False


def escapes(path: str) -> bool:
    """True for a path beside the repository: under its parent folder, not under it."""
    full = os.path.abspath(path) + os.sep
    return (
        full.startswith(_PARENT)
        and not full.startswith(_ROOT)
        and not full.startswith(_RUNTIME)
    )


def _hook(event: str, args: tuple) -> None:
    if event not in OPEN_EVENTS or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, str) and escapes(path):
        outside.append(path)


def install() -> None:
    """Start recording (once per process: audit hooks cannot be removed)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
