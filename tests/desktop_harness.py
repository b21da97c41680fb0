"""Driving the real desktop window: a virtual X display, the app as a child process, its page
through the Chrome DevTools Protocol that Qt WebEngine serves, and the window through X."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import requests

TOKEN = "desktop-token-0123456789"
GUI_READY = shutil.which("Xvfb") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - not ready yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Display:
    """An Xvfb server on a free display number."""

    def __init__(self, width: int = 1440, height: int = 900) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as pipe:
            self.name = f":{pipe.readline().strip()}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class DevTools:
    """The page inside the window, through Qt WebEngine's remote debugging port."""

    def __init__(self, port: int, url_prefix: str) -> None:
        import websocket

        def page_target():
            targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
            return next((t for t in targets if t.get("type") == "page"
                         and t.get("url", "").startswith(url_prefix)), None)

        target = wait_for(page_target, timeout=60, what="the window's page")
        self.socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30)
        self.ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"])
        return result["result"].get("value")

    def type_text(self, text: str) -> None:
        self.call("Input.insertText", text=text)

    def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, text="\r" if kind == "keyDown" else "")

    def close(self) -> None:
        self.socket.close()


class DesktopApp:
    """`openchat` (the window) as a child process on a display."""

    def __init__(self, command: Sequence[str], *, display: Display, data_dir: Path,
                 settings: Path, log: Path, extra_env: dict | None = None) -> None:
        self.port = free_port()
        self.devtools_port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = log
        env = {
            **os.environ,
            "DISPLAY": display.name,
            "QTWEBENGINE_REMOTE_DEBUGGING": f"127.0.0.1:{self.devtools_port}",
            "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox",
            "OPENCHAT_LOG_LEVEL": "INFO",
            **(extra_env or {}),
        }
        env.pop("WAYLAND_DISPLAY", None)
        self.log_file = log.open("w")
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), "--settings", str(settings),
             "--port", str(self.port), "--token", TOKEN],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=env,
        )
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"
        self.opened: list[DevTools] = []

    def wait_healthy(self, timeout: float = 60) -> dict:
        def healthy():
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited early:\n{self.log.read_text()}")
            return self.http.get(f"{self.base}/api/health", timeout=2).json()

        deadline = time.monotonic() + timeout
        while True:
            try:
                return healthy()
            except AssertionError:
                raise
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"no answer from the app:\n{self.log.read_text()}"
                    ) from None
                time.sleep(0.1)

    def devtools(self) -> DevTools:
        tools = DevTools(self.devtools_port, self.base)
        self.opened.append(tools)
        return tools

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        for tools in self.opened:
            tools.close()
        self.http.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log_file.close()


def source_command() -> list[str]:
    return [sys.executable, "-m", "openchat_desktop"]


# --- the window, as X sees it --------------------------------------------------------------


def find_window(display: Display, title: str = "OpenChat"):
    """The top-level X window with this title, or None."""
    from Xlib import display as xdisplay

    connection = xdisplay.Display(display.name)
    stack = [connection.screen().root]
    while stack:
        window = stack.pop()
        try:
            if window.get_wm_name() == title and window.get_attributes().map_state:
                return connection, window
            stack.extend(window.query_tree().children)
        except Exception:  # noqa: BLE001 - windows come and go while we look
            continue
    connection.close()
    return None


def window_geometry(display: Display) -> tuple[int, int]:
    found = find_window(display)
    assert found is not None, "the window is not on the screen"
    connection, window = found
    try:
        geometry = window.get_geometry()
        return geometry.width, geometry.height
    finally:
        connection.close()


def resize_window(display: Display, width: int, height: int) -> None:
    found = find_window(display)
    assert found is not None
    connection, window = found
    window.configure(width=width, height=height)
    connection.sync()
    connection.close()


def close_window(display: Display) -> None:
    """What a window manager does when the close button is clicked: WM_DELETE_WINDOW."""
    from Xlib import X
    from Xlib.protocol import event

    found = find_window(display)
    assert found is not None, "the window is not on the screen"
    connection, window = found
    protocols = connection.intern_atom("WM_PROTOCOLS")
    delete = connection.intern_atom("WM_DELETE_WINDOW")
    message = event.ClientMessage(window=window, client_type=protocols,
                                  data=(32, [delete, X.CurrentTime, 0, 0, 0]))
    window.send_event(message, event_mask=X.NoEventMask)
    connection.sync()
    connection.close()


def screenshot(display: Display, path: Path) -> None:
    """The window as it is on the screen (what X shows, not a re-render), saved as PNG."""
    found = find_window(display)
    assert found is not None, "the window is not on the screen"
    connection, window = found
    try:
        geometry = window.get_geometry()
        origin = window.translate_coords(connection.screen().root, 0, 0)
        box = [-origin.x, -origin.y, geometry.width, geometry.height]
    finally:
        connection.close()
    script = (
        "import sys\n"
        "from PyQt6.QtGui import QGuiApplication\n"
        "app = QGuiApplication(sys.argv[:1] + ['-platform', 'xcb'])\n"
        "x, y, w, h = map(int, sys.argv[2:6])\n"
        "app.primaryScreen().grabWindow(0, x, y, w, h).save(sys.argv[1])\n"
    )
    env = {**os.environ, "DISPLAY": display.name}
    subprocess.run([sys.executable, "-c", script, str(path), *map(str, box)], env=env,
                   check=True, timeout=60, capture_output=True)
