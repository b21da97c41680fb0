"""Can a native window open here? If not, say why in words a person can act on.

Qt aborts the whole process when its platform plugin cannot start, so the checks run first:
a display to draw on, the system libraries Qt loads, and the toolkit's own import.
"""

from __future__ import annotations

import ctypes
import os
import sys

from .system_libs import missing_libraries, packages_for


def gui_problem() -> str | None:
    """Why the window cannot open, or None when it can."""
    if sys.platform.startswith("linux"):
        return _linux_problem()
    return _import_problem()


def _linux_problem() -> str | None:
    display = os.environ.get("DISPLAY", "").strip()
    wayland = os.environ.get("WAYLAND_DISPLAY", "").strip()
    if not display and not wayland:
        return "there is no graphical display here (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    missing = missing_libraries()
    if missing:
        packages = packages_for(missing)
        return (
            f"the system librar{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}"
            f" {'is' if len(missing) == 1 else 'are'} missing. On Debian or Ubuntu, install"
            f" {'it' if len(missing) == 1 else 'them'} with: sudo apt install {' '.join(packages)}"
        )
    if display and not wayland and not _x_display_answers():
        return f"the X display {display} does not answer"
    return _import_problem()


def _x_display_answers() -> bool:
    """Connect to the X server the way Qt will, and let go again."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return False
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(None, None)
    try:
        has_error: int = xcb.xcb_connection_has_error(connection)
        return has_error == 0
    finally:
        xcb.xcb_disconnect(connection)


def _import_problem() -> str | None:
    try:
        import webview  # noqa: F401

        if sys.platform.startswith("linux"):
            from PyQt6 import QtWebEngineWidgets  # noqa: F401
    except ImportError as exc:
        return f"the window toolkit could not be loaded ({exc})"
    return None
