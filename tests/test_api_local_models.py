"""Managing Ollama's models through the real server: the installed list, pulls with progress,
cancel and errors in plain words, and delete."""

from __future__ import annotations

import pytest

from .support import iter_events, provider_settings, read_events

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "llava:7b",
    capabilities={"llava:7b": ["completion", "vision"]},
    registry=["llama3.2:3b", "llava:7b", "qwen3:8b"],
)


@pytest.fixture
def default_model():
    return None


@pytest.fixture
def app(start_server, both_kinds_settings):
    offline = provider_settings(("offline", "ollama", "http://127.0.0.1:9"))
    return start_server(both_kinds_settings + offline)


def pull(app, name, provider="ollama"):
    response = app.post(f"/api/providers/{provider}/models/pull", {"name": name}, stream=True,
                        timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return response


def test_installed_models_with_their_details_and_whether_loaded(app, fake):
    fake.loaded.append("llava:7b")
    models = app.get("/api/providers/ollama/models").json()["models"]
    assert [m["name"] for m in models] == ["llama3.2:3b", "llava:7b"]
    llava = models[1]
    assert llava["id"] == "ollama/llava:7b"
    assert llava["size"] == 2019393189
    assert llava["parameter_size"] == "3.2B" and llava["quantization"] == "Q4_K_M"
    assert llava["capabilities"] == ["completion", "vision"]
    assert llava["loaded"] is True and llava["size_vram"] == 3338801804
    assert models[0]["loaded"] is False and models[0]["size_vram"] is None


def test_only_ollama_providers_have_managed_models(app):
    response = app.get("/api/providers/compat/models")
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_ollama"
    response = app.get("/api/providers/nope/models")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "provider_not_found"
    response = app.get("/api/providers/offline/models")
    assert response.status_code == 502
    assert "ollama serve" in response.json()["error"]["message"]


def test_a_pull_streams_progress_and_installs_the_model(app, fake):
    fake.pull_steps = 4
    events = read_events(pull(app, "qwen3:8b"))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert events[0][1]["pull"]["name"] == "qwen3:8b"
    progress = [data for kind, data in events if kind == "progress"]
    completed = [p["completed"] for p in progress if p["total"]]
    assert completed == sorted(completed) and completed[-1] == 1000
    assert all(set(p) == {"status", "completed", "total", "_id"} for p in progress)
    assert events[-1][1]["pull"]["state"] == "done"
    assert "qwen3:8b" in fake.models
    assert {"model": "qwen3:8b", "stream": True} in [r.body for r in fake.requests]
    ids = [m["id"] for m in app.get("/api/models").json()["models"]]
    assert "ollama/qwen3:8b" in ids


@pytest.mark.parametrize(
    ("name", "error", "code", "words"),
    [
        ("no-such-model", None, "model_not_found",
         "Ollama has no model called “no-such-model”. Check the name at ollama.com/library."),
        ("qwen3:8b", "write /root/.ollama/models/blobs/sha256-1-partial: no space left on device",
         "disk_full", "not enough free disk space"),
    ],
)
def test_pull_errors_are_explained(app, fake, name, error, code, words):
    fake.pull_error = error
    events = read_events(pull(app, name))
    kind, data = events[-1]
    assert kind == "error"
    assert data["code"] == code and words in data["message"]
    assert name not in fake.models


def test_a_pull_from_an_ollama_that_is_not_running_says_how_to_start_it(app):
    events = read_events(pull(app, "qwen3:8b", provider="offline"))
    kind, data = events[-1]
    assert kind == "error" and data["code"] == "provider_unavailable"
    assert "ollama serve" in data["message"]


def test_cancel_closes_the_download_and_a_follower_can_rejoin(app, fake):
    fake.pull_steps = 4
    fake.pull_hold_at = 2  # holds at 500 of 1000 until released
    response = pull(app, "qwen3:8b")
    events = iter_events(response)
    kind, start = next(events)
    pull_id = start["pull"]["id"]
    for kind, data in events:
        if kind == "progress" and data["completed"] == 500:
            break
    listed = app.get("/api/pulls").json()["pulls"]
    assert [(p["id"], p["state"], p["completed"]) for p in listed] == [(pull_id, "running", 500)]
    # A second request for the same model joins the running download.
    again = pull(app, "qwen3:8b")
    joined = iter_events(again)
    assert next(joined)[1]["pull"]["id"] == pull_id
    again.close()
    cancelled = app.post(f"/api/pulls/{pull_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["pull"]["state"] == "cancelled"
    rest = list(events)
    response.close()
    assert rest[-1][0] == "error" and rest[-1][1]["code"] == "cancelled"
    assert fake.disconnected.wait(5)  # the upstream request was really closed
    assert "qwen3:8b" not in fake.models
    replay = read_events(app.get(f"/api/pulls/{pull_id}/events", stream=True))
    assert [kind for kind, _ in replay][0] == "start" and replay[-1][1]["code"] == "cancelled"
    assert app.post("/api/pulls/nope/cancel").status_code == 404


@pytest.mark.parametrize("name", ["", "   ", "two words", "x" * 400, 7])
def test_a_pull_needs_a_model_name(app, name):
    response = app.post("/api/providers/ollama/models/pull", {"name": name})
    assert response.status_code == 422


def test_delete_a_model(app, fake):
    assert app.delete("/api/providers/ollama/models/llava:7b").status_code == 204
    assert fake.models == ["llama3.2:3b"]
    assert {"model": "llava:7b"} in [r.body for r in fake.requests]
    again = app.delete("/api/providers/ollama/models/llava:7b")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "model_not_found"
    assert "Ollama has no model called “llava:7b”" in again.json()["error"]["message"]
    offline = app.delete("/api/providers/offline/models/llava:7b")
    assert offline.status_code == 502 and "ollama serve" in offline.json()["error"]["message"]


def test_a_model_name_with_slashes_can_be_deleted(app, fake):
    fake.models.append("hf.co/someone/model:Q4")
    assert app.delete("/api/providers/ollama/models/hf.co/someone/model:Q4").status_code == 204
    assert "hf.co/someone/model:Q4" not in fake.models
