"""The chat WebSocket, `/ws/chat/<session id>`, driven by a real WebSocket client
(`websocket-client`) against a running server and the fake model server."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
import websocket

from openchat_desktop.server.websocket import open_sockets
from openchat_desktop.store import Store

from .fake_provider import Reply
from .keys_support import make_key
from .support import (
    TOKEN,
    Server,
    iter_events,
    modules_loaded,
    provider_settings,
    read_events,
    wait_for,
)

Frame = tuple[str, Any, dict[str, Any]]  # (event, id, data)


class Socket:
    """A client's WebSocket to a chat: send objects, read frames as (event, id, data)."""

    def __init__(self, app: Server, session_id: str, token: str = TOKEN) -> None:
        url = app.base.replace("http://", "ws://") + f"/ws/chat/{session_id}"
        self.ws = websocket.create_connection(
            url, header=[f"Authorization: Bearer {token}"], timeout=10
        )

    def send(self, body: object) -> None:
        self.ws.send(json.dumps(body))

    def frame(self) -> Frame:
        frame = json.loads(self.ws.recv())
        assert set(frame) == {"event", "id", "data"}, frame
        return frame["event"], frame["id"], frame["data"]

    def until_end(self) -> list[Frame]:
        """Frames up to and including the reply's `done` or `error`."""
        frames = [self.frame()]
        while frames[-1][0] not in ("done", "error"):
            frames.append(self.frame())
        return frames

    def closing(self) -> tuple[int, str]:
        """The close frame's (code, reason), skipping frames before it."""
        while True:
            opcode, data = self.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return struct.unpack("!H", data[:2])[0], data[2:].decode()

    def close(self) -> None:
        self.ws.close()  # nothing once the server has closed: the socket is then freed here
        self.ws.shutdown()


def frame_texts(frames: list[Frame], kind: str = "delta") -> str:
    return "".join(data["text"] for event, _, data in frames if event == kind)


def as_frames(events: list[tuple[str, dict[str, Any]]]) -> list[Frame]:
    """SSE events (`support.iter_events`) in the frames' shape."""
    return [(event, data.pop("_id"), data) for event, data in events]


def messages(app: Server, session_id: str) -> list[dict[str, Any]]:
    return app.get(f"/api/sessions/{session_id}/messages").json()["messages"]


@pytest.fixture
def socket_to(app):
    opened: list[Socket] = []

    def open_(session_id: str, token: str = TOKEN) -> Socket:
        opened.append(Socket(app, session_id, token))
        return opened[-1]

    yield open_
    for sock in opened:
        sock.close()


def test_a_reply_streams_as_the_same_events_as_the_sse_stream(app, fake, socket_to):
    fake.script(Reply(text="alpha beta gamma delta epsilon", mode="stall", after=1))
    session = app.new_session()
    sock = socket_to(session["id"])
    sock.send({"message": "go"})
    head = [sock.frame()]
    while head[-1][0] != "delta":
        head.append(sock.frame())
    assert head[0][0] == "start"
    message_id = head[0][2]["assistant_message"]["id"]
    after = head[-1][1]
    # An SSE follower of the same reply from the same point sees the same live events.
    sse = app.get(f"/api/messages/{message_id}/events?after={after}", stream=True)
    fake.release()
    rest = sock.until_end()
    assert as_frames(read_events(sse)) == rest
    assert [frame_id for _, frame_id, _ in head + rest] == sorted({i for _, i, _ in head + rest})
    assert frame_texts(head + rest) == "alpha beta gamma delta epsilon"
    done = rest[-1][2]["message"]
    assert done["status"] == "complete" and done["content"] == "alpha beta gamma delta epsilon"


def test_stop_ends_the_reply_and_keeps_the_partial_text(app, fake, socket_to):
    fake.script(Reply(text="one two three four five", mode="stall", after=2))
    session = app.new_session()
    sock = socket_to(session["id"])
    sock.send({"message": "count"})
    seen = [sock.frame()]
    while frame_texts(seen) != "one two":
        seen.append(sock.frame())
    sock.send({"stop": True})
    rest = sock.until_end()
    assert rest[-1][0] == "done"
    final = rest[-1][2]["message"]
    assert final["status"] == "stopped" and final["content"] == "one two"
    assert fake.disconnected.wait(2), "the upstream request was not closed"
    saved = app.get(f"/api/messages/{final['id']}").json()
    assert saved["status"] == "stopped" and saved["content"] == "one two"


