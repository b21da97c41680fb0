"""Model options with the built-in engine and its real starter model: a length cap and a seed
reach llama.cpp's server, and the reply keeps to the cap."""

from __future__ import annotations

import pytest

from .test_local_engine import MODEL, STARTER_FILE, engine_settings

pytestmark = pytest.mark.skipif(
    not STARTER_FILE.is_file(), reason="the starter model is fetched by scripts/setup.sh"
)


def test_max_tokens_and_seed_reach_the_built_in_engine(start_server):
    app = start_server(engine_settings())
    session = app.new_session(model=MODEL)
    options = {"max_tokens": 5, "seed": 1, "temperature": 0.8, "top_k": 20}
    replies = []
    for _ in range(2):
        events = app.chat(session["id"], {
            "message": "Tell me a long story about a dragon.", "options": options,
            "parent_id": None,
        })
        assert events[-1][0] == "done", events[-1]
        replies.append(events[-1][1]["message"])
    for reply in replies:
        assert reply["status"] == "complete"
        assert 0 < reply["usage"]["completion_tokens"] <= 5
        assert reply["usage"]["finish_reason"] == "length"
        assert reply["meta"]["options"] == options
    # The same seed, the same sampling and the same prompt: the same words.
    assert replies[0]["content"] == replies[1]["content"]
