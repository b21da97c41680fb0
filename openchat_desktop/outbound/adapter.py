"""The gate in front of a `requests` session: an HTTPAdapter that asks before it connects and
ends the log's row when the response's body is done (read to its end, or closed)."""

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
    """End the passage when urllib3 lets go of the body: at its end (it releases the
    connection) or when it is closed early; a response nobody closes ends when collected."""
    raw: Any = response.raw

    def ended() -> None:
        passage.end(received_of(raw))

    for name in ("release_conn", "close"):
        original = getattr(raw, name)

        def wrapped(original: Any = original) -> Any:
            try:
                return original()
            finally:
                ended()

        setattr(raw, name, wrapped)
    weakref.finalize(response, ended)


def received_of(raw: Any) -> int:
    """Body bytes read from the wire so far (before any content decoding)."""
    try:
        return int(raw.tell())
    except (AttributeError, OSError, ValueError):
        return 0