def test_reattaching_with_after_loses_and_repeats_nothing(app, fake, socket_to):
    fake.script(Reply(text="alpha beta gamma delta epsilon zeta", mode="stall", after=3))
    session = app.new_session()
    first = socket_to(session["id"])
    first.send({"message": "go"})
    seen = [first.frame()]
    while frame_texts(seen) != "alpha beta gamma":
        seen.append(first.frame())
    first.close()  # the connection drops; the reply goes on
    # Its worker is free again: the request that held the socket has returned.
    wait_for(lambda: len(open_sockets(app.runtime.app)) == 0)
    last_id = seen[-1][1]
    fake.release()
    second = socket_to(session["id"])
    second.send({"after": last_id})  # the chat's latest reply
    resumed = second.until_end()
    assert frame_texts(seen) + frame_texts(resumed) == "alpha beta gamma delta epsilon zeta"
    assert all(frame_id > last_id for _, frame_id, _ in resumed)
    assert resumed[-1][2]["message"]["status"] == "complete"
    # Naming the reply does the same, from any point, on a reply that has ended.
    message_id = seen[0][2]["assistant_message"]["id"]
    second.send({"after": last_id, "message_id": message_id})
    assert frame_texts(second.until_end()) == " delta epsilon zeta"


def test_one_connection_carries_many_turns(app, fake, socket_to):
    fake.default = Reply(echo=True)
    session = app.new_session()
    sock = socket_to(session["id"])
    sock.send({"message": "first turn"})
    assert frame_texts(sock.until_end()) == "first turn"
    sock.send({"message": "second turn", "model": "ollama/qwen3:8b"})
    second = sock.until_end()
    assert frame_texts(second) == "second turn"
    assert second[-1][2]["message"]["model"] == "ollama/qwen3:8b"
    saved = messages(app, session["id"])
    assert [(m["role"], m["content"]) for m in saved] == [
        ("user", "first turn"), ("assistant", "first turn"),
        ("user", "second turn"), ("assistant", "second turn"),
    ]


def error_of(sock: Socket) -> dict[str, Any]:
    event, frame_id, data = sock.frame()
    assert (event, frame_id) == ("error", None)
    assert set(data) == {"code", "message"} and data["message"].endswith(".")
    return data


def test_bad_frames_are_answered_with_an_error_and_change_nothing(
    start_server, fake, tmp_path
):
    settings = provider_settings(("ollama", "ollama", fake.ollama_url),
                                 default_model="ollama/llama3.2:3b")
    app = start_server(settings + "\n[limits]\nmax_message_chars = 100\n")
    fake.script(Reply(text="still streaming along", mode="stall", after=1))
    session = app.new_session()
    sock = Socket(app, session["id"])
    try:
        sock.ws.send("not json")
        assert error_of(sock)["code"] == "invalid_request"
        sock.ws.send_binary(b'{"message": "hi"}')
        assert error_of(sock)["code"] == "invalid_request"
        for body in ([1, 2], {"message": "hi", "bogus": 1}, {"message": 5}, {"stop": False},
                     {"after": -1}, {"after": 0, "bogus": True}, {"hello": "there"}):
            sock.send(body)
            assert error_of(sock)["code"] == "invalid_request", body
        sock.send({"message": "x" * 101})
        assert error_of(sock)["code"] == "message_too_long"
        sock.send({"after": 0})
        assert error_of(sock)["code"] == "message_not_found"  # no reply yet
        assert messages(app, session["id"]) == []

        sock.send({"message": "go"})
        head = [sock.frame()]
        while head[-1][0] != "delta":
            head.append(sock.frame())
        sock.send({"message": "and another"})
        while (frame := sock.frame())[1] is not None:  # the reply's frames go on meanwhile
            head.append(frame)
        assert frame[0] == "error" and frame[2]["code"] == "reply_in_progress"
        fake.release()
        rest = sock.until_end()
        assert frame_texts(head + rest) == "still streaming along"
        assert [m["content"] for m in messages(app, session["id"])] == [
            "go", "still streaming along"
        ]
    finally:
        sock.close()


