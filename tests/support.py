"""What the tests share besides fixtures: a client for a running app, SSE reading, settings
text for fake providers, and the actions a person takes on the page.

Test modules import from here; `conftest.py` holds only fixtures and hooks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest
import requests

from openchat_desktop.local import child as engine_child

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from openchat_desktop.runtime import Runtime

T = TypeVar("T")

TOKEN = "test-token-0123456789"
CHROMIUM = "/usr/bin/chromium"  # Debian's; the test command installs it, nothing downloads one
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

StreamEvent = tuple[str, dict[str, Any]]


# --- the app over HTTP ------------------------------------------------------------------------


@dataclass
class Server:
    """A running app and a `requests` session that carries the token."""

    runtime: Runtime
    base: str
    http: requests.Session
    settings_path: Path
    data_dir: Path

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        if body is not None:
            kw["json"] = body
        return self.http.post(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.http.patch(self.base + path, json=body, timeout=10, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.http.put(self.base + path, json=body, timeout=10, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.http.delete(self.base + path, timeout=10, **kw)

    def new_session(self, **fields: object) -> dict[str, Any]:
        response = self.post("/api/sessions", fields)
        assert response.status_code == 201, response.text
        session: dict[str, Any] = response.json()
        return session

    def chat(self, session_id: str, body: dict[str, Any]) -> list[StreamEvent]:
        """Send and read the whole stream; returns (event, data) pairs."""
        return read_events(open_stream(self, session_id, body))


def open_stream(app: Server, session_id: str, body: dict[str, Any]) -> requests.Response:
    """Start a chat request and return its open event stream, unread."""
    response = app.post(f"/api/sessions/{session_id}/chat/stream", body, stream=True)
    assert response.status_code == 200, response.text
    return response


def iter_events(response: requests.Response) -> Iterator[StreamEvent]:
    """(event type, data) pairs of an SSE response as they arrive (ids in data['_id'])."""
    kind: str | None = None
    data: list[str] = []
    event_id: int | None = None
    # Lines come as str: an event stream's content type is text, so requests decodes it.
    for line in cast(Iterator[str], response.iter_lines(decode_unicode=True)):
        if line == "":
            if kind is not None:
                payload = json.loads("\n".join(data)) if data else {}
                payload["_id"] = event_id
                yield kind, payload
            kind, data, event_id = None, [], None
        elif line.startswith(":"):
            continue
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line.startswith("id: "):
            event_id = int(line[4:])


def read_events(response: requests.Response) -> list[StreamEvent]:
    """The whole SSE response as (event type, data) pairs."""
    with response:
        return list(iter_events(response))


def texts(events: list[StreamEvent], kind: str = "delta") -> str:
    """The text of a stream's `kind` events, joined."""
    return "".join(data["text"] for event, data in events if event == kind)


def wait_for(predicate: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll `predicate` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def provider_settings(*providers: tuple[str, str, str], default_model: str | None = None) -> str:
    """Settings TOML for (id, kind, base_url) providers."""
    lines = []
    if default_model:
        lines.append(f'default_model = "{default_model}"')
    for provider_id, kind, base_url in providers:
        lines += ["", "[[providers]]", f'id = "{provider_id}"', f'kind = "{kind}"',
                  f'base_url = "{base_url}"']
    return "\n".join(lines) + "\n"


# --- the page ---------------------------------------------------------------------------------


def shoot(page: Page, name: str) -> None:
    """Save a screenshot to test-artifacts/ (look at them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def message_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message")


def send(page: Page, text: str) -> None:
    """Type a message in the composer and press Enter, as a person does."""
    box = message_box(page)
    box.fill(text)
    box.press("Enter")


def wait_done(page: Page, count: int, timeout: float = 10_000) -> None:
    """Wait until `count` replies on the page are complete."""
    from playwright.sync_api import expect

    expect(page.locator('article.message.assistant[data-status="complete"]')).to_have_count(
        count, timeout=timeout)


def send_and_stop(page: Page, text: str, *, key: str | None = None, after_ms: int = 0,
                  again: int = 0) -> float:
    """Type `text`, press Enter and then click where Send was (Stop takes its place), or press
    `key`, `after_ms` later (0: before the page has done anything else), as a person who
    changed their mind does, and `again` times more. Both happen inside the page, so how busy
    the test machine is does not stretch the gap; returns it in milliseconds, as the page
    measured it. Right after, the Stop button shows it was pressed."""
    box = message_box(page)
    box.fill(text)
    box.focus()
    send_button = page.get_by_role("button", name="Send").bounding_box()
    point = {"x": send_button["x"] + send_button["width"] / 2,
             "y": send_button["y"] + send_button["height"] / 2, "key": key, "after": after_ms,
             "again": again}
    gap, pressed = page.evaluate("""async ({ x, y, key, after, again }) => {
        const press = (target, name) => target.dispatchEvent(new KeyboardEvent("keydown",
            { key: name, code: name, bubbles: true, cancelable: true }));
        const start = performance.now();
        press(document.activeElement, "Enter");
        if (after) await new Promise((resolve) => setTimeout(resolve, after));
        const gap = performance.now() - start;
        for (let time = 0; time <= again; time++) {
            if (key) press(document.activeElement, key);
            else document.elementFromPoint(x, y).click();
        }
        const stop = document.getElementById("stop");
        return [gap, !stop.hidden && stop.disabled];
    }""", point)
    assert pressed, "the Stop button does not show that it was pressed"
    return gap


def delay_engine_start(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The starter model loads in well under a second; a model worth using takes several. The
    engine child then waits `seconds` before it starts, as a big model's load would."""
    command = engine_child.command
    monkeypatch.setattr(engine_child, "command", lambda: [
        "sh", "-c", f'sleep {seconds}; exec "$@"', "sh", *command()])


def modules_loaded(tmp_path: Path, doing: str, modules: tuple[str, ...]) -> list[bool]:
    """Whether each of `modules` was imported by a fresh process that started a Runtime, ran
    `doing` (Python lines using `runtime`) and shut it down: what a library loaded only when
    used must not cost an app that does not use it."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from openchat_desktop.runtime import Runtime\n"
        f"runtime = Runtime(data_dir=Path({str(tmp_path / 'data')!r}), "
        f"settings_path=Path({str(tmp_path / 'settings.toml')!r}))\n"
        f"{doing}\n"
        "runtime.shutdown()\n"
        f"print(*[name in sys.modules for name in {list(modules)!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    return [word == "True" for word in result.stdout.split()]
