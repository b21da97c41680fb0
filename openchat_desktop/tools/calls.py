"""A reply's tool calls as the events clients receive and as the list saved with the reply.

Events (each a `DataEvent` of the generation, in the order things happen):
- `tool_call` `{"id", "name", "arguments", "at"}`: the model asked for a tool; `arguments` is
  the object it sent (its raw text when that is not JSON); `at` is how many characters of
  the answer came before the call, so a replay puts the call where it happened;
- `tool_approval` `{"id", "name", "arguments", "deadline"}`: waiting for the person until
  `deadline` (ISO 8601, UTC); no answer by then counts as Deny;
- `tool_result` `{"id", "content", "is_error", "ms", "status"}`: how the call ended: status
  "done", "error" (the tool failed or the call was refused) or "denied".

The saved list (`messages.tools`) has one entry per call, in order: `{"id", "name",
"arguments", "at", "status", "content", "is_error", "ms"}` (plus `deadline` while waiting);
status "running" or "waiting" until its result, and how the reply ended for a call that never
got one (stopped, interrupted, error).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..engine import CONTENT, DataEvent

TOOL_CALL = "tool_call"
TOOL_APPROVAL = "tool_approval"
TOOL_RESULT = "tool_result"
UNFINISHED = ("running", "waiting")


def saved_calls(events: Iterable[DataEvent], ended: str | None = None) -> list[dict[str, Any]]:
    """The list to save for a reply's data events; `ended` (the reply's status once it is
    over) is given to the calls left without a result."""
    calls: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event.data
        if event.kind == TOOL_CALL:
            calls[data["id"]] = {
                "id": data["id"], "name": data["name"], "arguments": data["arguments"],
                "at": data["at"], "status": "running", "content": None, "is_error": False,
                "ms": None,
            }
        elif event.kind == TOOL_APPROVAL and data["id"] in calls:
            calls[data["id"]].update(status="waiting", deadline=data["deadline"])
        elif event.kind == TOOL_RESULT and data["id"] in calls:
            entry = calls[data["id"]]
            entry.pop("deadline", None)
            entry.update(status=data["status"], content=data["content"],
                         is_error=data["is_error"], ms=data["ms"])
    if ended is not None:
        for entry in calls.values():
            if entry["status"] in UNFINISHED:
                entry.pop("deadline", None)
                entry["status"] = ended
    return list(calls.values())


def replayed(saved: Sequence[dict[str, Any]], content: str) -> list[tuple[str, dict[str, Any]]]:
    """A finished reply's answer and calls as events in the order they happened: (CONTENT,
    text) pieces between `tool_call` and `tool_result` events."""
    out: list[tuple[str, dict[str, Any]]] = []
    written = 0
    for entry in saved:
        at = min(max(int(entry.get("at") or 0), written), len(content))
        if at > written:
            out.append((CONTENT, {"text": content[written:at]}))
            written = at
        out.append((TOOL_CALL, {key: entry.get(key) for key in ("id", "name", "arguments",
                                                                 "at")}))
        if entry.get("status") not in UNFINISHED:
            out.append((TOOL_RESULT, {key: entry.get(key) for key in (
                "id", "content", "is_error", "ms", "status")}))
    if written < len(content) or not out:
        out.append((CONTENT, {"text": content[written:]}))
    return out
