"""Rows to records and back, derived from the table definitions in models.py.

Every query that yields a record selects `codec.select_list` with plain SQL (the recursive
walks and search included) and hands the row to `codec.from_sql`; every new row goes in through
`codec.insert`. Values are converted by the column types' own SQLite processors (JSON as text,
booleans as 0/1): the ones SQLAlchemy applies to statements built from the tables, such as the
store's UPDATEs, so a column is read and written one way whichever path touches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from .models import (
    API_KEYS_TABLE,
    ATTACHMENTS_TABLE,
    INTERNAL,
    MESSAGES_TABLE,
    OPENAI_THREADS_TABLE,
    OUTBOUND_REQUESTS_TABLE,
    ROLES_TABLE,
    SESSIONS_TABLE,
    SUMMARIES_TABLE,
)
from .records import (
    ApiKeyRecord,
    AttachmentRecord,
    MessageRecord,
    OpenAIThreadRecord,
    OutboundRecord,
    RoleRecord,
    SessionRecord,
    SummaryRecord,
)

R = TypeVar("R")

# Only its type processors are used: no connection, no SQL compiled.
DIALECT = sqlite.dialect()

Convert = Callable[[Any], Any]


class RecordCodec(Generic[R]):
    """One table's rows as one frozen record type: the record's fields are the table's columns,
    in the table's order, except those marked INTERNAL."""

    def __init__(self, record: type[R], table: Table) -> None:
        self.record = record
        self.table = table
        carried = [c for c in table.columns if not c.info.get(INTERNAL)]
        self.columns: tuple[str, ...] = tuple(c.name for c in carried)
        self.select_list = self.qualified(table.name)
        self.insert_sql = (
            f"INSERT INTO {table.name} ({', '.join(self.columns)}) "
            f"VALUES ({', '.join('?' * len(self.columns))})"
        )
        self._decoders = _processors(carried, lambda c: c.type.result_processor(DIALECT, None))
        self._encoders = _processors(carried, lambda c: c.type.bind_processor(DIALECT))
        self._values = attrgetter(*self.columns)

    def qualified(self, alias: str) -> str:
        """The record's columns as `alias.column, …`, for a query that joins other tables."""
        return ", ".join(f"{alias}.{name}" for name in self.columns)

    def from_sql(self, row: Sequence[Any]) -> R:
        """A record from a row of `select_list`, its values as SQLite stores them."""
        if not self._decoders:
            return self.record(*row)
        values = list(row)
        for index, decode in self._decoders:
            value = values[index]
            if value is not None:
                values[index] = decode(value)
        return self.record(*values)

    def to_sql(self, record: R) -> tuple[Any, ...]:
        """A record's values as SQLite stores them, in `columns` order."""
        values = list(self._values(record))
        for index, encode in self._encoders:
            value = values[index]
            if value is not None:
                values[index] = encode(value)
        return tuple(values)

    def insert(self, conn: Connection, record: R) -> None:
        """Write `record` as a new row, inside the caller's transaction."""
        conn.exec_driver_sql(self.insert_sql, self.to_sql(record))


def _processors(
    columns: list[Column[Any]], processor: Callable[[Column[Any]], Convert | None]
) -> tuple[tuple[int, Convert], ...]:
    found = ((index, processor(column)) for index, column in enumerate(columns))
    return tuple((index, convert) for index, convert in found if convert is not None)


SESSION_CODEC = RecordCodec(SessionRecord, SESSIONS_TABLE)
MESSAGE_CODEC = RecordCodec(MessageRecord, MESSAGES_TABLE)
ROLE_CODEC = RecordCodec(RoleRecord, ROLES_TABLE)
ATTACHMENT_CODEC = RecordCodec(AttachmentRecord, ATTACHMENTS_TABLE)
SUMMARY_CODEC = RecordCodec(SummaryRecord, SUMMARIES_TABLE)
API_KEY_CODEC = RecordCodec(ApiKeyRecord, API_KEYS_TABLE)
OPENAI_THREAD_CODEC = RecordCodec(OpenAIThreadRecord, OPENAI_THREADS_TABLE)
OUTBOUND_CODEC = RecordCodec(OutboundRecord, OUTBOUND_REQUESTS_TABLE)
CODECS = (SESSION_CODEC, MESSAGE_CODEC, ROLE_CODEC, ATTACHMENT_CODEC, SUMMARY_CODEC,
          API_KEY_CODEC, OPENAI_THREAD_CODEC, OUTBOUND_CODEC)
