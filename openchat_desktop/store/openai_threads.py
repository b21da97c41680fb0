"""Thread rows: which chat a conversation sent by another program continues.

A client of the OpenAI-compatible endpoint sends the whole conversation with each call. Each
recorded reply keeps the fingerprint of the conversation up to and including it (see
chat/recorded.py), so the next call, which repeats those messages and adds one, finds the
reply to continue under instead of starting a chat per call.

A mixin of `Store` (it uses the store's transactions).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection

from .clock import utc_now
from .codec import OPENAI_THREAD_CODEC
from .records import OpenAIThreadRecord

# A conversation sent again ends at the reply it ended at before; the later row wins.
_UPSERT = OPENAI_THREAD_CODEC.insert_sql.replace("INSERT", "INSERT OR REPLACE", 1)


class OpenAIThreadRows:
    """Queries on `openai_threads`, each one short transaction."""

    # provided by Store: one short transaction on a pooled connection
    _transaction: Callable[..., AbstractContextManager[Connection]]

    def save_thread(self, fingerprint: str, *, session_id: str, message_id: str) -> None:
        """Remember that the conversation `fingerprint` ends at the reply `message_id`."""
        record = OpenAIThreadRecord(fingerprint=fingerprint, session_id=session_id,
                                    message_id=message_id, created_at=utc_now())
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql(_UPSERT, OPENAI_THREAD_CODEC.to_sql(record))

    def find_thread(self, fingerprint: str) -> tuple[str, str] | None:
        """(chat id, reply id) of the conversation `fingerprint`, while its reply exists."""
        with self._transaction(write=False) as conn:
            row = conn.exec_driver_sql(
                "SELECT t.session_id, t.message_id FROM openai_threads t"
                " JOIN messages m ON m.id = t.message_id AND m.session_id = t.session_id"
                " WHERE t.fingerprint = ?",
                (fingerprint,),
            ).first()
        return (row[0], row[1]) if row else None
