"""The app PyInstaller builds from openchat.spec: it starts its window under a virtual display,
answers /api/health, chats, closes cleanly, and keeps the same command line as from source."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from openchat_desktop import __version__
from openchat_desktop.local.child import CHILD_FLAG
from openchat_desktop.local.starter import STARTER
from openchat_desktop.paths import bundled_models_dir

from .desktop_harness import (
    GUI_READY,
    DesktopApp,
    Display,
    close_window,
    screenshot,
    wait_for,
)
from .fake_provider import Reply
from .files import pdf
from .support import ARTIFACTS, provider_settings

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"^OpenChat is serving at (http://127\.0\.0\.1:\d+)/\?token=(\S+)$")

pytestmark = pytest.mark.skipif(not GUI_READY, reason="Xvfb is not installed")


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    """Build the one-folder app once for this module, as build/build.sh does."""
    out = tmp_path_factory.mktemp("package")
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--workpath", str(out / "work"), "--distpath", str(out / "dist"),
         str(ROOT / "openchat.spec")],
        capture_output=True, text=True, cwd=ROOT, timeout=1200,
    )
    assert build.returncode == 0, build.stderr[-5000:]
    app = out / "dist" / "OpenChat"
    size = folder_size(app)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "package-size.txt").write_text(f"{size / 1e6:.0f} MB in {app.name}/\n")
    print(f"packaged app: {size / 1e6:.0f} MB")
    return app


def executable(app: Path) -> str:
    return str(app / ("OpenChat.exe" if os.name == "nt" else "OpenChat"))


def test_packaged_app_has_the_same_command_line(packaged, tmp_path):
    version = subprocess.run([executable(packaged), "--version"], capture_output=True,
                             text=True, timeout=60)
    assert version.stdout.strip() == f"OpenChat {__version__}"

    serve = subprocess.Popen([executable(packaged), "serve", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        match = READY.match(serve.stdout.readline().strip())
        assert match, serve.stderr.read() if serve.poll() is not None else "no ready line"
        base, token = match.groups()
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{base}/api/health", timeout=5).json()["version"] == __version__
        # the page and the migrations travelled with the app
        page = requests.get(f"{base}/?token={token}", timeout=5)
        assert page.status_code == 200 and "<textarea" in page.text
        assert requests.get(f"{base}/js/app.js", headers=headers, timeout=5).ok
        created = requests.post(f"{base}/api/sessions", json={"title": "Kept"}, headers=headers,
                                timeout=5)
        assert created.status_code == 201
        # libraries imported only when needed travelled too: pypdf reads an attached PDF
        upload = requests.post(f"{base}/api/attachments", headers=headers, timeout=30,
                               files={"file": ("notes.pdf", pdf("Packed text"), "text/plain")})
        assert upload.status_code == 201 and upload.json()["kind"] == "pdf", upload.text
    finally:
        serve.terminate()
        serve.communicate(timeout=15)
    assert serve.returncode == 0


def test_packaged_window_starts_answers_and_chats(packaged, tmp_path, fake):
    fake.script(Reply(text="Packaged and answering."))
    settings = tmp_path / "settings.toml"
    settings.write_text(provider_settings(("ollama", "ollama", fake.ollama_url),
                                          default_model="ollama/llama3.2:3b"))
    display = Display()
    app = DesktopApp([executable(packaged)], display=display, data_dir=tmp_path / "data",
                     settings=settings, log=tmp_path / "app.log")
    try:
        assert app.wait_healthy()["status"] == "ok"
        devtools = app.devtools()
        wait_for(lambda: "llama3.2:3b" in devtools.evaluate("document.body.innerText"),
                 timeout=60, what="the page in the packaged window")
        devtools.evaluate("document.querySelector('#message-input').focus()")
        devtools.type_text("Are you there?")
        devtools.press_enter()
        wait_for(lambda: "Packaged and answering." in devtools.evaluate(
            "document.querySelector('#messages').innerText"), timeout=30, what="the reply")
        close_window(display)
        assert app.wait_exit(timeout=20) == 0, app.log.read_text()
        assert "Traceback" not in app.log.read_text()

        # the next start finds the chat as it was left
        again = DesktopApp([executable(packaged)], display=display,
                           data_dir=tmp_path / "data", settings=settings,
                           log=tmp_path / "again.log")
        try:
            again.wait_healthy()
            devtools = again.devtools()
            wait_for(lambda: "Packaged and answering." in devtools.evaluate(
                "document.querySelector('#messages').innerText"), timeout=60,
                what="the chat from the last run")
            close_window(display)
            assert again.wait_exit(timeout=20) == 0
        finally:
            again.close()
    finally:
        app.close()
        display.close()


def engine_children(pid: int) -> list[int]:
    """Processes under `pid` that run the built-in engine (the app started with CHILD_FLAG)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.M)
        if parent and int(parent.group(1)) == pid and CHILD_FLAG.encode() in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.skipif(not (bundled_models_dir() / STARTER.file_name).is_file(),
                    reason="the starter model is fetched by scripts/setup.sh")
