"""Saving a file where the user picks, through the desktop window's Save dialog.

The page cannot reach the window itself (its CSP forbids the `eval` pywebview's bridge needs),
so it asks the server, which asks the window (`runtime.WindowHooks.ask_save_path`) and writes
the file. A browser downloads instead; without a window this answers 409 `no_window`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import NoWindow, SaveFailed


def save_with_dialog(window: Any, suggested_name: str, write: Callable[[Path], None]) -> str | None:
    """The path written, or None when the user cancelled."""
    if window is None:
        raise NoWindow("Saving through a dialog needs the desktop window; download the file "
                       "instead.")
    chosen = window.ask_save_path(suggested_name)
    if chosen is None:
        return None
    path = Path(chosen)
    try:
        write(path)
    except OSError as exc:
        raise SaveFailed(f"Could not save {path.name}: {exc.strerror or exc}.") from None
    return str(path)
