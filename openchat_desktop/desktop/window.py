"""The native window: pywebview on the embedded server (Qt on Linux, Edge WebView2 on Windows,
WebKit on macOS). It owns the main thread until the window closes."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import paths
from . import window_state

if TYPE_CHECKING:
    from webview import Window

    from ..runtime import Runtime

log = logging.getLogger(__name__)

TITLE = "OpenChat"
BACKGROUND = "#1b1c1f"  # the dark theme's background: no white flash before the page paints
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def hold_signals() -> None:
    """Keep Ctrl+C and SIGTERM from every thread, before any is started; `open_window` then
    waits for them on a thread of its own and closes the window. (Python runs signal handlers
    on the main thread only, which the GUI toolkit keeps busy in C.)"""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def webengine_flags() -> None:
    """Flags for the Chromium inside Qt, added to any the user set in
    QTWEBENGINE_CHROMIUM_FLAGS:

    - its own error lines (no D-Bus in a container, say) are kept out of the terminal unless
      OpenChat logs at DEBUG;
    - as root, Chromium refuses to start with its sandbox on; say so and turn it off (root is
      a container or a test box, not a person's desktop session).
    """
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    if not any(flag.startswith("--log-level") for flag in flags) and not log.isEnabledFor(
        logging.DEBUG
    ):
        flags.append("--log-level=3")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--no-sandbox" not in flags:
        log.warning("running as root: the window's web sandbox is turned off")
        flags.append("--no-sandbox")
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(flags)


def icon_path() -> str | None:
    icon = paths.resource_dir("build") / "icons" / "openchat.png"
    return str(icon) if icon.is_file() else None


def open_window(runtime: Runtime, *, started: float | None = None) -> None:
    """Show the chat page in a window; return when it has closed."""
    if sys.platform.startswith("linux"):
        os.environ.setdefault("PYWEBVIEW_GUI", "qt")
    import webview

    geometry = window_state.load(runtime.data_dir).fitted(_screens())
    window = webview.create_window(
        TITLE,
        runtime.url,
        width=geometry.width,
        height=geometry.height,
        x=geometry.x,
        y=geometry.y,
        min_size=window_state.MIN_SIZE,
        maximized=geometry.maximized,
        background_color=BACKGROUND,
        text_select=True,
    )
    # None only comes back for a window made from another thread once start() runs.
    assert window is not None
    tracker = _GeometryTracker(geometry)
    window.events.resized += tracker.resized
    window.events.moved += tracker.moved
    window.events.maximized += lambda: tracker.set_maximized(True)
    window.events.restored += lambda: tracker.set_maximized(False)
    window.events.closing += lambda: window_state.save(runtime.data_dir, tracker.geometry)

    def loaded() -> None:
        if started is not None:
            log.info("window shown %.3f s after launch", time.perf_counter() - started)

    window.events.loaded += loaded
    runtime.window = WindowHooks(window)
    _close_on_signals(window)
    webview.start(
        gui="qt" if sys.platform.startswith("linux") else None,
        private_mode=False,  # keep the page's local storage (drafts of new chats) between runs
        storage_path=str(runtime.data_dir / "webview"),
        icon=icon_path(),
    )


class _GeometryTracker:
    """Follows the window's size and position; a maximized window keeps its normal size."""

    def __init__(self, geometry: window_state.Geometry) -> None:
        self.geometry = geometry

    def resized(self, width: int, height: int) -> None:
        if not self.geometry.maximized:
            self.geometry = replace(self.geometry, width=width, height=height)

    def moved(self, x: int, y: int) -> None:
        if not self.geometry.maximized:
            self.geometry = replace(self.geometry, x=x, y=y)

    def set_maximized(self, maximized: bool) -> None:
        self.geometry = replace(self.geometry, maximized=maximized)


class WindowHooks:
    """What the server may ask of the window (see `runtime.WindowHooks`); called from request
    threads, which pywebview hands over to the GUI thread."""

    def __init__(self, window: Window) -> None:
        self._window = window

    def show(self) -> None:
        self._window.restore()
        self._window.show()
        # No toolkit-neutral "raise": staying on top for a moment brings it over other windows.
        self._window.on_top = True
        self._window.on_top = False

    def ask_save_path(self, suggested_name: str) -> str | None:
        import webview

        chosen = self._window.create_file_dialog(
            webview.FileDialog.SAVE, save_filename=suggested_name
        )
        if not chosen:
            return None
        return chosen if isinstance(chosen, str) else chosen[0]

    def ask_open_path(self, file_types: tuple[str, ...]) -> str | None:
        import webview

        chosen = self._window.create_file_dialog(webview.FileDialog.OPEN, file_types=file_types)
        if not chosen:
            return None
        return chosen if isinstance(chosen, str) else chosen[0]


def _close_on_signals(window: Window) -> None:
    if not hasattr(signal, "pthread_sigmask"):
        return

    def wait() -> None:
        signal.sigwait(STOP_SIGNALS)
        log.info("closing the window on a signal")
        window.destroy()

    threading.Thread(target=wait, name="signals", daemon=True).start()


def _screens() -> list[tuple[int, int, int, int]]:
    import webview

    try:
        return [(s.x, s.y, s.width, s.height) for s in webview.screens]
    except Exception:  # noqa: BLE001 - no screen list is no reason to fail: default placement
        return []
