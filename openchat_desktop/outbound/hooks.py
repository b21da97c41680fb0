"""The gate in front of an httpx client (the MCP SDK's): event hooks that ask before each
request and end the log's row when the response's body is closed."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx2

from .gate import Gate, Passage, Requester


class GatedHooks:
    """`event_hooks` for an httpx client: {"request": [...], "response": [...]}."""

    def __init__(self, gate: Gate, requester: Requester) -> None:
        self.gate = gate
        self.requester = requester
        self._passages: weakref.WeakKeyDictionary[Any, Passage] = weakref.WeakKeyDictionary()

    def event_hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    async def on_request(self, request: httpx2.Request) -> None:
        length = request.headers.get("Content-Length", "")
        sent = int(length) if length.isdigit() else 0
        passage = self.gate.enter(self.requester, request.method, str(request.url), sent)
        if passage is not None:
            self._passages[request] = passage
            # No response ever came (the connection failed): the row ends as failed.
            weakref.finalize(request, passage.end)

    async def on_response(self, response: httpx2.Response) -> None:
        passage = self._passages.get(response.request)
        if passage is None:
            return
        passage.answered(response.status_code)
        response.stream = CountedStream(response.stream, passage)


class CountedStream(httpx2.AsyncByteStream):
    """A response body that counts its bytes and ends the passage when closed."""

    def __init__(self, inner: Any, passage: Passage) -> None:
        self._inner = inner
        self._passage = passage
        self._received = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._received += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._passage.end(self._received)
