"""Attachment rows: uploads, which messages carry them, and which can go.

A mixin of `Store` (it uses the store's transactions); the files themselves are kept by
`openchat_desktop.attachments`, which asks these queries what is still referenced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection

from .clock import new_id, utc_now
from .codec import ATTACHMENT_CODEC
from .records import AttachmentRecord

_SELECT = f"SELECT {ATTACHMENT_CODEC.select_list} FROM attachments"


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class AttachmentRows:
    """Queries on `attachments` and `message_attachments`, each one short transaction."""

    # provided by Store: one short transaction on a pooled connection
    _transaction: Callable[..., AbstractContextManager[Connection]]

    def add_attachment(
        self, *, sha256: str, name: str, mime: str, kind: str, size: int, text: str | None
    ) -> AttachmentRecord:
        record = AttachmentRecord(
            id=new_id(),
            sha256=sha256,
            name=name,
            mime=mime,
            kind=kind,
            size=size,
            text=text,
            created_at=utc_now(),
        )
        with self._transaction(write=True) as conn:
            ATTACHMENT_CODEC.insert(conn, record)
        return record

    def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        found = self.get_attachments([attachment_id])
        return found[0] if found else None

    def get_attachments(self, ids: Sequence[str]) -> list[AttachmentRecord]:
        """The rows of these ids that exist, in no particular order."""
        if not ids:
            return []
        with self._transaction(write=False) as conn:
            rows = conn.exec_driver_sql(
                f"{_SELECT} WHERE id IN ({_marks(len(ids))})", tuple(ids)
            ).all()
        return [ATTACHMENT_CODEC.from_sql(row) for row in rows]

    def message_attachments(self, message_ids: Sequence[str]) -> dict[str, list[AttachmentRecord]]:
        """Each message's attachments in the order they were sent: one query for a branch."""
        if not message_ids:
            return {}
        found: dict[str, list[AttachmentRecord]] = {}
        columns = ATTACHMENT_CODEC.qualified("a")
        with self._transaction(write=False) as conn:
            for start in range(0, len(message_ids), 500):  # SQLite caps bound parameters
                chunk = tuple(message_ids[start : start + 500])
                rows = conn.exec_driver_sql(
                    f"SELECT ma.message_id, {columns} FROM message_attachments AS ma "
                    f"JOIN attachments AS a ON a.id = ma.attachment_id "
                    f"WHERE ma.message_id IN ({_marks(len(chunk))}) "
                    "ORDER BY ma.message_id, ma.position",
                    chunk,
                ).all()
                for row in rows:
                    found.setdefault(row[0], []).append(ATTACHMENT_CODEC.from_sql(row[1:]))
        return found

    def link_attachments(self, conn: Connection, message_id: str, ids: Sequence[str]) -> None:
        """Attach files to a message inside the caller's transaction (the send's)."""
        if ids:
            conn.exec_driver_sql(
                "INSERT INTO message_attachments (message_id, position, attachment_id) "
                "VALUES (?, ?, ?)",
                [(message_id, position, attachment_id) for position, attachment_id in
                 enumerate(ids)],
            )

    def session_attachment_ids(self, session_id: str) -> list[str]:
        with self._transaction(write=False) as conn:
            rows = conn.exec_driver_sql(
                "SELECT DISTINCT ma.attachment_id FROM message_attachments AS ma "
                "JOIN messages AS m ON m.id = ma.message_id WHERE m.session_id = ?",
                (session_id,),
            ).all()
        return [row[0] for row in rows]

    def drop_unlinked_attachments(self, ids: Sequence[str]) -> list[str]:
        """Delete those of these attachments no message carries; returns their sha256s."""
        if not ids:
            return []
        unlinked = (
            f"id IN ({_marks(len(ids))}) AND NOT EXISTS "
            "(SELECT 1 FROM message_attachments WHERE attachment_id = attachments.id)"
        )
        with self._transaction(write=True) as conn:
            shas = conn.exec_driver_sql(
                f"SELECT sha256 FROM attachments WHERE {unlinked}", tuple(ids)
            ).all()
            conn.exec_driver_sql(f"DELETE FROM attachments WHERE {unlinked}", tuple(ids))
        return [row[0] for row in shas]

    def drop_stale_attachments(self, created_before: str) -> list[str]:
        """Delete uploads no message carries that are older than `created_before`."""
        stale = (
            "created_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM message_attachments WHERE attachment_id = attachments.id)"
        )
        with self._transaction(write=True) as conn:
            shas = conn.exec_driver_sql(
                f"SELECT sha256 FROM attachments WHERE {stale}", (created_before,)
            ).all()
            conn.exec_driver_sql(f"DELETE FROM attachments WHERE {stale}", (created_before,))
        return [row[0] for row in shas]

    def sha256_in_use(self, sha256: str) -> bool:
        with self._transaction(write=False) as conn:
            return conn.exec_driver_sql(
                "SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1", (sha256,)
            ).first() is not None

    def attachment_shas(self) -> set[str]:
        with self._transaction(write=False) as conn:
            return {row[0] for row in conn.exec_driver_sql("SELECT sha256 FROM attachments")}
