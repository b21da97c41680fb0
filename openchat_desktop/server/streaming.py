"""Responses that stream Server-Sent Events (a reply, a model download)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response


def event_stream(chunks: Iterator[bytes]) -> Response:
    return Response(
        chunks,
        mimetype="text/event-stream",
        # Proxies must pass each event on at once, not buffer or cache the stream.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
