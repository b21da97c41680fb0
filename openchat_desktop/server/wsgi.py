"""The HTTP server: werkzeug's request handling, behind a waiting room no slow client can fill.

- A connection gets a worker thread only once its request head has arrived whole. Until then
  it waits in the accept loop's selector, which reads heads as their bytes come in and costs
  no thread. The window's clients, a script's and an attacker's all come from 127.0.0.1, so
  no rule can tell them apart by address; what keeps the window answered is that a
  connection that sends half a request line and waits holds nothing but a socket. A head
  must arrive within `head_timeout`; over `MAX_HEAD_BYTES` it is answered 414 (the request
  line) or 431 (the headers); past `max_waiting` waiting connections, the one that has waited
  longest is closed to make room for the new one.
- werkzeug answers every request with `Connection: close`, so a connection never comes back
  to wait between requests: one head, one worker, one response, closed.
- In a worker, the body must keep coming: each read waits at most `body_timeout`, and the
  whole body gets `body_timeout` plus one second per `BODY_RATE` bytes that arrive (a client
  sending a byte a second is cut off, an upload at any real speed is not). werkzeug's reading
  of whatever follows a response goes through the same deadline. Writes are left alone, but
  for event streams: a client that takes none of its stream for `streaming.STALLED_CLIENT`
  seconds is dropped, so it cannot hold up the reply it reads.
- Every refusal, the waiting room's and http.server's (a malformed request line, too many
  headers, a version we do not speak), is the app's own JSON error with the headers every
  response carries, rendered by the app once per status.
- Workers are reused threads: werkzeug's threaded server starts a new thread per connection
  and waits for it to be scheduled, about a millisecond on a busy machine.
- Each streamed chunk leaves in one `send()` with TCP_NODELAY: werkzeug writes the chunk size,
  the data and the closing CRLF separately, and Nagle's algorithm would hold the later small
  writes back until the client acknowledges the first.
- Every waiting connection is an open file: the soft limit on open files (1,024 by default on
  many systems) is raised to the hard limit at start, and the waiting room stays well inside
  what is left.

waitress was the other way here: it too reads whole requests before a thread sees them. But
past its `connection_limit` (100 by default) it stops accepting, so idle connections would
again keep the window out until they time out; it answers malformed requests with its own
text pages; and it would replace the write path the streaming measurements were made on
(docs/performance.md). This keeps werkzeug's, and adds one selector loop and no dependency.
"""

from __future__ import annotations

import errno
import io
import re
import selectors
import socket
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING

from flask import Flask, abort
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.test import EnvironBuilder

from ..heap import return_freed_memory
from ..threads import ThreadPool

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

MAX_WORKERS = 256  # a stream holds its worker while a reply is followed
HEAD_TIMEOUT = 10.0  # seconds for a request head to arrive whole
BODY_TIMEOUT = 10.0  # seconds each body read may wait, and the body's time before BODY_RATE counts
BODY_RATE = 64 * 1024  # bytes a second a body must keep up once its first BODY_TIMEOUT is used
MAX_HEAD_BYTES = 64 * 1024  # http.server's own limit for one line
# select() on Windows watches at most 512 sockets; elsewhere the open-file limit decides.
MAX_WAITING = 500 if sys.platform == "win32" else 4096
# Open files the waiting room leaves to the rest: each worker's connection and its request to
# a model server, the database, logs and libraries.
RESERVED_FILES = 2 * MAX_WORKERS + 128
READ_SIZE = 64 * 1024
END_OF_HEAD = re.compile(rb"\n\r?\n")


def raise_open_file_limit() -> int | None:
    """Raise the soft limit on open files to the hard limit; the soft limit in force after,
    or None where there is no such limit (Windows)."""
    if sys.platform == "win32":
        return None
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    # macOS refuses more than OPEN_MAX (10,240) even when the hard limit is unlimited.
    for wanted in (hard, 10240):
        if wanted != resource.RLIM_INFINITY and wanted <= soft:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            continue
        return None if wanted == resource.RLIM_INFINITY else wanted
    return soft


