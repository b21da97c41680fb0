"""After a burst of concurrent replies the server's worker threads end again once idle."""

from __future__ import annotations

import re
import threading

import pytest

from openchat_desktop import threads
from tests.fake_provider import Reply
from tests.support import Server, open_stream, read_events, texts, wait_for

STREAMS = 12
WORKER = re.compile(r"(http|generation)-\d+")  # not the accept loop, "http-server"


def workers() -> list[threading.Thread]:
    """The HTTP workers and the reply workers alive now."""
    return [t for t in threading.enumerate() if WORKER.fullmatch(t.name)]


@pytest.fixture
def app(monkeypatch, start_server, ollama_settings) -> Server:
    monkeypatch.setattr(threads, "IDLE_TIMEOUT", 0.3)  # the app's threads wait 15 s
    return start_server(ollama_settings)


def test_worker_threads_end_after_a_burst_of_streams(app, fake) -> None:
    fake.script(*[Reply(text="one two three four", delay=0.05) for _ in range(STREAMS)])
    sessions = [app.new_session()["id"] for _ in range(STREAMS)]
    barrier = threading.Barrier(STREAMS + 1)
    replies: list[str] = []
    peak: list[int] = []

    def chat(session_id: str) -> None:
        response = open_stream(app, session_id, {"message": "hi"})
        barrier.wait(5)  # every stream is open at once
        replies.append(texts(read_events(response)))

    clients = [threading.Thread(target=chat, args=(s,), name="client") for s in sessions]
    for client in clients:
        client.start()
    barrier.wait(10)
    peak.append(len(workers()))
    for client in clients:
        client.join(10)
    assert replies == ["one two three four"] * STREAMS
    assert peak[0] >= STREAMS  # at least a worker for each stream
    wait_for(lambda: not workers(), timeout=5)
    # and the next request is answered by a new worker, as before the burst
    assert app.get("/api/health").status_code == 200
