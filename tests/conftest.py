"""Shared fixtures: an isolated data dir and settings file for every test, and a real
`openchat` server on 127.0.0.1 (a `Runtime` in a thread) talking to fake providers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from . import repo_bounds

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


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Keep tests away from the real user's data, settings and Ollama."""
    monkeypatch.setenv("OPENCHAT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("OPENCHAT_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.delenv("OPENCHAT_TOKEN", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    return tmp_path


@dataclass
class Server:
    """A running app and a `requests` session that carries the token."""

    runtime: object
    base: str
    http: requests.Session
    settings_path: Path
    data_dir: Path

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, body: object = None, **kw) -> requests.Response:
        if body is not None:
            kw["json"] = body
        return self.http.post(self.base + path, timeout=kw.pop("timeout", 10), **kw)

    def patch(self, path: str, body: object, **kw) -> requests.Response:
        return self.http.patch(self.base + path, json=body, timeout=10, **kw)

    def put(self, path: str, body: object, **kw) -> requests.Response:
        return self.http.put(self.base + path, json=body, timeout=10, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.http.delete(self.base + path, timeout=10, **kw)

    def new_session(self, **fields) -> dict:
        response = self.post("/api/sessions", fields)
        assert response.status_code == 201, response.text
        return response.json()

    def chat(self, session_id: str, body: dict) -> list[tuple[str, dict]]:
        """Send and read the whole stream; returns (event, data) pairs."""
        response = self.post(f"/api/sessions/{session_id}/chat/stream", body, stream=True)
        assert response.status_code == 200, response.text
        return read_events(response)


def iter_events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    """(event type, data) pairs of an SSE response as they arrive (ids in data['_id'])."""
    kind, data, event_id = None, [], None
    for line in response.iter_lines(decode_unicode=True):
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


def read_events(response: requests.Response) -> list[tuple[str, dict]]:
    """The whole SSE response as (event type, data) pairs."""
    with response:
        return list(iter_events(response))


def provider_settings(*providers: tuple[str, str, str], default_model: str | None = None) -> str:
    """Settings TOML for (id, kind, base_url) providers."""
    lines = []
    if default_model:
        lines.append(f'default_model = "{default_model}"')
    for provider_id, kind, base_url in providers:
        lines += ["", "[[providers]]", f'id = "{provider_id}"', f'kind = "{kind}"',
                  f'base_url = "{base_url}"']
    return "\n".join(lines) + "\n"


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """Start `openchat` on a free port with the given settings text; stopped after the test."""
    from openchat_desktop.runtime import Runtime

    started: list = []

    def start(settings_text: str | None = None, *, data_dir: Path | None = None) -> Server:
        settings_path = tmp_path / "settings.toml"
        if settings_text is not None:
            settings_path.write_text(settings_text)
        data = data_dir or tmp_path / "data"
        data.mkdir(parents=True, exist_ok=True)
        runtime = Runtime(data_dir=data, settings_path=settings_path, token=TOKEN)
        runtime.start()
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        server = Server(runtime, runtime.base_url, http, settings_path, data)
        started.append(server)
        return server

    yield start
    for server in started:
        server.http.close()
        server.runtime.shutdown()


@pytest.fixture
def server(start_server) -> Server:
    return start_server()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the page tests (one per test session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser):
    """Open the app's page in a fresh browser context, logged in with the launch token.

    The page records every URL it requests (`page.requested`) and every dialog it opens
    (`page.dialogs`, dismissed)."""
    from playwright.sync_api import expect

    contexts = []

    def open_(server: Server, *, width: int = 1200, height: int = 800, wait: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{server.base}/?token={TOKEN}")
        if wait:
            expect(page.get_by_role("textbox", name="Message")).to_be_visible()
        return page

    yield open_
    for context in contexts:
        context.close()


def shoot(page, name: str) -> None:
    """Save a screenshot to test-artifacts/ (look at them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# --- the page with a fake model server (page test files override what they need) -----------


@pytest.fixture
def fake():
    """A fake model server with two models; a test module may define its own."""
    from .fake_provider import FakeProvider

    with FakeProvider(models=["llama3.2:3b", "qwen3:8b"]) as provider:
        yield provider


@pytest.fixture
def default_model() -> str | None:
    """The default model the settings below name; a test module may override it (None: none)."""
    return "ollama/llama3.2:3b"


@pytest.fixture
def ollama_settings(fake, default_model) -> str:
    """Settings text with the fake server as the Ollama provider "ollama"."""
    return provider_settings(("ollama", "ollama", fake.ollama_url), default_model=default_model)


@pytest.fixture
def both_kinds_settings(fake, default_model) -> str:
    """Settings text with the fake server twice: as Ollama ("ollama") and as an
    OpenAI-compatible server ("compat"). Add to it for more providers or options."""
    return provider_settings(("ollama", "ollama", fake.ollama_url),
                             ("compat", "openai", fake.openai_url), default_model=default_model)


@pytest.fixture
def app(start_server, ollama_settings) -> Server:
    return start_server(ollama_settings)


@pytest.fixture
def page(open_page, app):
    return open_page(app)


def message_box(page):
    return page.get_by_role("textbox", name="Message")


def send(page, text: str) -> None:
    """Type a message in the composer and press Enter, as a person does."""
    box = message_box(page)
    box.fill(text)
    box.press("Enter")


def wait_done(page, count: int, timeout: float = 10_000) -> None:
    """Wait until `count` replies on the page are complete."""
    from playwright.sync_api import expect

    expect(page.locator('article.message.assistant[data-status="complete"]')).to_have_count(
        count, timeout=timeout)


# --- helpers for the API tests ------------------------------------------------------------------


def texts(events: list[tuple[str, dict]], kind: str = "delta") -> str:
    """The text of a stream's `kind` events, joined."""
    return "".join(data["text"] for event, data in events if event == kind)


def wait_for(predicate, timeout: float = 5.0):
    """Poll `predicate` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def open_stream(app: Server, session_id: str, body: dict) -> requests.Response:
    """Start a chat request and return its open event stream, unread."""
    response = app.post(f"/api/sessions/{session_id}/chat/stream", body, stream=True)
    assert response.status_code == 200, response.text
    return response


def pytest_configure(config: pytest.Config) -> None:
    repo_bounds.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that read a file beside the repository fails, naming the files."""
    if repo_bounds.outside:
        names = "\n  ".join(sorted(set(repo_bounds.outside)))
        print(f"\nTests read files outside the repository (a bare clone would fail):\n  {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

