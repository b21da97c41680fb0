"""Replies and their rows: which of the engine's text streams goes to which column, and a
finished reply read back from its row as the event stream it was.

A reply's streams: the answer (`CONTENT` → `content`), the thinking (`REASONING` →
`reasoning`) and, in Plan Mode, the plan (`planning.PLAN` → `plan`). Its tool calls (data
events, see tools/calls.py) go to `tools`, saved with each checkpoint.
"""

from __future__ import annotations

from typing import Any

from ..engine import CONTENT, REASONING, Checkpoint, Ending, EventLog
from ..rendering import RENDER_VERSION
from ..store import MessageRecord, Store
from ..tools.calls import replayed, saved_calls
from .planning import PLAN


class StoredReplies:
    """The engine's `Recorder`: saves replies into their message rows."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def save_checkpoints(self, checkpoints: list[Checkpoint]) -> None:
        rows: list[tuple[Any, ...]] = []
        for checkpoint in checkpoints:
            texts = checkpoint.texts
            # No plan or no tool call: the row keeps its own.
            tools = saved_calls(checkpoint.data) if checkpoint.data else None
            rows.append((checkpoint.message_id, texts.get(CONTENT, ""), texts.get(REASONING, ""),
                         texts.get(PLAN), tools))
        self._store.save_progress_many(rows)

    def save_end(self, ending: Ending) -> None:
        texts = ending.texts
        self._store.save_progress(
            ending.message_id,
            content=texts.get(CONTENT, ""),
            reasoning=texts.get(REASONING, ""),
            status=ending.status,
            error=ending.error,
            usage=ending.usage,
            plan=texts.get(PLAN),
            meta=_meta(ending),
            tools=saved_calls(ending.data, ending.status) if ending.data else None,
            model=ending.model,
            # One write for the end, html included: it stands between the last token and `done`.
            html=(ending.html, RENDER_VERSION) if ending.html is not None else None,
        )


def _meta(ending: Ending) -> dict[str, Any] | None:
    """What the end adds to the reply's meta: each phase, and how a fallback answered."""
    meta: dict[str, Any] = dict(ending.phases or {})
    if ending.fallback is not None:
        meta["fallback"] = ending.fallback
    return meta or None


def stored_replay(
    record: MessageRecord,
    user_view: dict[str, Any] | None,
    view: dict[str, Any],
    after: int,
) -> bytes:
    """A finished reply no longer in memory, as its event stream after `after`: start, its
    plan (Plan Mode), reasoning, then its answer as one event, or, when it called tools, the
    answer's pieces around its calls and their results in the order they happened; then its
    ending."""
    log = EventLog()
    with log.lock:
        log.add("start", {"user_message": user_view, "assistant_message": view})
        if record.plan is not None:
            log.add_text(PLAN, record.plan)
        log.add_text(REASONING, record.reasoning)
        if record.tools:
            for kind, data in replayed(record.tools, record.content):
                if kind == CONTENT:
                    log.add_text(CONTENT, data["text"])
                else:
                    log.add(kind, data)
        else:
            log.add_text(CONTENT, record.content)
        if record.status == "error" and record.error:
            log.add("error", {**record.error, "message_id": record.id})
        else:
            log.add("done", {"message": view})
        log.close()
    return log.replay(after)
