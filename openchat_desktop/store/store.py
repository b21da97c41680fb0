"""The chat database: sessions, their message trees, roles and search, usable from any thread."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    URL,
    Engine,
    String,
    and_,
    column,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .attachments import AttachmentRows
from .clock import new_id, utc_now
from .errors import MessageNotFound, RoleNameTaken, SessionNotFound, StoreError
from .fts import MARK_CLOSE, MARK_OPEN, match_expression, snippet_html
from .migrate import prepare
from .models import ChatSession, Message, Role
from .records import ROLES, STATUSES, MessageRecord, RoleRecord, SessionRecord

PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL")
SESSION_FIELDS = frozenset(
    {"title", "model", "role_id", "system_prompt", "pinned", "draft", "plan_mode", "think"}
)
# Walks of the tree stop here even if a damaged file ever held a cycle.
MAX_DEPTH = 1_000_000

# Ancestors of :start, nearest first, at most :limit of them (-1: all); SQLite stops the
# recursion at the LIMIT, so the newest 50 of a 10,000-message chat cost 50 lookups.
_ANCESTORS = """
WITH RECURSIVE path(seq, parent_id, depth) AS (
    SELECT seq, parent_id, 0 FROM messages WHERE id = :start {session_filter}
    UNION ALL
    SELECT m.seq, m.parent_id, path.depth + 1
    FROM messages AS m JOIN path ON m.id = path.parent_id
    WHERE path.depth < :max_depth
    LIMIT :limit
)
SELECT messages.* FROM path JOIN messages ON messages.seq = path.seq
ORDER BY path.depth DESC
"""

# From :start, follow the newest child until there is none; the last one is the leaf.
_NEWEST_LEAF = """
WITH RECURSIVE down(id, depth) AS (
    SELECT :start, 0
    UNION ALL
    SELECT (SELECT c.id FROM messages AS c WHERE c.parent_id = down.id
            ORDER BY c.created_at DESC, c.seq DESC LIMIT 1),
           down.depth + 1
    FROM down WHERE down.id IS NOT NULL AND down.depth < :max_depth
)
SELECT id FROM down WHERE id IS NOT NULL ORDER BY depth DESC LIMIT 1
"""

_SEARCH = """
SELECT messages.*, snippet(messages_fts, 0, :open, :close, '…', 16) AS snippet
FROM messages_fts JOIN messages ON messages.seq = messages_fts.rowid
WHERE messages_fts MATCH :expr
ORDER BY messages_fts.rank, messages.seq DESC
LIMIT :limit
"""


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3 must not issue BEGIN by itself: _on_begin decides when and which kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
    # SQLite's lower()/LIKE fold ASCII only; titles and role names are any language.
    dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)


def _on_begin(connection: Any) -> None:
    # Writers take the write lock up front, where busy_timeout waits for it. A deferred
    # transaction that reads and then writes gets "database is locked" at once in WAL mode
    # when another writer committed in between.
    mode = connection.get_execution_options().get("openchat_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"Unknown message status {status!r}; expected one of {STATUSES}.")


def _session_record(row: Any, *, raw: bool = False) -> SessionRecord:
    """A record from an ORM row (JSON columns decoded) or a raw row (`raw`: JSON text)."""
    decode = json.loads if raw else (lambda value: value)
    return SessionRecord(
        id=row.id,
        title=row.title,
        model=row.model,
        role_id=row.role_id,
        system_prompt=row.system_prompt,
        pinned=bool(row.pinned),
        draft=row.draft,
        leaf_id=row.leaf_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        plan_mode=None if row.plan_mode is None else decode(row.plan_mode),
        think=None if row.think is None else decode(row.think),
    )


def _message_record(row: Any) -> MessageRecord:
    """A record from a Message or from a result row with the same column names."""
    return MessageRecord(
        id=row.id,
        session_id=row.session_id,
        parent_id=row.parent_id,
        role=row.role,
        content=row.content,
        reasoning=row.reasoning,
        html=row.html,
        html_version=row.html_version,
        model=row.model,
        status=row.status,
        error=row.error,
        usage=row.usage,
        created_at=row.created_at,
        updated_at=row.updated_at,
        plan=row.plan,
        meta=row.meta,
    )


def _role_record(row: Role) -> RoleRecord:
    return RoleRecord(
        id=row.id,
        name=row.name,
        instructions=row.instructions,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class Store(AttachmentRows):
    """One SQLite file of chats; every call is one short transaction on a pooled connection."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.backup_path = prepare(self.path)  # set when an upgrade copied the old file first
        # Request threads, reply workers and the checkpoint thread each hold a connection
        # briefly; enough of them that 32 streams starting at once never wait for one.
        self._engine: Engine = create_engine(
            URL.create("sqlite", database=str(self.path)), pool_size=8, max_overflow=56
        )
        self._write_lock = threading.Lock()
        event.listen(self._engine, "connect", _on_connect)
        event.listen(self._engine, "begin", _on_begin)
        self._read = sessionmaker(self._engine, expire_on_commit=False)
        self._immediate = self._engine.execution_options(openchat_begin="IMMEDIATE")
        self._write = sessionmaker(self._immediate, expire_on_commit=False)
        self._closed = False
        try:
            # One connection now: it switches the file to WAL before threads race for it.
            with self._engine.connect():
                pass
        except Exception:
            self._engine.dispose()
            raise

    def close(self) -> None:
        """Close every pooled connection; the last one folds the WAL back into the file."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _begin(self, opener: Any, *, write: bool) -> Iterator[Any]:
        """A transaction from `opener` (a sessionmaker or an engine)."""
        if self._closed:
            raise StoreError("The chat database is closed.")
        # Writers of this process queue on a lock that wakes the next one at once; SQLite's
        # busy handler would sleep in growing steps (up to 100 ms) while the lock is taken.
        lock = self._write_lock if write else nullcontext()
        try:
            with lock, opener.begin() as handle:
                yield handle
        except DBAPIError as exc:
            raise StoreError(f"The chat database could not do that: {exc.orig}") from exc

    def _transaction(self, *, write: bool) -> AbstractContextManager[Session]:
        return self._begin(self._write if write else self._read, write=write)

    def _raw(self, *, write: bool) -> AbstractContextManager[Connection]:
        """A Core connection in a transaction, for the paths a send takes: an ORM session
        costs ~0.3 ms more per call, which shows in the time to first token."""
        return self._begin(self._immediate if write else self._engine, write=write)

    # sessions

    def create_session(
        self,
        *,
        title: str = "New chat",
        model: str | None = None,
        role_id: str | None = None,
        system_prompt: str | None = None,
        plan_mode: dict[str, Any] | None = None,
    ) -> SessionRecord:
        now = utc_now()
        record = SessionRecord(
            id=new_id(),
            title=title,
            model=model,
            role_id=role_id,
            system_prompt=system_prompt,
            pinned=False,
            draft="",
            leaf_id=None,
            created_at=now,
            updated_at=now,
            plan_mode=plan_mode,
        )
        with self._transaction(write=True) as s:
            self._require_role(s, role_id)
            s.execute(insert(ChatSession).values(**_fields(record)))
        return record

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self._raw(write=False) as conn:
            row = conn.exec_driver_sql(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).first()
        return None if row is None else _session_record(row, raw=True)

    def list_sessions(
        self, *, q: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        """Pinned first, then the most recently changed; `q` filters titles, ignoring case."""
        stmt = select(ChatSession).order_by(
            ChatSession.pinned.desc(), ChatSession.updated_at.desc(), ChatSession.id
        )
        if q:
            # instr() takes q literally: no LIKE wildcards to escape
            stmt = stmt.where(func.instr(func.casefold(ChatSession.title), q.casefold()) > 0)
        if limit is not None:
            stmt = stmt.limit(max(limit, 0))
        with self._transaction(write=False) as s:
            return [_session_record(row) for row in s.scalars(stmt)]

    def update_session(self, session_id: str, **fields: Any) -> SessionRecord | None:
        """Change some of title, model, role_id, system_prompt, pinned, draft, plan_mode,
        think.

        A draft-only change keeps updated_at, so typing does not reorder the sidebar.
        """
        unknown = fields.keys() - SESSION_FIELDS
        if unknown:
            raise TypeError(f"update_session() got unknown fields: {', '.join(sorted(unknown))}")
        values = dict(fields)
        if "pinned" in values:
            values["pinned"] = bool(values["pinned"])
        if values.keys() - {"draft"}:
            values["updated_at"] = utc_now()
        with self._transaction(write=True) as s:
            if values.get("role_id") is not None:
                self._require_role(s, values["role_id"])
            if values:
                s.execute(
                    update(ChatSession)
                    .where(ChatSession.id == session_id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            row = s.get(ChatSession, session_id)
            return None if row is None else _session_record(row)

    def delete_session(self, session_id: str) -> bool:
        """Delete a chat with all its messages."""
        with self._transaction(write=True) as s:
            # Cut the tree first: cascading along parent_id recurses once per generation and
            # SQLite gives up at 1,000 levels, so a long chat could not be deleted otherwise.
            s.execute(
                update(Message)
                .where(Message.session_id == session_id)
                .values(parent_id=None)
                .execution_options(synchronize_session=False)
            )
            result = s.execute(
                delete(ChatSession)
                .where(ChatSession.id == session_id)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)

    # messages

    def add_message(
        self,
        *,
        session_id: str,
        parent_id: str | None,
        role: str,
        content: str,
        model: str | None = None,
        status: str = "complete",
        reasoning: str = "",
    ) -> MessageRecord:
        """Add a message under `parent_id` and make it the leaf the chat shows."""
        if role not in ROLES:
            raise StoreError(f"Unknown message role {role!r}; expected one of {ROLES}.")
        _check_status(status)
        now = utc_now()
        record = MessageRecord(
            id=new_id(),
            session_id=session_id,
            parent_id=parent_id,
            role=role,
            content=content,
            reasoning=reasoning,
            html=None,
            html_version=0,
            model=model,
            status=status,
            error=None,
            usage=None,
            created_at=now,
            updated_at=now,
        )
        with self._transaction(write=True) as s:
            if s.scalar(select(ChatSession.id).where(ChatSession.id == session_id)) is None:
                raise SessionNotFound("That chat or message no longer exists.")
            if parent_id is not None:
                parent_session = s.scalar(select(Message.session_id).where(Message.id == parent_id))
                if parent_session is None:
                    raise MessageNotFound("That chat or message no longer exists.")
                if parent_session != session_id:
                    raise StoreError(
                        f"Message {parent_id} belongs to another chat than {session_id}."
                    )
            s.execute(insert(Message).values(**_fields(record)))
            s.execute(
                update(ChatSession)
                .where(ChatSession.id == session_id)
                .values(leaf_id=record.id, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return record

    def start_reply(
        self,
        *,
        session_id: str,
        parent_id: str | None,
        user_content: str | None,
        model: str,
        session_changes: dict[str, Any] | None = None,
        attachment_ids: Sequence[str] = (),
    ) -> tuple[MessageRecord, MessageRecord]:
        """Everything a send (or regenerate) writes, in one short transaction: the user's
        message (when `user_content` is given; else `parent_id` is the user message being
        answered again), the reply's row with status 'streaming', and the chat's leaf,
        `updated_at` and any `session_changes` (title, model); `attachment_ids` go with the
        new user message.

        Returns (user message, reply). One transaction keeps the time to first token low.
        """
        now = utc_now()
        changes = dict(session_changes or {})
        unknown = set(changes) - {"title", "model"}
        if unknown:
            raise StoreError(f"start_reply cannot change {sorted(unknown)}.")
        with self._raw(write=True) as conn:
            if conn.exec_driver_sql(
                "SELECT 1 FROM sessions WHERE id = ?", (session_id,)
            ).first() is None:
                raise SessionNotFound("That chat or message no longer exists.")
            parent = None
            if parent_id is not None:
                parent = conn.exec_driver_sql(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (parent_id,)
                ).first()
                if parent is None:
                    raise MessageNotFound("That chat or message no longer exists.")
                if parent.session_id != session_id:
                    raise StoreError(
                        f"Message {parent_id} belongs to another chat than {session_id}."
                    )
            if user_content is not None:
                user = MessageRecord(
                    id=new_id(), session_id=session_id, parent_id=parent_id, role="user",
                    content=user_content, reasoning="", html=None, html_version=0, model=None,
                    status="complete", error=None, usage=None, created_at=now, updated_at=now,
                )
                conn.exec_driver_sql(_INSERT_MESSAGE, _message_params(user))
                self.link_attachments(conn, user.id, attachment_ids)
            elif parent is not None and parent.role == "user":
                user = _message_from_row(parent)
            else:
                raise StoreError("A reply must answer a user message.")
            reply = MessageRecord(
                id=new_id(), session_id=session_id, parent_id=user.id, role="assistant",
                content="", reasoning="", html=None, html_version=0, model=model,
                status="streaming", error=None, usage=None, created_at=utc_now(),
                updated_at=now,
            )
            conn.exec_driver_sql(_INSERT_MESSAGE, _message_params(reply))
            changes.update(leaf_id=reply.id, updated_at=now)
            assignments = ", ".join(f"{name} = ?" for name in changes)
            conn.exec_driver_sql(
                f"UPDATE sessions SET {assignments} WHERE id = ?", (*changes.values(), session_id)
            )
        return user, reply

    def save_progress_many(self, progress: list[tuple[str, ...]]) -> None:
        """Checkpoint several streaming replies, (id, content, reasoning[, plan]) each, in one
        transaction: one write per tick however many replies are running. A missing or None
        plan keeps the stored one."""
        if not progress:
            return
        now = utc_now()
        rows = []
        for message_id, content, reasoning, *rest in progress:
            plan = rest[0] if rest else None
            rows.append((content, reasoning, plan, now, message_id))
        with self._raw(write=True) as conn:
            conn.exec_driver_sql(
                "UPDATE messages SET content = ?, reasoning = ?, plan = COALESCE(?, plan), "
                "html = NULL, updated_at = ? WHERE id = ? AND status = 'streaming'",
                rows,
            )

    def get_message(self, message_id: str) -> MessageRecord | None:
        with self._transaction(write=False) as s:
            row = s.scalar(select(Message).where(Message.id == message_id))
            return None if row is None else _message_record(row)

    def save_progress(
        self,
        message_id: str,
        *,
        content: str,
        reasoning: str,
        status: str | None = None,
        error: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        plan: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Checkpoint a reply in one UPDATE; False when the message is gone.

        Giving `status` also sets `error` (None clears it); `usage`, `plan` and `meta` are
        kept unless given. The
        cached html is dropped since the text changed. Leaving 'streaming' indexes the reply.
        """
        values: dict[str, Any] = {
            "content": content,
            "reasoning": reasoning,
            "html": None,
            "updated_at": utc_now(),
        }
        if status is not None:
            _check_status(status)
            values["status"] = status
            values["error"] = error
        elif error is not None:
            values["error"] = error
        if usage is not None:
            values["usage"] = usage
        if plan is not None:
            values["plan"] = plan
        if meta is not None:
            values["meta"] = meta
        with self._transaction(write=True) as s:
            result = s.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)

    def set_html(self, message_id: str, html: str, version: int) -> bool:
        """Cache rendered html of a finished message; False if it is gone or streams again."""
        with self._transaction(write=True) as s:
            result = s.execute(
                update(Message)
                .where(Message.id == message_id, Message.status != "streaming")
                .values(html=html, html_version=version)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)

    def branch(
        self,
        session_id: str,
        *,
        leaf_id: str | None = None,
        limit: int | None = None,
        before_id: str | None = None,
    ) -> list[MessageRecord]:
        """The path root→leaf, oldest first; `limit` keeps its newest messages.

        With `before_id`, the path ends just above that message (the page before it). The leaf
        defaults to the one the chat shows; a leaf or before_id of another chat gives [].
        """
        if limit is not None and limit <= 0:
            return []
        with self._transaction(write=False) as s:
            start: str | None
            if before_id is not None:
                start = s.scalar(
                    select(Message.parent_id).where(
                        Message.id == before_id, Message.session_id == session_id
                    )
                )
            elif leaf_id is not None:
                start = leaf_id
            else:
                start = s.scalar(select(ChatSession.leaf_id).where(ChatSession.id == session_id))
            if start is None:
                return []
            return self._ancestors(s, start, session_id=session_id, limit=limit)

    def path_to(self, message_id: str) -> list[MessageRecord]:
        """Root→message, oldest first: the context for regenerating or editing it."""
        with self._transaction(write=False) as s:
            return self._ancestors(s, message_id, session_id=None, limit=None)

    def siblings(self, message_id: str) -> list[MessageRecord]:
        """The alternatives at this point of the tree (itself included), oldest first."""
        with self._transaction(write=False) as s:
            row = s.execute(
                select(Message.session_id, Message.parent_id).where(Message.id == message_id)
            ).first()
            if row is None:
                return []
            if row.parent_id is None:
                same_place = and_(Message.session_id == row.session_id, Message.parent_id.is_(None))
            else:
                same_place = Message.parent_id == row.parent_id
            stmt = select(Message).where(same_place).order_by(Message.created_at, Message.seq)
            return [_message_record(m) for m in s.scalars(stmt)]

    def sibling_ids(self, messages: list[MessageRecord]) -> dict[str, list[str]]:
        """For each message, the ids of its alternatives (itself included), oldest first:
        one query for a whole branch instead of one per message."""
        if not messages:
            return {}
        parents = {m.parent_id for m in messages if m.parent_id is not None}
        roots = {m.session_id for m in messages if m.parent_id is None}
        where = []
        if parents:
            where.append(Message.parent_id.in_(parents))
        if roots:
            where.append(and_(Message.session_id.in_(roots), Message.parent_id.is_(None)))
        stmt = (
            select(Message.id, Message.parent_id, Message.session_id)
            .where(or_(*where))
            .order_by(Message.created_at, Message.seq)
        )
        groups: dict[tuple[str | None, str | None], list[str]] = {}
        with self._transaction(write=False) as s:
            for row in s.execute(stmt):
                place = (row.parent_id, None if row.parent_id else row.session_id)
                groups.setdefault(place, []).append(row.id)
        return {
            m.id: groups.get((m.parent_id, None if m.parent_id else m.session_id), [m.id])
            for m in messages
        }

    def select_branch(self, message_id: str) -> SessionRecord:
        """Show the branch through `message_id`, down to its newest descendant.

        updated_at stays: looking at another branch is not a change that reorders the sidebar.
        """
        with self._transaction(write=True) as s:
            session_id = s.scalar(select(Message.session_id).where(Message.id == message_id))
            if session_id is None:
                raise MessageNotFound("That chat or message no longer exists.")
            leaf = s.execute(
                text(_NEWEST_LEAF), {"start": message_id, "max_depth": MAX_DEPTH}
            ).scalar_one()
            s.execute(
                update(ChatSession)
                .where(ChatSession.id == session_id)
                .values(leaf_id=leaf)
                .execution_options(synchronize_session=False)
            )
            row = s.get(ChatSession, session_id)
            assert row is not None  # the message's chat exists: messages cascade with it
            return _session_record(row)

    def mark_interrupted(self) -> int:
        """At start-up, replies left 'streaming' by a crash become 'interrupted', text kept."""
        with self._transaction(write=True) as s:
            result = s.execute(
                update(Message)
                .where(Message.status == "streaming")
                .values(status="interrupted", updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount

    def search(self, query: str, *, limit: int = 50) -> list[tuple[MessageRecord, str]]:
        """Finished messages matching every word, best first, with an HTML-safe snippet."""
        expr = match_expression(query)
        if expr is None or limit <= 0:
            return []
        stmt = text(_SEARCH).columns(*Message.__table__.columns, column("snippet", String))
        params = {"expr": expr, "limit": limit, "open": MARK_OPEN, "close": MARK_CLOSE}
        with self._transaction(write=False) as s:
            rows = s.execute(stmt, params).all()
        return [(_message_record(row), snippet_html(row.snippet)) for row in rows]

    def count_messages(self) -> int:
        with self._transaction(write=False) as s:
            return s.scalar(select(func.count()).select_from(Message)) or 0

    # roles

    def list_roles(self) -> list[RoleRecord]:
        """Every role, by name ignoring case."""
        with self._transaction(write=False) as s:
            roles = [_role_record(row) for row in s.scalars(select(Role))]
        return sorted(roles, key=lambda role: (role.name.casefold(), role.name))

    def get_role(self, role_id: str) -> RoleRecord | None:
        with self._transaction(write=False) as s:
            row = s.get(Role, role_id)
            return None if row is None else _role_record(row)

    def create_role(self, *, name: str, instructions: str) -> RoleRecord:
        now = utc_now()
        record = RoleRecord(
            id=new_id(), name=name, instructions=instructions, created_at=now, updated_at=now
        )
        with self._transaction(write=True) as s:
            self._require_free_name(s, name, role_id=None)
            s.execute(insert(Role).values(**_fields(record)))
        return record

    def update_role(
        self, role_id: str, *, name: str | None = None, instructions: str | None = None
    ) -> RoleRecord | None:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if instructions is not None:
            values["instructions"] = instructions
        with self._transaction(write=True) as s:
            if s.get(Role, role_id) is None:
                return None
            if name is not None:
                self._require_free_name(s, name, role_id=role_id)
            if values:
                values["updated_at"] = utc_now()
                s.execute(
                    update(Role)
                    .where(Role.id == role_id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                s.expire_all()
            row = s.get(Role, role_id)
            assert row is not None  # checked above, in this transaction
            return _role_record(row)

    def delete_role(self, role_id: str) -> bool:
        """Delete a role; chats that used it keep going without one."""
        with self._transaction(write=True) as s:
            result = s.execute(
                delete(Role).where(Role.id == role_id).execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)

    # helpers

    def _ancestors(
        self, s: Session, start: str, *, session_id: str | None, limit: int | None
    ) -> list[MessageRecord]:
        sql = _ANCESTORS.format(
            session_filter="" if session_id is None else "AND session_id = :session_id"
        )
        params: dict[str, Any] = {
            "start": start,
            "limit": -1 if limit is None else limit,
            "max_depth": MAX_DEPTH,
        }
        if session_id is not None:
            params["session_id"] = session_id
        # Plain rows, not ORM objects: a whole long chat loads several times faster.
        stmt = text(sql).columns(*Message.__table__.columns)
        return [_message_record(row) for row in s.execute(stmt, params)]

    @staticmethod
    def _require_role(s: Session, role_id: str | None) -> None:
        if role_id is not None and s.get(Role, role_id) is None:
            raise StoreError(f"There is no role {role_id}.")

    @staticmethod
    def _require_free_name(s: Session, name: str, *, role_id: str | None) -> None:
        stmt = select(Role.id).where(func.casefold(Role.name) == name.casefold())
        if role_id is not None:
            stmt = stmt.where(Role.id != role_id)
        if s.scalar(stmt.limit(1)) is not None:
            raise RoleNameTaken(f"A role named “{name}” already exists. Pick another name.")


_SESSION_COLUMNS = (
    "id, title, model, role_id, system_prompt, pinned, draft, leaf_id, created_at, updated_at,"
    " plan_mode, think"
)
_MESSAGE_FIELDS = (
    "id", "session_id", "parent_id", "role", "content", "reasoning", "html", "html_version",
    "model", "status", "error", "usage", "created_at", "updated_at", "plan", "meta",
)
_MESSAGE_JSON_FIELDS = ("error", "usage", "meta")
_MESSAGE_COLUMNS = ", ".join(_MESSAGE_FIELDS)
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({', '.join('?' * len(_MESSAGE_FIELDS))})"
)


def _message_params(record: MessageRecord) -> tuple[Any, ...]:
    """A record as the raw INSERT's parameters (JSON columns as text, like JSONText)."""
    values = _fields(record)
    for name in _MESSAGE_JSON_FIELDS:
        if values[name] is not None:
            values[name] = json.dumps(values[name], ensure_ascii=False, separators=(",", ":"))
    return tuple(values[name] for name in _MESSAGE_FIELDS)


def _message_from_row(row: Any) -> MessageRecord:
    values = dict(zip(_MESSAGE_FIELDS, row, strict=True))
    for name in _MESSAGE_JSON_FIELDS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return MessageRecord(**values)


def _fields(record: Any) -> dict[str, Any]:
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
