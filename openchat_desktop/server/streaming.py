"""Responses that stream Server-Sent Events (a reply, a model download)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

from flask import Response, request

# A client that takes no byte of its stream for this long is dropped: its connection closes
# and the reply goes on without it (a relay hands its pulling back to a worker), so a client
# that stops reading without going away can never hold a reply up. It attaches again with
# the last event id it saw.
STALLED_CLIENT = 30.0  # seconds


def event_stream(chunks: Iterator[bytes]) -> Response:
    connection = request.environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        # Each write waits at most this long for room in the client's buffer.
        connection.settimeout(STALLED_CLIENT)
    return Response(
        chunks,
        mimetype="text/event-stream",
        # Proxies must pass each event on at once, not buffer or cache the stream.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