def test_packaged_app_chats_with_the_bundled_starter_model_on_first_run(packaged, tmp_path):
    """Double-clicked on a machine with nothing else: no Ollama, no key, no network needed."""
    settings = tmp_path / "settings.toml"
    settings.write_text("[local]\ncontext_size = 128\n")  # a short reply, as a token limit
    display = Display()
    app = DesktopApp([executable(packaged)], display=display, data_dir=tmp_path / "data",
                     settings=settings, log=tmp_path / "app.log",
                     extra_env={"OLLAMA_HOST": "http://127.0.0.1:9"})
    try:
        app.wait_healthy()
        devtools = app.devtools()
        offer = "Chat now with the starter model"
        wait_for(lambda: offer in devtools.evaluate("document.body.innerText"), timeout=60,
                 what="the welcome's offer of the starter model")
        devtools.evaluate(
            f"[...document.querySelectorAll('#welcome button')]"
            f".find(b => b.textContent === {offer!r}).click()")
        wait_for(lambda: devtools.evaluate(
            "document.activeElement && document.activeElement.id === 'message-input'"),
            timeout=10, what="the message box, focused for the first message")
        devtools.type_text("Hi")
        devtools.press_enter()
        reply = "document.querySelector('article.message.assistant')"
        try:
            wait_for(lambda: devtools.evaluate(f"{reply} && {reply}.dataset.status") == "complete",
                     timeout=120, what="the starter model's reply")
        except AssertionError:
            screenshot(display, ARTIFACTS / "packaged-starter-chat-failed.png")
            engine_logs = "".join(p.read_text(errors="replace")[-3000:]
                                  for p in (tmp_path / "data").rglob("*.log"))
            raise AssertionError(
                f"no reply; the page shows:\n{devtools.evaluate('document.body.innerText')}"
                f"\n--- app log:\n{app.log.read_text()[-5000:]}\n--- engine:\n{engine_logs}"
            ) from None
        assert devtools.evaluate(f"{reply}.querySelector('.body').innerText.trim().length") > 0
        screenshot(display, ARTIFACTS / "packaged-starter-chat.png")
        children = engine_children(app.process.pid)
        assert len(children) == 1, "the engine runs in one child of the app"

        close_window(display)
        assert app.wait_exit(timeout=20) == 0, app.log.read_text()
        assert "Traceback" not in app.log.read_text()
        wait_for(lambda: not Path(f"/proc/{children[0]}").exists(), timeout=3,
                 what="the engine child to end with the app")
    finally:
        app.close()
        display.close()


def test_portable_marker_keeps_data_beside_the_app(packaged, monkeypatch):
    monkeypatch.delenv("OPENCHAT_HOME")
    monkeypatch.delenv("OPENCHAT_SETTINGS")
    marker = packaged / "portable"
    marker.touch()
    serve = subprocess.Popen([executable(packaged), "serve"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert READY.match(serve.stdout.readline().strip())
        assert (packaged / "data" / "openchat.sqlite3").is_file()
    finally:
        serve.terminate()
        serve.communicate(timeout=15)
        marker.unlink()
