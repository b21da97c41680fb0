"""Server-Sent Events as the API writes them. Live events, replays of a log (folded or not)
and replies read back from the database all go through `sse_event`, so they cannot differ."""

from __future__ import annotations

import json

# A comment line: sent after a quiet spell so proxies and clients keep the stream open.
KEEPALIVE = b": keep-alive\n\n"


def sse_event(seq: int, kind: str, data: dict) -> bytes:
    """One event: `id`, `event` and a single `data:` line of compact JSON."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {seq}\nevent: {kind}\ndata: {payload}\n\n".encode()
