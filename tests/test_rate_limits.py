"""A key's limits over HTTP, under a bounded burst: past its requests per minute it gets 429
rate_limited with Retry-After and a sentence, and gets through again after waiting that long;
its tokens per minute are counted from what replies used (the fake model server reports
usage), a reply in flight is never cut, and the next generation waits while requests that do
not generate still get through."""

from __future__ import annotations

import time

from .fake_provider import Reply
from .keys_support import key_session, make_key
from .support import iter_events, read_events

BURST = 90  # more than a minute's allowance of 60; the bucket refills one a second meanwhile


def test_past_its_requests_per_minute_a_key_waits_as_long_as_it_is_told(app):
    with key_session(make_key(app, "script", rpm=60)) as http:
        answered = []
        for _ in range(BURST):
            response = http.get(app.url("/api/sessions"), timeout=5)
            answered.append(response.status_code)
            if response.status_code != 200:
                break
        assert response.status_code == 429, answered
        assert 60 <= answered.count(200) <= 75  # a minute's worth at once, then the refill
        error = response.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["message"] == "This key may make 60 requests a minute. Try again in 1 second."
        wait = int(response.headers["Retry-After"])
        assert wait == error["retry_after"] == 1
        time.sleep(wait)
        assert http.get(app.url("/api/sessions"), timeout=5).status_code == 200
    # The launch token has no limits.
    assert all(app.get("/api/sessions").status_code == 200 for _ in range(5))


def test_tokens_are_counted_from_usage_and_a_reply_in_flight_is_not_cut(app, fake):
    words = " ".join(f"word{i}" for i in range(40))
    fake.script(Reply(text=words, mode="stall", after=30))
    with key_session(make_key(app, "chatter", tpm=20)) as http:
        session = http.post(app.url("/api/sessions"), json={}, timeout=5).json()
        first = http.post(app.url(f"/api/sessions/{session['id']}/chat/stream"),
                          json={"message": "Count"}, stream=True, timeout=10)
        assert first.status_code == 200
        events = iter_events(first)
        # Words, not events: those written before the stream reached the client come joined
        # in one event.
        written = ""
        for kind, data in events:
            if kind == "delta":
                written += data["text"]
            if len(written.split()) == 30:
                break
        # 30 words written already: past the 20 tokens a minute, while the reply still runs.
        refused = http.post(app.url(f"/api/sessions/{session['id']}/chat/stream"),
                            json={"message": "Again"}, timeout=10)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["message"].startswith(
            "This key may use 20 tokens a minute, and has used them. Try again in ")
        assert int(refused.headers["Retry-After"]) >= 1
        # Requests that do not generate still get through.
        assert http.get(app.url(f"/api/sessions/{session['id']}/messages"),
                        timeout=5).status_code == 200
        fake.release()
        rest = list(events)
        first.close()
        written += "".join(data["text"] for kind, data in rest if kind == "delta")
        assert rest[-1][0] == "done" and written == words  # not cut
        # Once it ended, its reported usage counts: the budget stays spent.
        again = http.post(app.url(f"/api/sessions/{session['id']}/chat/stream"),
                          json={"message": "Later"}, timeout=10)
        assert again.status_code == 429


def test_a_key_under_its_token_budget_chats_and_the_launch_token_has_none(app, fake):
    with key_session(make_key(app, "roomy", tpm=100_000)) as http:
        session = http.post(app.url("/api/sessions"), json={}, timeout=5).json()
        with http.post(app.url(f"/api/sessions/{session['id']}/chat/stream"),
                       json={"message": "Hi"}, stream=True, timeout=10) as response:
            assert read_events(response)[-1][0] == "done"
    fake.script(Reply(text="x " * 500))
    session = app.new_session()
    for _ in range(2):
        with app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "Hi"},
                      stream=True) as response:
            assert read_events(response)[-1][0] == "done"
