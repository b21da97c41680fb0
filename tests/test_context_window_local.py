"""The built-in engine's window is its own setting (`[local] context_size`), at most the model's:
the meter and each reply report it, with the real engine and the starter model."""

from __future__ import annotations

import pytest

from openchat_desktop.paths import bundled_models_dir

STARTER = "SmolLM2-135M-Instruct.Q4_1"
MODEL = f"local/{STARTER}"

pytestmark = pytest.mark.skipif(
    not (bundled_models_dir() / f"{STARTER}.gguf").is_file(),
    reason="the starter model is fetched by scripts/setup.sh",
)

SETTINGS = (
    f'default_model = "{MODEL}"\n\n[local]\ncontext_size = 128\n'
    '\n[[providers]]\nid = "local"\nkind = "local"\n'
)


def test_the_engine_window_is_its_context_size(start_server):
    app = start_server(SETTINGS)
    chat = app.new_session(model=MODEL)
    meter = app.get(f"/api/sessions/{chat['id']}/context").json()
    assert meter["window"] == 128 and meter["reply_room"] == 32
    events = app.chat(chat["id"], {"message": "Say hi."})
    done = [data for event, data in events if event == "done"]
    assert done, events
    context = done[0]["message"]["meta"]["context"]
    assert context["window"] == 128
    assert 0 < context["prompt_tokens"] <= 128 - 32
    assert done[0]["message"]["usage"]["prompt_tokens"] > 0

    response = app.post(f"/api/sessions/{chat['id']}/chat/stream", {"message": "word " * 200})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "exceeds_window"
