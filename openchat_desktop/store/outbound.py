"""Rows of `outbound_requests`: what OpenChat sent, attempted or refused to send to other hosts.

A mixin of `Store` (it uses the store's transactions). Rows are written by the outbound log's
one writer thread (see outbound/log.py) and read newest first by the page."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection

from .codec import OUTBOUND_CODEC
from .records import OutboundRecord

_INSERT = (
    "INSERT INTO outbound_requests (at, source, method, host, path, status, sent, received,"
    " outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_END = "UPDATE outbound_requests SET status = ?, sent = ?, received = ?, outcome = ? WHERE seq = ?"
_PAGE = (
    f"SELECT {OUTBOUND_CODEC.select_list} FROM outbound_requests WHERE seq < ?"
    " ORDER BY seq DESC LIMIT ?"
)


class OutboundRows:
    """Queries on `outbound_requests`, each one short transaction."""

    # provided by Store: one short transaction on a pooled connection
    _transaction: Callable[..., AbstractContextManager[Connection]]

    def add_outbound(
        self, *, at: str, source: str, method: str, host: str, path: str, sent: int,
        outcome: str, status: int | None = None, received: int = 0,
    ) -> int:
        """A new row; its `seq`, which orders the rows (newest highest)."""
        values = (at, source, method, host, path, status, sent, received, outcome)
        with self._transaction(write=True) as conn:
            seq = conn.exec_driver_sql(_INSERT, values).lastrowid
        assert seq is not None
        return int(seq)

    def end_outbound(
        self, seq: int, *, status: int | None, sent: int, received: int, outcome: str
    ) -> None:
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql(_END, (status, sent, received, outcome, seq))

    def outbound_page(self, *, before: int | None = None, limit: int = 100) -> list[OutboundRecord]:
        """Newest first; `before` a seq to page on from."""
        with self._transaction(write=False) as conn:
            rows = conn.exec_driver_sql(_PAGE, (before or 2**62, limit))
            return [OUTBOUND_CODEC.from_sql(row) for row in rows]

    def trim_outbound(self, keep: int) -> None:
        """Drop all but the newest `keep` rows."""
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql(
                "DELETE FROM outbound_requests WHERE seq <= "
                "(SELECT seq FROM outbound_requests ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (keep,),
            )

    def clear_outbound(self) -> None:
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql("DELETE FROM outbound_requests")
