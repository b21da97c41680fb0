"""Server-Sent Events as the API writes them. Live events, replays of a log (folded or not)
and replies read back from the database all go through `sse_event` (or, for text, through
`text_event`, which writes the same bytes), so they cannot differ."""

from __future__ import annotations

import json
from json.encoder import encode_basestring

# A comment line: sent after a quiet spell so proxies and clients keep the stream open.
KEEPALIVE = b": keep-alive\n\n"

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def sse_event(seq: int, kind: str, data: dict) -> bytes:
    """One event: `id`, `event` and a single `data:` line of compact JSON."""
    return f"id: {seq}\nevent: {kind}\ndata: {_compact(data)}\n\n".encode()


def text_event(seq: int, kind: str, text: str) -> bytes:
    """`sse_event(seq, kind, {"text": text})`, without building and walking the dict: the
    event sent once per token."""
    return f'id: {seq}\nevent: {kind}\ndata: {{"text":{encode_basestring(text)}}}\n\n'.encode()