def test_an_unknown_chat_closes_with_a_reason(app, socket_to):
    sock = socket_to("no-such-chat")
    code, reason = sock.closing()
    assert code == 4404
    assert reason == "That chat does not exist (it may have been deleted)."


@pytest.mark.parametrize("header", [[], ["Authorization: Bearer wrong-token"]])
def test_no_or_a_wrong_token_is_refused(app, header):
    session = app.new_session()
    url = app.base.replace("http://", "ws://") + f"/ws/chat/{session['id']}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, header=header, timeout=5)
    assert refused.value.status_code == 401
    assert json.loads(refused.value.resp_body)["error"]["code"] == "unauthorized"


def test_a_plain_get_is_told_to_open_a_websocket(app):
    session = app.new_session()
    response = app.get(f"/ws/chat/{session['id']}")
    assert response.status_code == 426
    assert response.json()["error"]["code"] == "upgrade_required"


def test_shutdown_saves_the_reply_and_closes_the_socket(app, fake, socket_to):
    fake.script(Reply(text="cut off by the end of the app", mode="stall", after=2))
    session = app.new_session()
    sock = socket_to(session["id"])
    sock.send({"message": "go"})
    seen = [sock.frame()]
    while frame_texts(seen) != "cut off":
        seen.append(sock.frame())
    message_id = seen[0][2]["assistant_message"]["id"]
    app.runtime.shutdown()
    rest = sock.until_end()
    assert rest[-1][2]["message"]["status"] == "interrupted"
    assert sock.closing() == (1001, "OpenChat is shutting down.")
    with Store(app.data_dir / "openchat.sqlite3") as store:
        saved = store.get_message(message_id)
    assert saved is not None
    assert saved.status == "interrupted" and saved.content == "cut off"


def test_an_sse_follower_and_a_socket_share_one_reply(app, fake, socket_to):
    """A reply started over the socket can be followed over SSE (the window) and stopped
    there; the socket hears the same end."""
    fake.script(Reply(text="shared between two clients", mode="stall", after=1))
    session = app.new_session()
    sock = socket_to(session["id"])
    sock.send({"message": "go"})
    start = sock.frame()
    message_id = start[2]["assistant_message"]["id"]
    sse = iter_events(app.get(f"/api/messages/{message_id}/events?after=0", stream=True))
    wait_for(lambda: app.get(f"/api/messages/{message_id}").json()["content"] == "shared")
    app.post(f"/api/messages/{message_id}/stop")
    assert sock.until_end()[-1][2]["message"]["status"] == "stopped"
    assert list(sse)[-1][0] == "done"


def test_a_keys_limits_hold_over_the_socket(app):
    sock = Socket(app, app.new_session()["id"], make_key(app, "script", rpm=4))
    try:
        codes = []
        for _ in range(6):
            sock.send({"hello": "there"})
            codes.append(error_of_limited(sock))
        assert "invalid_request" in codes and codes[-1] == "rate_limited"
    finally:
        sock.close()


def test_a_keys_tokens_per_minute_refuse_the_next_reply(app, fake):
    fake.script(Reply(text="five words make this reply"))
    session = app.new_session()
    sock = Socket(app, session["id"], make_key(app, "script", tpm=3))
    try:
        sock.send({"message": "go"})
        assert sock.until_end()[-1][0] == "done"
        sock.send({"message": "again"})
        event, frame_id, data = sock.frame()
        assert (event, frame_id, data["code"]) == ("error", None, "rate_limited")
        assert data["retry_after"] > 0
        assert len(messages(app, session["id"])) == 2  # the second was refused before saving
    finally:
        sock.close()


def error_of_limited(sock: Socket) -> str:
    event, frame_id, data = sock.frame()
    assert (event, frame_id) == ("error", None)
    if data["code"] == "rate_limited":
        assert data["retry_after"] > 0
    code: str = data["code"]
    return code


def test_a_server_nobody_opens_a_websocket_on_never_loads_the_library(tmp_path):
    loaded = modules_loaded(tmp_path, "runtime.start()", ("simple_websocket", "wsproto"))
    assert loaded == [False, False]
