"""The gate in front of a `requests` session: an HTTPAdapter that asks before it connects and
ends the log's row when the response is closed."""

from __future__ import annotations

import weakref
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .gate import Gate, Passage, Requester


class GatedAdapter(HTTPAdapter):
    def __init__(self, gate: Gate, requester: Requester) -> None:
        super().__init__()
        self.gate = gate
        self.requester = requester

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        # Before anything else: a refused request opens no socket and looks up no name.
        passage = self.gate.enter(
            self.requester, request.method or "GET", request.url or "", body_size(request)
        )
        if passage is None:
            return super().send(request, stream, timeout, verify, cert, proxies)
        try:
            response = super().send(request, stream, timeout, verify, cert, proxies)
        except BaseException:
            passage.end()
            raise
        passage.answered(response.status_code)
        watch_body(response, passage)
        return response


def guard(session: requests.Session, gate: Gate, requester: Requester) -> None:
    """Send every request of `session` through the gate."""
    adapter = GatedAdapter(gate, requester)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def body_size(request: requests.PreparedRequest) -> int:
    body = request.body
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    length = request.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else 0


def watch_body(response: requests.Response, passage: Passage) -> None:
    """End the passage when the response is closed (every caller here closes its streamed
    responses), or when it is collected if nobody did. Not when urllib3 releases the
    connection at the body's end: it does so before it counts the last bytes read."""
    raw: Any = response.raw
    close = raw.close

    def ended() -> None:
        passage.end(received_of(raw))

    def closed() -> None:
        try:
            close()
        finally:
            ended()

    raw.close = closed
    weakref.finalize(response, ended)


def received_of(raw: Any) -> int:
    """Body bytes read from the wire so far (before any content decoding)."""
    try:
        return int(raw.tell())
    except (AttributeError, OSError, ValueError):
        return 0
