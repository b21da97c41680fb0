"""The built-in engine with the real engine and the real starter model: replies stream from
`local/<starter>`, Stop frees the engine, a killed engine or a killed app leaves nothing
behind, an idle engine unloads, and model files are deleted but bundled ones never.

A small context window (`local.context_size`) caps every reply at a few dozen tokens, so the
tests stay quick on a small machine."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from openchat_desktop.local.manager import EngineManager, effective_settings
from openchat_desktop.local.models import find_models
from openchat_desktop.paths import bundled_models_dir
from openchat_desktop.settings.values import LocalEngine

from .support import delay_engine_start, iter_events, open_stream, read_events, texts, wait_for
from .test_cli import Serve

STARTER = "SmolLM2-135M-Instruct.Q4_1"
MODEL = f"local/{STARTER}"
STARTER_FILE = bundled_models_dir() / f"{STARTER}.gguf"

pytestmark = pytest.mark.skipif(
    not STARTER_FILE.is_file(), reason="the starter model is fetched by scripts/setup.sh"
)


def engine_settings(idle_unload: float = 600) -> str:
    return (
        f'default_model = "{MODEL}"\n\n[local]\ncontext_size = 128\nidle_unload = {idle_unload}\n'
        '\n[[providers]]\nid = "local"\nkind = "local"\n'
    )


@pytest.fixture
def app(start_server):
    return start_server(engine_settings())


def engine_state(app) -> dict:
    response = app.get("/api/local/engine")
    assert response.status_code == 200, response.text
    return response.json()


def gone(pid: int) -> bool:
    """The process ended (a zombie nobody reaped has ended too)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def first_text(stream) -> str:
    """Read the stream until the reply's first text; the message id."""
    message_id = None
    for event, data in stream:
        if event == "start":
            message_id = data["assistant_message"]["id"]
        if event == "delta":
            return message_id
    raise AssertionError("the reply ended before any text")


def test_a_reply_streams_from_the_starter_model_and_the_app_never_loads_the_engine(app):
    models = app.get("/api/models").json()
    listed = {m["id"]: m for m in models["models"]}
    assert listed[MODEL]["provider"] == "local"
    assert {"id": "local", "kind": "local", "status": "ok"}.items() <= next(
        p for p in models["providers"] if p["id"] == "local"
    ).items()
    assert engine_state(app)["state"] == "idle"

    session = app.new_session()
    events = app.chat(session["id"], {"message": "Say hello."})
    assert events[-1][0] == "done", events[-1]
    message = events[-1][1]["message"]
    assert message["status"] == "complete" and message["model"] == MODEL
    assert texts(events).strip() and message["content"] == texts(events)

    state = engine_state(app)
    assert state["state"] == "loaded" and state["model"] == STARTER
    assert state["settings"]["context_size"] == 128 and state["settings"]["threads"] >= 1
    assert "xllamacpp" not in sys.modules


def stop(app, stream) -> None:
    message_id = first_text(stream)
    stopped = app.post(f"/api/messages/{message_id}/stop").json()["message"]
    assert stopped["status"] == "stopped"
    assert list(stream)[-1][0] == "done"


def test_stop_mid_reply_frees_the_engine(start_server):
    # A large context: a reply nobody stops runs for many seconds.
    app = start_server(engine_settings().replace("context_size = 128", "context_size = 2048"))
    session = app.new_session()
    story = {"message": "Write a very long story about a dragon, in many chapters."}
    stop(app, iter_events(open_stream(app, session["id"], story)))
    # The engine has one slot: had the stopped request kept it, this reply would wait for
    # the first to fill the context before its first word.
    began = time.monotonic()
    stream = iter_events(open_stream(app, session["id"], story))
    stop(app, stream)
    assert time.monotonic() - began < 5


def test_stop_while_the_model_loads_ends_the_reply_at_once_and_the_load_goes_on(
        start_server, monkeypatch):
    delay_engine_start(monkeypatch, 4)
    app = start_server(engine_settings())
    session = app.new_session()
    began = time.monotonic()
    # The answer's headers come with its first event: a client waits for them in its own thread.
    sending = ThreadPoolExecutor(1).submit(open_stream, app, session["id"],
                                          {"message": "Say hello."})
    wait_for(lambda: engine_state(app)["state"] == "loading", timeout=10)
    # The reply is saved before the engine is asked: found as the page finds it, and stopped.
    latest = app.get(f"/api/sessions/{session['id']}/messages?limit=2").json()["messages"]
    assert [m["role"] for m in latest] == ["user", "assistant"]
    assert latest[1]["status"] == "streaming"
    stopped = app.post(f"/api/messages/{latest[1]['id']}/stop").json()["message"]
    assert stopped["status"] == "stopped"
    events = read_events(sending.result(timeout=10))
    assert time.monotonic() - began < 3, "the reply waited for the model to load"
    assert events[-1][0] == "done" and events[-1][1]["message"]["status"] == "stopped"
    assert engine_state(app)["state"] == "loading"
    # The load goes on, so the next message finds the model ready.
    wait_for(lambda: engine_state(app)["state"] == "loaded", timeout=30)
    again = app.chat(session["id"], {"message": "Say hello."})
    assert again[-1][0] == "done" and again[-1][1]["message"]["status"] == "complete"


