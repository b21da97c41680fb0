"""A model downloaded from the hub answers: the starter model's real file, served by a fake hub
under another name, is pulled through the app, verified, listed and chatted with through the
built-in engine. The whole path a person takes after "Download", with a real model."""

from __future__ import annotations

import pytest

from .fake_hub import serving
from .support import read_events, texts
from .test_local_engine import STARTER_FILE

pytestmark = pytest.mark.skipif(
    not STARTER_FILE.is_file(), reason="the starter model is fetched by scripts/setup.sh"
)

REPO = "someone/Tiny-Chat-GGUF"
FILE = "Tiny-Chat-Q4_1.gguf"
SETTINGS = '[local]\ncontext_size = 128\n\n[[providers]]\nid = "local"\nkind = "local"\n'


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return STARTER_FILE.read_bytes()


def test_a_downloaded_model_is_verified_listed_and_answers(monkeypatch, start_server, model_bytes):
    with serving(monkeypatch, REPO, {FILE: model_bytes, "README.md": b"# Tiny"}):
        app = start_server(SETTINGS)
        response = app.post("/api/providers/local/models/pull", {"name": f"{REPO}/{FILE}"},
                            stream=True, timeout=60)
        assert response.status_code == 200, response.text
        events = read_events(response)
    assert events[-1][0] == "done", events[-1]
    assert (app.data_dir / "models" / FILE).stat().st_size == len(model_bytes)

    model_id = "local/" + FILE.removesuffix(".gguf")
    listed = {m["id"]: m for m in app.get("/api/models").json()["models"]}
    assert listed[model_id]["details"]["quantization"] == "Q4_1"
    assert not listed[model_id]["details"]["bundled"]

    session = app.new_session()
    reply = app.chat(session["id"], {"message": "Say hello.", "model": model_id})
    assert reply[-1][0] == "done", reply[-1]
    message = reply[-1][1]["message"]
    assert message["status"] == "complete" and message["model"] == model_id
    assert texts(reply).strip()
