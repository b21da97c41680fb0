"""Summary rows: what stands for a branch's older turns once they no longer fit a model's
window, kept per branch point so later turns reuse it instead of summarizing again.

A mixin of `Store` (it uses the store's transactions). A summary belongs to the message it
ends at: the path to a message is one branch, so a summary is never used in another one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection

from .clock import utc_now
from .codec import SUMMARY_CODEC
from .records import SummaryRecord

_UPSERT = SUMMARY_CODEC.insert_sql.replace("INSERT", "INSERT OR REPLACE", 1)


class SummaryRows:
    """Queries on `summaries`, each one short transaction."""

    # provided by Store: one short transaction on a pooled connection
    _transaction: Callable[..., AbstractContextManager[Connection]]

    def save_summary(
        self, *, message_id: str, session_id: str, content: str, model: str, covered: int
    ) -> SummaryRecord:
        """Keep (or replace) the summary of the path up to and including `message_id`."""
        record = SummaryRecord(
            message_id=message_id, session_id=session_id, content=content, model=model,
            covered=covered, created_at=utc_now(),
        )
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql(_UPSERT, SUMMARY_CODEC.to_sql(record))
        return record

    def summaries_for(self, message_ids: Sequence[str]) -> dict[str, SummaryRecord]:
        """The summaries ending at any of these messages, by message id."""
        if not message_ids:
            return {}
        found: dict[str, SummaryRecord] = {}
        with self._transaction(write=False) as conn:
            for start in range(0, len(message_ids), 500):  # SQLite's parameter limit
                chunk = tuple(message_ids[start:start + 500])
                rows = conn.exec_driver_sql(
                    f"SELECT {SUMMARY_CODEC.select_list} FROM summaries"
                    f" WHERE message_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                for row in rows:
                    record = SUMMARY_CODEC.from_sql(row)
                    found[record.message_id] = record
        return found
