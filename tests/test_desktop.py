"""The real desktop window under a virtual X display: a streamed reply shows in it, closing it
saves a running reply and exits, its size is remembered, a second launch hands over to the
first, and without a display the app says why and opens the browser instead."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest
import requests

from openchat_desktop.store import Store

from .desktop_harness import (
    GUI_READY,
    TOKEN,
    DesktopApp,
    Display,
    close_window,
    resize_window,
    screenshot,
    source_command,
    wait_for,
    window_geometry,
)
from .fake_provider import Reply
from .support import ARTIFACTS, provider_settings

pytestmark = pytest.mark.skipif(not GUI_READY, reason="Xvfb is not installed")

ANSWER = (
    "Here is a greeting in Python:\n\n```python\nprint('hello from the window')\n```\n\n"
    "- it prints one line\n- it needs nothing installed"
)
LAST_REPLY = "[...document.querySelectorAll('.message.assistant')].at(-1)?.innerText || ''"


@pytest.fixture(scope="module")
def display():
    screen = Display()
    yield screen
    screen.close()


@pytest.fixture
def launch(display, tmp_path, fake):
    settings = tmp_path / "settings.toml"
    settings.write_text(provider_settings(("ollama", "ollama", fake.ollama_url),
                                          default_model="ollama/llama3.2:3b"))
    apps: list[DesktopApp] = []

    def start(command=None, **kw) -> DesktopApp:
        app = DesktopApp(command or source_command(), display=display,
                         data_dir=tmp_path / "data", settings=settings,
                         log=tmp_path / f"app-{len(apps)}.log", **kw)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.close()


def chat_in_window(app: DesktopApp, text: str):
    devtools = app.devtools()
    # the page is ready once the model list has arrived
    wait_for(lambda: "llama3.2:3b" in devtools.evaluate("document.body.innerText"),
             timeout=30, what="the page with its models")
    devtools.evaluate("document.querySelector('#message-input').focus()")
    devtools.type_text(text)
    devtools.press_enter()
    return devtools


def test_window_shows_a_streamed_reply_then_closes_saving_a_running_one(launch, display, fake):
    fake.script(
        Reply(text=ANSWER, delay=0.02),
        Reply(text=" ".join(f"word{i}" for i in range(400)), delay=0.05),
    )
    app = launch()
    app.wait_healthy()
    devtools = chat_in_window(app, "Say hello in Python")
    wait_for(lambda: "it needs nothing installed" in devtools.evaluate(LAST_REPLY),
             timeout=30, what="the streamed reply in the window")
    reply = devtools.evaluate(LAST_REPLY)
    assert "print('hello from the window')" in reply
    assert devtools.evaluate("document.title") == "OpenChat"
    time.sleep(0.5)  # let the highlight and the tokens/s line settle for the picture
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot(display, ARTIFACTS / "window.png")

    # a second, slow reply is running when the window is closed
    devtools.type_text("Count slowly")
    devtools.press_enter()
    wait_for(lambda: "word5" in devtools.evaluate(LAST_REPLY), timeout=30,
             what="the second reply to start")
    devtools.close()
    closed_at = time.monotonic()
    close_window(display)
    assert app.wait_exit(timeout=15) == 0, app.log.read_text()
    took = time.monotonic() - closed_at
    print(f"closed and exited in {took:.2f} s")

    with Store(app.data_dir / "openchat.sqlite3") as store:
        (session,) = store.list_sessions()
        messages = store.branch(session.id)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].content == ANSWER and messages[1].status == "complete"
    cut = messages[3]
    assert cut.status == "interrupted"
    assert cut.content.startswith("word0 word1 word2 word3 word4 word5")
    assert "word399" not in cut.content
    # nothing is left holding the data folder
    assert not (app.data_dir / "instance.json").exists()


def test_window_size_is_remembered(launch, display):
    first = launch()
    first.wait_healthy()
    wait_for(lambda: window_geometry(display) == (1200, 800), timeout=30,
             what="the default window size")
    resize_window(display, 1000, 700)
    wait_for(lambda: window_geometry(display) == (1000, 700), timeout=10, what="the resize")
    time.sleep(0.5)  # the toolkit reports the new size to the app
    close_window(display)
    assert first.wait_exit(timeout=15) == 0
    saved = json.loads((first.data_dir / "window.json").read_text())
    assert (saved["width"], saved["height"]) == (1000, 700)

    second = launch()
    second.wait_healthy()
    wait_for(lambda: window_geometry(display) == (1000, 700), timeout=30,
             what="the remembered size")
    close_window(display)
    assert second.wait_exit(timeout=15) == 0


def test_second_launch_brings_the_first_forward_and_starts_no_server(launch, tmp_path):
    first = launch()
    first.wait_healthy()
    note = json.loads((first.data_dir / "instance.json").read_text())
    assert note["pid"] == first.process.pid and note["window"] is True
    assert stat.S_IMODE((first.data_dir / "instance.json").stat().st_mode) == 0o600

    second = launch()
    assert second.wait_exit(timeout=30) == 0
    assert "already open; its window was brought to the front" in second.log.read_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{second.base}/api/health", timeout=2)
    assert first.process.poll() is None
    assert first.http.get(f"{first.base}/api/instance").json() == {"window": True}
    assert json.loads((first.data_dir / "instance.json").read_text())["pid"] == first.process.pid


def test_without_a_display_the_page_opens_in_the_browser(tmp_path):
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "browser.sh"
    fake_browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    fake_browser.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["BROWSER"] = str(fake_browser)
    process = subprocess.Popen(
        [sys.executable, "-m", "openchat_desktop", "--token", TOKEN],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        url = wait_for(lambda: opened.read_text().strip(), timeout=30, what="the browser")
        assert url.endswith(f"/?token={TOKEN}")
        base = url.split("/?")[0]
        assert requests.get(f"{base}/api/health", timeout=5).json()["status"] == "ok"
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0
    assert ("OpenChat could not open its window: there is no graphical display here "
            "(neither DISPLAY nor WAYLAND_DISPLAY is set).") in err
    assert "OpenChat opens in your browser instead." in out
    assert "Traceback" not in err


def test_links_open_in_the_system_browser_and_export_uses_the_save_dialog(
    launch, display, fake, tmp_path
):
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "browser.sh"
    fake_browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    fake_browser.chmod(0o755)
    fake.script(Reply(text="See [the docs](https://example.com/docs) for more."))
    app = launch(extra_env={"BROWSER": str(fake_browser)})
    app.wait_healthy()
    devtools = chat_in_window(app, "Where are the docs?")
    wait_for(lambda: "for more" in devtools.evaluate(LAST_REPLY), timeout=30, what="the reply")
    page_url = devtools.evaluate("location.href")

    devtools.evaluate("document.querySelector('.message.assistant a').click()")
    assert wait_for(lambda: opened.read_text().strip(), timeout=15,
                    what="the system browser") == "https://example.com/docs"
    assert devtools.evaluate("location.href") == page_url  # the chat stayed in the window

    # Export through the system's Save dialog: the server asks the window, a person types a
    # file name and presses Enter.
    session_id = app.http.get(f"{app.base}/api/sessions").json()["sessions"][0]["id"]
    target = tmp_path / "exported chat.md"
    answer: dict = {}

    def export() -> None:
        answer["response"] = app.http.post(
            f"{app.base}/api/sessions/{session_id}/export/save", json={"format": "markdown"},
            timeout=60,
        )

    import threading

    asking = threading.Thread(target=export)
    asking.start()
    answer_save_dialog(display, target)
    asking.join(30)
    assert answer["response"].json() == {"saved": str(target)}
    assert target.read_text().startswith("# Where are the docs?\n\n## You\n\nWhere are the docs?")

    # A file in the conversation: its chip saves a copy through the same dialog.
    upload = app.http.post(f"{app.base}/api/attachments",
                           files={"file": ("notes.md", b"# Notes\n", "text/plain")}).json()
    fake.script(Reply(text="Noted."))
    with app.http.post(f"{app.base}/api/sessions/{session_id}/chat/stream",
                       json={"message": "Keep these", "attachments": [upload["id"]]},
                       stream=True) as streamed:
        assert b"event: done" in b"".join(streamed.iter_content(None))
    devtools.call("Page.reload")
    wait_for(lambda: devtools.evaluate("!!document.querySelector('a.attached-file')"),
             timeout=30, what="the file chip")
    copy = tmp_path / "copy of notes.md"
    devtools.evaluate("setTimeout(() => document.querySelector('a.attached-file').click(), 0)")
    answer_save_dialog(display, copy)
    assert wait_for(lambda: copy.is_file() and copy.read_bytes(), timeout=15,
                    what="the saved copy") == b"# Notes\n"
    close_window(display)
    assert app.wait_exit(timeout=15) == 0


def answer_save_dialog(display, target) -> None:
    """Type a path into the window's Save dialog and press Enter, as a person would."""
    env = {**os.environ, "DISPLAY": display.name}
    wait_for(lambda: subprocess.run(["xdotool", "search", "--name", "Save"], env=env,
                                    capture_output=True).returncode == 0,
             timeout=30, what="the Save dialog")
    time.sleep(0.5)
    subprocess.run(["xdotool", "key", "ctrl+a"], env=env, check=True)
    subprocess.run(["xdotool", "type", "--delay", "10", str(target)], env=env, check=True)
    subprocess.run(["xdotool", "key", "Return"], env=env, check=True)
    wait_for(lambda: subprocess.run(["xdotool", "search", "--name", "Save"], env=env,
                                    capture_output=True).returncode != 0,
             timeout=15, what="the Save dialog to close")
