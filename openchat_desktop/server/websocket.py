"""A reply's events over a WebSocket: the frames, what a client may send, and the connection
that carries many turns.

A client sends JSON text frames: `{"message", ...}` (the fields of a send) starts a reply,
`{"stop": true}` stops the one streaming, `{"after": <seq>, "message_id"?}` re-attaches to a
reply. It receives the SSE stream's events, one text frame each, `{"event", "id", "data"}`.
A frame it sent that cannot be acted on is answered with `{"event": "error", "id": null,
"data": {"code", "message"}}` and changes nothing; the connection stays open.

The frames are cut from the SSE bytes the reply's log encodes once (`engine.sse`): each
event's `data:` line is already compact JSON, so it is spliced into the frame as it is,
never parsed again. Keep-alive comments are dropped: the socket's own pings keep it open.

The socket belongs to `simple_websocket`, imported when a WebSocket opens so a server nobody
opens one on never loads it. Its reader thread answers pings and queues what the client
sends; the request's worker thread reads that queue; a reply is forwarded by a thread of its
own, so a `stop` is read while the reply streams.

    AppError (openchat_desktop.errors)
    ├── UpgradeRequired        426 upgrade_required: the address opened without a WebSocket
    └── Conflict
        └── ReplyInProgress    409 reply_in_progress: a second message while a reply streams
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Flask

from ..errors import AppError, Conflict, InvalidRequest

if TYPE_CHECKING:
    from simple_websocket import Server  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

PING_INTERVAL = 25.0  # seconds between pings: a client gone without closing is noticed
CLOSE_GRACE = 1.0  # seconds a reply's last frames get to leave when the server shuts down
GOING_AWAY = 1001
UNKNOWN_SESSION = 4404  # a close code of the application range: the chat does not exist
KEY_REFUSED = 4401  # the key was revoked while the connection was open

ENDINGS = ("done", "error")  # a reply's last event: the connection is free for another


class UpgradeRequired(AppError):
    code = "upgrade_required"
    status = 426


class ReplyInProgress(Conflict):
    code = "reply_in_progress"


def frames(chunk: bytes) -> Iterator[tuple[str, str]]:
    """(event name, frame) of each event in SSE bytes: whole events as `sse_event` writes
    them (`id`, `event`, one `data` line); a keep-alive comment has none."""
    for event in chunk.split(b"\n\n"):
        if not event or event.startswith(b":"):
            continue
        id_line, event_line, data_line = event.split(b"\n", 2)
        kind = event_line[7:].decode()
        yield kind, (
            b'{"event":' + json.dumps(kind).encode()
            + b',"id":' + id_line[4:]
            + b',"data":' + data_line[6:] + b"}"
        ).decode()


def error_frame(error: AppError) -> str:
    return json.dumps({"event": "error", "id": None, "data": error.public()},
                      ensure_ascii=False, separators=(",", ":"))


def parse_frame(frame: str | bytes) -> dict[str, Any]:
    """A client's frame as an object; what it asks is checked by the caller."""
    if isinstance(frame, bytes):
        raise InvalidRequest("Send text frames of JSON, not binary ones.")
    try:
        body = json.loads(frame)
    except ValueError:
        raise InvalidRequest("A frame must be a JSON object, such as {\"message\": \"Hi\"}.") \
            from None
    if not isinstance(body, dict):
        raise InvalidRequest("A frame must be a JSON object, such as {\"message\": \"Hi\"}.")
    return body


def parse_after(body: dict[str, Any]) -> tuple[int, str | None]:
    """(sequence number, message id or None) of a re-attach frame."""
    unknown = set(body) - {"after", "message_id"}
    if unknown:
        raise InvalidRequest(f"Unknown field in a re-attach frame: `{sorted(unknown)[0]}`.")
    after = body["after"]
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= 10**9:
        raise InvalidRequest("`after` must be the `id` of the last event received (0 or more).")
    message_id = body.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or len(message_id) > 100):
        raise InvalidRequest("`message_id` must be a reply's id.")
    return after, message_id


class Turn:
    """One reply being forwarded to the client, on a thread of its own."""

    def __init__(self, connection: Connection, message_id: str, events: Iterator[bytes],
                 stop: Callable[[], object]) -> None:
        self.message_id = message_id
        self.stop = stop
        self.done = threading.Event()
        self._connection = connection
        self._events = events
        threading.Thread(target=self._forward, name="ws-reply", daemon=True).start()

    def _forward(self) -> None:
        try:
            for chunk in self._events:
                batch = []
                for kind, frame in frames(chunk):
                    if kind in ENDINGS:  # free before the client hears it, so it may send
                        self.done.set()
                    batch.append(frame)
                if batch:
                    self._connection.send(*batch)
        except Exception as exc:  # the client left: the reply goes on without it
            log.debug("forwarding %s ended: %r", self.message_id, exc)
        finally:
            self.done.set()