def render_refusal(app: Flask, status: int) -> bytes:
    """The whole HTTP response the app gives when it refuses a request with `status`: its
    JSON error and the headers every response carries, for requests that never reach it."""
    # A request context for "/" runs the app's error handler and after-request hooks, as
    # for any request; nothing in it depends on the refused request.
    with app.request_context(EnvironBuilder(path="/").get_environ()):
        try:
            abort(status)
        except HTTPException as exc:
            response = app.make_response(app.handle_user_exception(exc))
        response = app.process_response(response)
        body = response.get_data()
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class ClientReader(io.RawIOBase):
    """What a worker reads of its connection: first the bytes the waiting room received, then
    the socket's, which must keep coming (see BODY_RATE)."""

    def __init__(self, sock: socket.socket, received: bytes, timeout: float) -> None:
        super().__init__()
        self.sock = sock
        self.received = memoryview(received)
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        if self.received:
            count = min(len(target), len(self.received))
            target[:count] = self.received[:count]
            self.received = self.received[count:]
            return count
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's body came too slowly")
        # A timeout only for the read: writes stay plain blocking sends (see the docstring).
        self.sock.settimeout(min(left, self.timeout))
        try:
            count = self.sock.recv_into(target)
        finally:
            self.sock.settimeout(None)
        self.deadline += count / BODY_RATE
        return count


