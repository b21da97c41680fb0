"""Fixtures and hooks: an isolated data dir and settings file for every test, a real
`openchat` server on 127.0.0.1 (a `Runtime` in a thread) talking to a fake model server,
and the page in headless Chromium. What tests import lives in `support.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from openchat_desktop.store import Store

from . import repo_bounds
from .fake_provider import FakeProvider
from .support import CHROMIUM, CHROMIUM_FLAGS, TOKEN, Server, provider_settings

DEFAULT_FAKE_MODELS = ("llama3.2:3b", "qwen3:8b")
VENDOR_VARIABLES = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OLLAMA_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Keep tests away from the real user's data, settings and Ollama."""
    monkeypatch.setenv("OPENCHAT_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("OPENCHAT_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.delenv("OPENCHAT_TOKEN", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    for name in VENDOR_VARIABLES:  # each would add a provider, or a key, to every test
        monkeypatch.delenv(name, raising=False)
    # Never the person's keychain: keys go to the file unless a test gives a keychain.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return tmp_path


@pytest.fixture
def keychain(tmp_path, monkeypatch) -> Iterator[Path]:
    """A usable keychain (tests/json_keyring.py) for the app in this process and in any child
    it starts: the path of the JSON file holding its keys."""
    import keyring
    from keyring.backends import fail

    from .json_keyring import ENV, JsonKeyring

    path = tmp_path / "keychain.json"
    monkeypatch.setenv(ENV, str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.json_keyring.JsonKeyring")
    keyring.set_keyring(JsonKeyring())
    yield path
    keyring.set_keyring(fail.Keyring())


@pytest.fixture
def start_server(tmp_path) -> Iterator[Callable[..., Server]]:
    """Start `openchat` on a free port with the given settings text; stopped after the test."""
    from openchat_desktop.runtime import Runtime

    started: list[Server] = []

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


# --- the fake model server and the app that talks to it ----------------------------------------


# A pytest_configure of its own (pluggy's `specname`): marks here, the repository bounds
# in the one at the end.
@pytest.hookimpl(specname="pytest_configure")
def pytest_configure_marks(config: pytest.Config) -> None:
    """Register the `fake_models` mark (an unknown mark is an error in this suite)."""
    config.addinivalue_line(
        "markers",
        "fake_models(*names, capabilities=None, context_lengths=None, registry=None, "
        "loaded=()): the models the `fake` server has and what /api/show says they can do",
    )


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """The fake model server: two models that can only complete, unless the test or its
    module is marked `fake_models(...)` (the test's own mark wins). The mark takes the model
    names, then `FakeProvider`'s keywords (`capabilities`, `context_lengths`, `registry`…)
    and `loaded`, the models Ollama reports as in memory."""
    mark = request.node.get_closest_marker("fake_models")
    names: tuple[str, ...] = DEFAULT_FAKE_MODELS
    options: dict[str, Any] = {}
    if mark is not None:
        names = mark.args or names
        options = dict(mark.kwargs)
    loaded = options.pop("loaded", ())
    with FakeProvider(models=names, **options) as provider:
        provider.loaded.extend(loaded)
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


def pytest_configure(config: pytest.Config) -> None:
    repo_bounds.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that read a file beside the repository fails, naming the files."""
    if repo_bounds.outside:
        names = "\n  ".join(sorted(set(repo_bounds.outside)))
        print(f"\nTests read files outside the repository (a bare clone would fail):\n  {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A chat database of its own, in a real SQLite file."""
    opened = Store(tmp_path / "data" / "openchat.sqlite3")
    yield opened
    opened.close()