def test_a_killed_engine_ends_the_reply_with_a_sentence_and_the_next_message_works(app):
    session = app.new_session()
    stream = iter_events(open_stream(app, session["id"], {"message": "Count from one to fifty."}))
    message_id = first_text(stream)
    pid = engine_state(app)["pid"]
    os.kill(pid, signal.SIGKILL)
    rest = list(stream)
    assert rest[-1][0] == "error", rest[-1]
    error = rest[-1][1]
    assert error["code"] == "engine_failed"
    assert "built-in engine stopped while answering" in error["message"]
    saved = app.get(f"/api/messages/{message_id}").json()
    assert saved["status"] == "error" and saved["content"]  # the partial reply is kept

    events = app.chat(session["id"], {"message": "Say hello."})
    assert events[-1][0] == "done" and events[-1][1]["message"]["status"] == "complete"
    assert engine_state(app)["pid"] != pid


def test_an_idle_engine_unloads(start_server):
    app = start_server(engine_settings(idle_unload=0.5))
    session = app.new_session()
    events = app.chat(session["id"], {"message": "Say hello."})
    assert events[-1][0] == "done"
    pid = engine_state(app)["pid"]
    wait_for(lambda: engine_state(app)["state"] == "idle", timeout=10)
    wait_for(lambda: gone(pid))


def test_a_model_file_is_deleted_but_a_bundled_one_never(app):
    models_dir = Path(engine_state(app)["settings"]["models_dir"])
    models_dir.mkdir(parents=True)
    mine = models_dir / "mine.gguf"
    os.link(STARTER_FILE, mine) if hasattr(os, "link") else shutil.copy(STARTER_FILE, mine)
    assert "local/mine" in [m["id"] for m in app.get("/api/models").json()["models"]]

    session = app.new_session()
    events = app.chat(session["id"], {"message": "Say hello.", "model": "local/mine"})
    assert events[-1][0] == "done"
    assert engine_state(app)["model"] == "mine"

    response = app.delete("/api/providers/local/models/mine")
    assert response.status_code == 204, response.text
    assert not mine.exists()
    assert engine_state(app)["state"] == "idle"  # the engine let go of the file first
    assert "local/mine" not in [m["id"] for m in app.get("/api/models").json()["models"]]

    response = app.delete(f"/api/providers/local/models/{STARTER}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "bundled_model"
    assert "came with OpenChat" in response.json()["error"]["message"]
    assert STARTER_FILE.is_file()

    response = app.delete("/api/providers/local/models/mine")
    assert response.status_code == 404


def test_the_engine_listens_on_this_machine_only_and_refuses_requests_without_its_key(tmp_path):
    settings = effective_settings(LocalEngine(context_size=128), tmp_path)
    engine = EngineManager(lambda: settings)
    starter = find_models(settings.models_dir, bundled_models_dir())[STARTER]
    try:
        with engine.use(starter) as endpoint:
            assert endpoint.base_url.startswith("http://127.0.0.1:")
            assert requests.get(f"{endpoint.base_url}/models", timeout=10).status_code == 401
            wrong = {"Authorization": "Bearer wrong"}
            response = requests.get(f"{endpoint.base_url}/models", headers=wrong, timeout=10)
            assert response.status_code == 401
            right = {"Authorization": f"Bearer {endpoint.api_key}"}
            response = requests.get(f"{endpoint.base_url}/models", headers=right, timeout=10)
            assert response.status_code == 200
    finally:
        engine.shutdown()
    assert endpoint.process.poll() is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_app_leaves_no_engine_behind(tmp_path, serve_settings):
    server = Serve(tmp_path, "--port", "0", "--data-dir", str(tmp_path / "data"),
                   "--settings", str(serve_settings))
    try:
        session = server.http.post(f"{server.base}/api/sessions", json={}, timeout=10).json()
        response = server.http.post(
            f"{server.base}/api/sessions/{session['id']}/chat/stream",
            json={"message": "Say hello."}, stream=True, timeout=30,
        )
        assert read_events(response)[-1][0] == "done"
        state = server.http.get(f"{server.base}/api/local/engine", timeout=10).json()
        pid = state["pid"]
        assert not gone(pid)
        server.process.kill()
        server.process.wait(5)
        wait_for(lambda: gone(pid), timeout=3)
    finally:
        server.close()


@pytest.fixture
def serve_settings(tmp_path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(engine_settings())
    return path