class StalledWrites(io.BufferedIOBase):
    """The response's writer: a write that times out (an event stream's client took nothing
    for `streaming.STALLED_CLIENT` seconds) shuts the connection, so what werkzeug does next
    (read what the client still sends, then close the response's iterator) ends at once."""

    def __init__(self, writer: io.BufferedWriter, sock: socket.socket) -> None:
        super().__init__()
        self.writer = writer
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        try:
            return self.writer.write(data)
        except TimeoutError:
            self.cut_off()
            raise

    def flush(self) -> None:
        if self.writer.closed:
            return  # cut off and closed: http.server still flushes once at the end
        try:
            self.writer.flush()
        except TimeoutError:
            self.cut_off()
            raise

    def close(self) -> None:
        try:
            self.writer.close()
        except OSError:
            pass  # the client is gone; nothing left to send it
        super().close()

    def cut_off(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class StreamingRequestHandler(WSGIRequestHandler):
    """werkzeug's handler for one request whose head has already arrived."""

    server: PooledWSGIServer
    wbufsize = 64 * 1024  # buffered: werkzeug's flush() after each chunk sends it whole

    def __init__(self, request: socket.socket, client_address: tuple[str, int],
                 server: PooledWSGIServer, received: bytes) -> None:
        self.received = received
        super().__init__(request, client_address, server)  # handles the request

    def setup(self) -> None:
        self.connection = self.request
        self.connection.setblocking(True)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = ClientReader(self.connection, self.received, self.server.body_timeout)
        self.rfile = io.BufferedReader(reader)
        self.wfile = StalledWrites(self.connection.makefile("wb", self.wbufsize),
                                   self.connection)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's refusal of a malformed head, as the app's JSON error."""
        self.close_connection = True
        self.wfile.write(self.server.refusal(code))


@dataclass
class Waiting:
    """A connection whose request head has not arrived whole yet."""

    sock: socket.socket
    address: tuple[str, int]
    since: float
    received: bytearray = field(default_factory=bytearray)
    refused: bool = False  # answered already; what it still sends is read and dropped


class PooledWSGIServer(BaseWSGIServer):
    multithread = True  # makes werkzeug speak HTTP/1.1, so streams use chunked encoding
    request_queue_size = 1024  # a burst of connections waits in the kernel, not refused

    def __init__(self, host: str, port: int, app: Flask | None) -> None:
        super().__init__(host, port, app, handler=StreamingRequestHandler)  # type: ignore[arg-type]
        if hasattr(socket, "TCP_DEFER_ACCEPT"):
            # Linux hands over a connection once its first bytes are in, so the loop mostly
            # reads a head in the turn that accepts it (one hand-off, as before the waiting
            # room); connections that send nothing wait in the kernel meanwhile.
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
        self.head_timeout = HEAD_TIMEOUT
        self.body_timeout = BODY_TIMEOUT
        open_files = raise_open_file_limit()
        self.max_waiting = MAX_WAITING
        if open_files is not None:
            self.max_waiting = max(64, min(MAX_WAITING, open_files - RESERVED_FILES))
        self.refusals: dict[int, bytes] = {}
        self.waiting: dict[socket.socket, Waiting] = {}  # oldest first
        self.selector = selectors.DefaultSelector()
        self.stopping = threading.Event()
        self.stopped = threading.Event()
        self.stopped.set()
        # Every worker ended after a while with nothing to do: the app went quiet.
        self._pool = ThreadPool(MAX_WORKERS, name="http", when_all_idle_ended=return_freed_memory)

    def refusal(self, status: int) -> bytes:
        response = self.refusals.get(status)
        if response is None:
            assert isinstance(self.app, Flask), "the app is set before serving"
            response = self.refusals[status] = render_refusal(self.app, status)
        return response

    # --- the accept loop and the waiting room ---------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.stopped.clear()
        self.socket.setblocking(False)
        self.selector.register(self.socket, selectors.EVENT_READ)
        try:
            while not self.stopping.is_set():
                timeout = poll_interval
                if self.waiting:
                    oldest = next(iter(self.waiting.values()))
                    timeout = min(timeout, oldest.since + self.head_timeout - time.monotonic())
                for key, _ in self.selector.select(max(timeout, 0)):
                    if key.fileobj is self.socket:
                        self.accept_all()
                    else:
                        self.read_head(key.data)
                self.close_expired()
        finally:
            for waiting in list(self.waiting.values()):
                self.close_waiting(waiting)
            self.selector.unregister(self.socket)
            self.stopped.set()

    def shutdown(self) -> None:
        """Stop serve_forever and wait until it has; running requests finish on their own."""
        self.stopping.set()
        self.stopped.wait()

    def accept_all(self) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE):
                    return
                # Out of open files: the longest-waiting connection gives its file up; with
                # none waiting, every file is in a worker's hands and the kernel holds the rest.
                if not self.waiting:
                    self.stopping.wait(0.05)
                    return
                self.close_waiting(next(iter(self.waiting.values())))
                continue
            if len(self.waiting) >= self.max_waiting:
                self.close_waiting(next(iter(self.waiting.values())))
            sock.setblocking(False)
            waiting = Waiting(sock, address, time.monotonic())
            self.waiting[sock] = waiting
            self.selector.register(sock, selectors.EVENT_READ, waiting)
            self.read_head(waiting)  # on loopback the head is often there already

    def read_head(self, waiting: Waiting) -> None:
        try:
            chunk = waiting.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close_waiting(waiting)
            return
        if waiting.refused:
            return
        searched = max(0, len(waiting.received) - 2)
        waiting.received += chunk
        end = END_OF_HEAD.search(waiting.received, searched)
        if end is not None and end.end() <= MAX_HEAD_BYTES:
            self.hand_over(waiting)
        elif len(waiting.received) > MAX_HEAD_BYTES:
            ended_line = b"\n" in waiting.received[:MAX_HEAD_BYTES]
            self.refuse(waiting, 431 if ended_line else 414)

    def hand_over(self, waiting: Waiting) -> None:
        del self.waiting[waiting.sock]
        self.selector.unregister(waiting.sock)
        future = self._pool.submit(
            self._handle, waiting.sock, waiting.address, bytes(waiting.received)
        )
        future.add_done_callback(partial(self._close_if_cancelled, waiting.sock))

    def _close_if_cancelled(self, sock: socket.socket, future: Future[None]) -> None:
        """A request handed over but never started (the server closed first) still owns its
        socket: close it here, as its worker would have."""
        if future.cancelled():
            self.shutdown_request(sock)

    def refuse(self, waiting: Waiting, status: int) -> None:
        """Answer from here, then read and drop what the client still sends until it closes or
        its head time is up: closing with its bytes unread would reset the connection, and the
        client could lose the answer."""
        try:
            waiting.sock.send(self.refusal(status))
            waiting.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close_waiting(waiting)
            return
        waiting.refused = True
        waiting.received = bytearray()

    def close_expired(self) -> None:
        now = time.monotonic()
        while self.waiting:
            oldest = next(iter(self.waiting.values()))
            if oldest.since + self.head_timeout > now:
                return
            self.close_waiting(oldest)

    def close_waiting(self, waiting: Waiting) -> None:
        del self.waiting[waiting.sock]
        self.selector.unregister(waiting.sock)
        waiting.sock.close()

    # --- the workers ----------------------------------------------------------------------

    def _handle(self, request: socket.socket, client_address: tuple[str, int],
                received: bytes) -> None:
        try:
            StreamingRequestHandler(request, client_address, self, received)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the client went away (a reload, a closed tab) or stalled: nothing to answer
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.selector.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