class Connection:
    """One client's WebSocket: the socket, a lock so frames from several threads never
    interleave, and the reply it is following, if any."""

    def __init__(self, ws: Server, closed_error: type[Exception], text: type[Any]) -> None:
        """`closed_error` and `text` (wsproto's TextMessage): the libraries' own classes,
        handed in so this module imports them only when a WebSocket opens."""
        self.socket = ws
        self.turn: Turn | None = None
        self._closed_error = closed_error
        self._text = text
        self._send_lock = threading.Lock()

    @classmethod
    def accept(cls, environ: dict[str, Any], max_frame_bytes: int) -> Connection:
        import simple_websocket
        from wsproto.events import TextMessage

        ws = simple_websocket.Server.accept(
            environ,
            ping_interval=PING_INTERVAL,
            max_message_size=max_frame_bytes,
            # The reader thread must never keep the process alive at exit.
            thread_class=partial(threading.Thread, daemon=True),
        )
        return cls(ws, simple_websocket.ConnectionClosed, TextMessage)

    def send(self, *frames: str) -> None:
        """Send text frames in one write, as the SSE path sends a batch of events (one
        `send()` per frame costs a system call and a wake-up of the client each);
        ConnectionError once the client is gone."""
        with self._send_lock:
            ws = self.socket
            if not ws.connected:
                raise ConnectionAbortedError("the WebSocket is closed")
            data = b"".join(ws.ws.send(self._text(frame)) for frame in frames)
            try:
                ws.sock.sendall(data)
            except OSError as exc:
                raise ConnectionAbortedError("the WebSocket is closed") from exc

    def receive(self) -> str | bytes | None:
        """The client's next frame; None once the connection is closed."""
        try:
            frame: str | bytes | None = self.socket.receive()
        except self._closed_error:
            return None
        return frame

    def streaming(self) -> bool:
        return self.turn is not None and not self.turn.done.is_set()

    def check_free(self) -> None:
        """One reply at a time per connection: refuse a second before anything changes."""
        if self.streaming():
            raise ReplyInProgress(
                "A reply is still streaming on this connection: wait for its `done` or "
                "`error` event, or send {\"stop\": true}."
            )

    def follow(self, message_id: str, events: Iterator[bytes], stop: Callable[[], object]) -> None:
        """Forward `events` (SSE bytes of the reply `message_id`) until the reply ends."""
        self.check_free()
        self.turn = Turn(self, message_id, events, stop)

    def stop(self) -> None:
        """Stop the reply this connection follows; nothing when none is streaming."""
        if self.turn is not None and self.streaming():
            self.turn.stop()

    def close(self, code: int, reason: str) -> None:
        """Close with `code` and a sentence; the reader thread ends once the socket does."""
        with self._send_lock:
            try:
                self.socket.close(code, reason)
            except (self._closed_error, OSError):
                pass  # closed already

    def shut(self) -> None:
        """Close for a server that is stopping: the reply's last frames first (its end is
        saved by now), then a close frame, then the socket, whether or not the client
        answers."""
        if self.turn is not None:
            self.turn.done.wait(CLOSE_GRACE)
        self.close(GOING_AWAY, "OpenChat is shutting down.")
        try:
            self.socket.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread's recv
        except OSError:
            pass  # closed already


class OpenSockets:
    """The WebSockets open now, so a stopping server can close them: otherwise each would
    hold its worker thread until its client leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[Connection] = set()
        self.closed = False

    def add(self, connection: Connection) -> bool:
        """False once the server is stopping: the connection must close at once."""
        with self._lock:
            if self.closed:
                return False
            self._open.add(connection)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def remove(self, connection: Connection) -> None:
        with self._lock:
            self._open.discard(connection)

    def close_all(self) -> None:
        with self._lock:
            self.closed = True
            connections = list(self._open)
        for connection in connections:
            connection.shut()


def init_app(app: Flask) -> None:
    app.extensions["openchat.websockets"] = OpenSockets()


def open_sockets(app: Flask) -> OpenSockets:
    sockets: OpenSockets = app.extensions["openchat.websockets"]
    return sockets


def close_all(app: Flask) -> None:
    """Close every open WebSocket (the server is stopping) and refuse new ones."""
    open_sockets(app).close_all()
