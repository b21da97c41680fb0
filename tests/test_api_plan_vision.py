"""Plan Mode with a picture: the executor sees it, a planner known to lack vision gets the
words only (a text model sent an image fails at Ollama)."""

from __future__ import annotations

import base64

import pytest

from .fake_provider import Reply
from .files import png

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "llava:7b", "qwen2.5vl:7b",
    capabilities={"llava:7b": ["completion", "vision"],
                  "qwen2.5vl:7b": ["completion", "vision"]},
)


@pytest.fixture
def default_model():
    return "ollama/llava:7b"


def send_photo(app, fake, planner: str) -> list[dict]:
    image = png()
    upload = app.post("/api/attachments", files={"file": ("view.png", image, "image/png")})
    assert upload.status_code == 201, upload.text
    fake.script(Reply(text="1. Look.\n2. Describe."), Reply(text="A sunset."))
    session = app.new_session()
    events = app.chat(session["id"], {
        "message": "What is this?", "attachments": [upload.json()["id"]],
        "plan": {"planner": planner, "executor": "ollama/llava:7b"},
    })
    assert events[-1][0] == "done", events
    planner_body, executor_body = (r.body for r in fake.chat_requests()[-2:])
    encoded = base64.b64encode(image).decode("ascii")
    assert executor_body["model"] == "llava:7b"
    assert executor_body["messages"][-1]["images"] == [encoded]
    return planner_body["messages"]


def test_a_text_planner_gets_the_words_without_the_picture(app, fake):
    messages = send_photo(app, fake, "ollama/llama3.2:3b")
    assert messages[-1]["content"] == "What is this?"
    assert all("images" not in m for m in messages)


def test_a_seeing_planner_gets_the_picture_too(app, fake):
    messages = send_photo(app, fake, "ollama/qwen2.5vl:7b")
    assert messages[-1]["images"] == [base64.b64encode(png()).decode("ascii")]
