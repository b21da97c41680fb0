"""The context window against a fake Ollama with small windows: what is sent once a chat no
longer fits (system and last message kept, whole turns dropped), what each reply records in
`meta.context`, summaries written once and reused, a failed summary falling back to dropping,
a message too long for the window refused before anything is written, and Ollama's num_ctx
chosen from steps and kept stable per model.

Message texts are words of three letters and a space: four characters, a token by the
estimate, and a word for the fake's usage report (it counts words), so the correction by the
reported usage stays near 1 unless a test wants otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from openchat_desktop.chat.window import SUMMARIZER_PROMPT, SUMMARY_HEADING

from .fake_provider import Reply
from .support import Server, provider_settings

pytestmark = pytest.mark.fake_models(
    "small", "big", context_lengths={"small": 512, "big": 131072}
)

SYSTEM = "Be brief."


def words(label: str, count: int = 100) -> str:
    """`count` tokens by the estimate and `count` words for the fake: `label` first."""
    return " ".join([label[:3].ljust(3, "x"), *["abc"] * (count - 1)]) + " "


@pytest.fixture
def chat(app: Server, fake) -> dict[str, Any]:
    fake.default = Reply(echo=True)
    return app.new_session(model="ollama/small", system_prompt=SYSTEM)


def send(app: Server, session_id: str, text: str) -> list:
    return app.chat(session_id, {"message": text})


def reply_of(events: list) -> dict[str, Any]:
    done = [data for event, data in events if event == "done"]
    assert done, events
    return done[-1]["message"]


def sent(fake, index: int = -1) -> list[dict[str, Any]]:
    return fake.chat_requests()[index].body["messages"]


def test_a_message_too_long_for_the_window_alone_is_refused_before_anything_is_written(
        app, fake, chat):
    response = app.post(f"/api/sessions/{chat['id']}/chat/stream",
                        {"message": words("big", 2000)})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "exceeds_window"
    assert "too long for the model's context window" in error["message"]
    assert "512" in error["message"]
    assert app.get(f"/api/sessions/{chat['id']}/messages").json()["messages"] == []
    assert fake.chat_requests() == []


def test_a_failed_summary_falls_back_to_dropping_and_says_so(app, fake, chat):
    response = app.patch(f"/api/sessions/{chat['id']}",
                         {"context_policy": {"mode": "summarize", "model": "ollama/gone"}})
    assert response.status_code == 200, response.text
    for label in ("one", "two"):
        send(app, chat["id"], words(label))
    meta = reply_of(send(app, chat["id"], words("thr")))["meta"]["context"]
    assert meta["dropped_messages"] == 2
    assert meta["summarized_messages"] == 0
    assert "could not be summarized" in meta["summary_error"]
    assert [m["content"][:3] for m in sent(fake)] == ["Be ", "two", "two", "thr"]


def test_the_oldest_whole_turns_are_dropped_never_the_system_or_last_message(app, fake, chat):
    for label in ("one", "two"):
        meta = reply_of(send(app, chat["id"], words(label)))["meta"]["context"]
        assert meta["dropped_messages"] == 0
    reply = reply_of(send(app, chat["id"], words("thr")))
    messages = sent(fake)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == SYSTEM
    assert [m["content"][:3] for m in messages[1:]] == ["two", "two", "thr"]
    context = reply["meta"]["context"]
    assert set(context) == {"window", "prompt_tokens", "dropped_messages",
                            "summarized_messages"}
    assert context["window"] == 512
    assert context["dropped_messages"] == 2 and context["summarized_messages"] == 0
    # what was sent, counted, fits the window less the room for the reply (a quarter)
    assert 250 < context["prompt_tokens"] <= 512 - 128

    reply = reply_of(send(app, chat["id"], words("fou")))
    assert [m["content"][:3] for m in sent(fake)] == ["Be ", "thr", "thr", "fou"]
    assert reply["meta"]["context"]["dropped_messages"] == 4
    # the chat itself keeps everything
    shown = app.get(f"/api/sessions/{chat['id']}/messages").json()["messages"]
    assert len(shown) == 8


def test_the_reported_usage_corrects_the_estimate(app, fake, chat):
    # One-letter words: the estimate counts half the tokens the model reports.
    short = " ".join(["a"] * 200)
    first = reply_of(send(app, chat["id"], short))["meta"]["context"]
    assert first["dropped_messages"] == 0
    second = reply_of(send(app, chat["id"], short))["meta"]["context"]
    # Uncorrected, two turns (about 320 tokens) would fit the 384 left; corrected, they do not.
    assert second["dropped_messages"] == 2
    assert second["prompt_tokens"] > 1.5 * first["prompt_tokens"] * 0.9


def test_older_turns_are_summarized_once_and_the_summary_is_reused(app, fake, chat):
    policy = {"mode": "summarize", "model": "ollama/big"}
    response = app.patch(f"/api/sessions/{chat['id']}", {"context_policy": policy})
    assert response.status_code == 200
    assert response.json()["context_policy"] == policy
    for label in ("one", "two"):
        send(app, chat["id"], words(label))
    before = len(fake.chat_requests())
    fake.script(Reply(text="They counted to two."), Reply(echo=True))
    reply = reply_of(send(app, chat["id"], words("thr")))
    requests = fake.chat_requests()[before:]
    assert len(requests) == 2
    summary_request = requests[0].body
    assert summary_request["model"] == "big"  # the policy's model
    assert summary_request["options"]["num_ctx"] == 2048  # the transcript and the summary
    assert summary_request["messages"][0] == {"role": "system", "content": SUMMARIZER_PROMPT}
    transcript = summary_request["messages"][1]["content"]
    assert "User: one" in transcript and "Assistant: two" in transcript
    assert "thr" not in transcript
    messages = requests[1].body["messages"]
    assert messages[0] == {"role": "system",
                           "content": f"{SYSTEM}\n\n{SUMMARY_HEADING}\nThey counted to two."}
    assert [m["content"][:3] for m in messages[1:]] == ["thr"]
    context = reply["meta"]["context"]
    assert context["summarized_messages"] == 4 and context["dropped_messages"] == 0
    shown = app.get(f"/api/sessions/{chat['id']}/messages").json()["messages"]
    assert context["summary_until"] == shown[3]["id"]
    summary = app.get(f"/api/sessions/{chat['id']}/summaries/{shown[3]['id']}").json()
    assert summary["content"] == "They counted to two." and summary["covered"] == 4
    assert summary["model"] == "ollama/big"

    # The next turn reuses it: one request, no second summary.
    before = len(fake.chat_requests())
    reply = reply_of(send(app, chat["id"], words("fou")))
    assert len(fake.chat_requests()) == before + 1
    messages = sent(fake)
    assert messages[0]["content"].endswith("They counted to two.")
    assert [m["content"][:3] for m in messages[1:]] == ["thr", "thr", "fou"]
    assert reply["meta"]["context"]["summarized_messages"] == 4
    # A regenerate on the same branch reuses it too.
    before = len(fake.chat_requests())
    regenerated = app.post(f"/api/messages/{reply['id']}/regenerate", {})
    assert regenerated.status_code == 200
    regenerated.close()
    assert fake.wait_idle(5)
    assert len(fake.chat_requests()) == before + 1
    assert sent(fake)[0]["content"].endswith("They counted to two.")


def test_a_summary_of_another_chat_is_not_found(app, chat):
    other = app.new_session()
    response = app.get(f"/api/sessions/{other['id']}/summaries/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "summary_not_found"


@pytest.mark.parametrize(("policy", "status", "says"), [
    ("drop", 422, "`context_policy` must be null"),
    ({"mode": "cut"}, 422, '`context_policy.mode` must be "drop" or "summarize"'),
    ({"mode": "drop", "model": 3}, 422, "`context_policy.model` must be null"),
    ({"model": None}, 422, "`context_policy` must be null"),
    ({"mode": "drop", "model": None, "extra": 1}, 422, "`context_policy` must be null"),
    ({"mode": "summarize", "model": "nope"}, 404, "is not a model id"),
])
def test_a_bad_context_policy_is_refused(app, chat, policy, status, says):
    response = app.patch(f"/api/sessions/{chat['id']}", {"context_policy": policy})
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"]
    assert app.get(f"/api/sessions/{chat['id']}").json()["context_policy"] is None


def test_num_ctx_is_chosen_from_steps_and_stays_the_same_until_more_is_needed(app, fake):
    fake.default = Reply(text="Fine.")
    chat = app.new_session(model="ollama/big")
    sizes = []
    for text in (words("one", 20), words("two", 20), words("big", 3500), words("thr", 20)):
        send(app, chat["id"], text)
        sizes.append(fake.chat_requests()[-1].body["options"]["num_ctx"])
    # a 131072-token model, bounded by max_ollama_context (8192); room for a reply of 2048
    assert sizes == [4096, 4096, 8192, 8192]
    assert fake.chat_requests()[-1].body["options"] == {"num_ctx": 8192}


def test_a_persons_context_length_is_sent_as_set(app, fake):
    fake.default = Reply(text="Fine.")
    chat = app.new_session(model="ollama/big")
    app.runtime.store.update_session(chat["id"], options={"context_length": 3000})
    reply = reply_of(send(app, chat["id"], words("one", 20)))
    assert fake.chat_requests()[-1].body["options"]["num_ctx"] == 3000
    assert reply["meta"]["context"]["window"] == 3000


def meter(app: Server, session_id: str, **query: object) -> dict[str, Any]:
    response = app.get(f"/api/sessions/{session_id}/context", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_meter_has_the_window_from_ollama_and_counts_what_is_typed(app, fake, chat):
    empty = meter(app, chat["id"])
    assert empty["window"] == 512 and empty["reply_room"] == 128
    assert empty["policy"] == {"mode": "drop", "model": None}
    typed = meter(app, chat["id"], chars=4000)
    assert typed["used"] - empty["used"] >= 1000
    assert meter(app, chat["id"], model="ollama/big")["window"] == 8192
    send(app, chat["id"], words("one"))
    after = meter(app, chat["id"])
    assert after["used"] > empty["used"] + 150
    shows = [r for r in fake.requests if r.path == "/api/show"]
    meter(app, chat["id"])
    assert [r for r in fake.requests if r.path == "/api/show"] == shows  # facts are cached


def test_the_settings_bound_ollama_and_set_the_reply_room(start_server, fake):
    settings = provider_settings(("ollama", "ollama", fake.ollama_url))
    app = start_server(settings + "\n[context]\nmax_ollama_context = 16384\nreply_room = 100\n"
                       'policy = "summarize"\n')
    chat = app.new_session(model="ollama/big")
    assert meter(app, chat["id"]) == {
        "window": 16384, "used": meter(app, chat["id"])["used"], "reply_room": 100,
        "policy": {"mode": "summarize", "model": None},
    }


def test_the_window_of_a_llamacpp_server_comes_from_its_props(start_server, fake):
    app = start_server(provider_settings(("compat", "openai", fake.openai_url)))
    chat = app.new_session(model="compat/small")
    assert meter(app, chat["id"])["window"] is None  # a server that does not say
    fake.props = {"default_generation_settings": {"n_ctx": 1024}, "total_slots": 1}
    app.runtime.chat.capabilities.forget()
    assert meter(app, chat["id"])["window"] == 1024
    fake.default = Reply(text="Fine.")
    reply = reply_of(send(app, chat["id"], words("one", 20)))
    assert reply["meta"]["context"]["window"] == 1024
    assert "num_ctx" not in fake.chat_requests()[-1].body
    assert "context_length" not in fake.chat_requests()[-1].body
