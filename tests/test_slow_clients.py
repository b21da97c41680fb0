"""Clients that connect and then send slowly, or not at all, as an attack: they must not stop
the window's own requests, and whatever the server refuses still answers in JSON with the
headers every response carries."""

from __future__ import annotations

import http.client
import json
import re
import resource
import select
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from openchat_desktop.server import streaming
from openchat_desktop.server.security import CONTENT_SECURITY_POLICY

from .fake_provider import Reply
from .support import TOKEN, Server
from .test_cli import Serve

HALF_A_REQUEST_LINE = b"GET /api/heal"


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


@contextmanager
def idle_connections(port: int, count: int, payload: bytes) -> Iterator[list[socket.socket]]:
    """`count` connections that each send `payload` and then wait, until the block ends."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = connect(port)
            opened.append(sock)
            sock.sendall(payload)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes `sock` within `within` seconds (anything it sends first is
    read and dropped)."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            return False
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
    return False


def answers_quickly(server: Server) -> None:
    """The open health check and an authenticated call both answer within 5 s."""
    health = requests.get(server.url("/api/health"), timeout=5)
    assert health.status_code == 200
    sessions = server.get("/api/sessions", timeout=5)
    assert sessions.status_code == 200


@pytest.fixture
def low_limit_serve(tmp_path) -> Iterator[Serve]:
    """`openchat serve` started with the soft open-file limit at the common 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip("the hard open-file limit leaves nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        server = Serve(tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    yield server
    server.close()


@pytest.mark.skipif(sys.platform != "linux", reason="reads the limit from /proc")
def test_serve_raises_its_open_file_limit_so_a_thousand_sockets_fit(low_limit_serve):
    limits = Path(f"/proc/{low_limit_serve.process.pid}/limits").read_text()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard, line


def test_a_thousand_idle_connections_never_stop_the_window(low_limit_serve):
    server = low_limit_serve
    with idle_connections(server.port, 1000, HALF_A_REQUEST_LINE):
        health = requests.get(f"{server.base}/api/health", timeout=5)
        assert health.status_code == 200
        sessions = server.http.get(f"{server.base}/api/sessions", timeout=5)
        assert sessions.status_code == 200


def test_a_head_that_never_ends_is_closed_after_the_head_timeout(server):
    server.runtime.server.head_timeout = 0.5
    with idle_connections(server.runtime.port, 300, HALF_A_REQUEST_LINE) as waiting:
        answers_quickly(server)
        assert closed_by_server(waiting[0], within=5)
        assert closed_by_server(waiting[-1], within=5)


def test_past_the_bound_the_longest_waiting_connection_makes_room(server):
    server.runtime.server.max_waiting = 100
    with idle_connections(server.runtime.port, 300, HALF_A_REQUEST_LINE) as waiting:
        answers_quickly(server)
        assert all(closed_by_server(sock, within=5) for sock in waiting[:150])
        assert not closed_by_server(waiting[-1], within=0.2)


def test_a_body_that_trickles_in_is_cut_off_and_others_still_answer(server):
    server.runtime.server.body_timeout = 1.0
    sock = connect(server.runtime.port)
    sock.sendall(
        b"POST /api/sessions HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{server.runtime.port}\r\n".encode()
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    began = time.monotonic()
    closed = False
    # A byte every quarter second: each read gets something, but the body would take 250 s.
    while not closed and time.monotonic() - began < 10:
        try:
            sock.sendall(b" ")
        except (BrokenPipeError, ConnectionResetError):
            break
        closed = closed_by_server(sock, within=0.25)
        if 0.5 < time.monotonic() - began < 0.75:
            answers_quickly(server)
    sock.close()
    assert time.monotonic() - began < 5, "the trickling body still holds its connection"


def test_bytes_sent_after_a_complete_request_do_not_hold_a_worker(server):
    """More connections than the server has workers each send a whole request, read the
    answer, start another request on the same connection and wait."""
    server.runtime.server.body_timeout = 1.0
    port = server.runtime.port
    request = f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    opened = []
    try:
        for _ in range(300):
            sock = connect(port)
            opened.append(sock)
            sock.sendall(request)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                assert chunk, "closed without an answer"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
            sock.sendall(HALF_A_REQUEST_LINE)
        answers_quickly(server)
    finally:
        for sock in opened:
            sock.close()


def raw_answer(port: int, head: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    """The server's answer to `head`, sent as it is, and the answer's body."""
    with connect(port) as sock:
        sock.sendall(head)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response, response.read()


def head_with(port: int, request_line: bytes, *headers: bytes) -> bytes:
    host = f"Host: 127.0.0.1:{port}".encode()
    return b"\r\n".join([request_line, host, *headers, b"", b""])


# Each refused head: its request line, its headers besides Host, and the status it gets.
REFUSED = {
    "a 70 KB address": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", [], 414),
    "a 100 KB header": (b"GET / HTTP/1.1", [b"X-Big: " + b"b" * 100_000], 431),
    "200 headers": (b"GET / HTTP/1.1", [f"X-{n}: {n}".encode() for n in range(200)], 431),
    "a request line of four words": (b"GET / HTTP/1.1 more", [], 400),
    "HTTP/2.0 spoken as text": (b"GET / HTTP/2.0", [], 505),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_malformed_head_answers_json_with_the_security_headers(server, case):
    request_line, headers, status = REFUSED[case]
    port = server.runtime.port
    response, body = raw_answer(port, head_with(port, request_line, *headers))
    assert response.status == status
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Content-Security-Policy") == CONTENT_SECURITY_POLICY
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"].endswith(".")
    answers_quickly(server)


def test_a_client_that_stops_reading_its_stream_never_holds_the_reply_up(app, fake, monkeypatch):
    server = app
    monkeypatch.setattr(streaming, "STALLED_CLIENT", 0.5)
    words = " ".join(f"word{index}" for index in range(60_000))
    fake.script(Reply(text=words))
    session = server.new_session()
    body = json.dumps({"message": "Write a lot."}).encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, soon full
    sock.connect(("127.0.0.1", server.runtime.port))
    sock.sendall(
        f"POST /api/sessions/{session['id']}/chat/stream HTTP/1.1\r\n".encode()
        + f"Host: 127.0.0.1:{server.runtime.port}\r\n".encode()
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = sock.recv(4096).decode()
    reply_id = re.search(r'"assistant_message":\{"id":"([0-9a-f]+)"', head)
    assert reply_id, head[:500]
    # The client reads nothing more and keeps its connection open.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        saved = server.get(f"/api/messages/{reply_id.group(1)}").json()
        if saved["status"] != "streaming":
            break
        time.sleep(0.1)
    sock.close()
    assert saved["status"] == "complete"
    assert saved["content"] == words
