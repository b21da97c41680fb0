"""The chat database: sessions, their message trees, roles and search, usable from any thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import (
    URL,
    ColumnElement,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from .attachments import AttachmentRows
from .clock import new_id, utc_now
from .codec import MESSAGE_CODEC, ROLE_CODEC, SESSION_CODEC
from .errors import MessageNotFound, RoleNameTaken, SessionNotFound, StoreError
from .fts import MARK_CLOSE, MARK_OPEN, match_expression, snippet_html
from .keys import KeyRows
from .migrate import prepare
from .models import KEPT_BY_STORE, MESSAGES_TABLE, ROLES_TABLE, SESSIONS_TABLE
from .openai_threads import OpenAIThreadRows
from .outbound import OutboundRows
from .records import ROLES, STATUSES, MessageRecord, RoleRecord, SessionRecord
from .summaries import SummaryRows

PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL")
# Walks of the tree stop here even if a damaged file ever held a cycle.
MAX_DEPTH = 1_000_000
# What update_session() may change: the chat's columns but its key and those the store keeps.
SETTABLE_SESSION_FIELDS = frozenset(
    column.name
    for column in SESSIONS_TABLE.columns
    if column.name in SESSION_CODEC.columns
    and not column.primary_key
    and not column.info.get(KEPT_BY_STORE)
)
# What a send may change of its chat besides the leaf.
SEND_CHANGES = frozenset({"title", "model"})

# Records are read with plain SQL of the codec's columns (see codec.py); these are the lookups.
_SESSION_BY_ID = f"SELECT {SESSION_CODEC.select_list} FROM sessions WHERE id = ?"
_MESSAGE_BY_ID = f"SELECT {MESSAGE_CODEC.select_list} FROM messages WHERE id = ?"
_ROLE_BY_ID = f"SELECT {ROLE_CODEC.select_list} FROM roles WHERE id = ?"

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
SELECT {columns} FROM path JOIN messages ON messages.seq = path.seq
ORDER BY path.depth DESC
"""
_ANCESTORS_ANY_CHAT = text(
    _ANCESTORS.format(session_filter="", columns=MESSAGE_CODEC.qualified("messages"))
)
_ANCESTORS_IN_CHAT = text(
    _ANCESTORS.format(
        session_filter="AND session_id = :session_id",
        columns=MESSAGE_CODEC.qualified("messages"),
    )
)

# From :start, follow the newest child until there is none; the last one is the leaf.
_NEWEST_LEAF = text("""
WITH RECURSIVE down(id, depth) AS (
    SELECT :start, 0
    UNION ALL
    SELECT (SELECT c.id FROM messages AS c WHERE c.parent_id = down.id
            ORDER BY c.created_at DESC, c.seq DESC LIMIT 1),
           down.depth + 1
    FROM down WHERE down.id IS NOT NULL AND down.depth < :max_depth
)
SELECT id FROM down WHERE id IS NOT NULL ORDER BY depth DESC LIMIT 1
""")

# The snippet is the last column, after the message's.
_SEARCH = text(f"""
SELECT {MESSAGE_CODEC.qualified("messages")}, snippet(messages_fts, 0, :open, :close, '…', 16)
FROM messages_fts JOIN messages ON messages.seq = messages_fts.rowid
WHERE messages_fts MATCH :expr
ORDER BY messages_fts.rank, messages.seq DESC
LIMIT :limit
""")


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


class Store(AttachmentRows, SummaryRows, OpenAIThreadRows, KeyRows, OutboundRows):
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
        self._immediate = self._engine.execution_options(openchat_begin="IMMEDIATE")
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
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """A Core connection in a transaction. Not an ORM session: that costs ~0.3 ms more per
        call, which shows in the time to first token and in opening a chat."""
        if self._closed:
            raise StoreError("The chat database is closed.")
        # Writers of this process queue on a lock that wakes the next one at once; SQLite's
        # busy handler would sleep in growing steps (up to 100 ms) while the lock is taken.
        lock = self._write_lock if write else nullcontext()
        try:
            with lock, (self._immediate if write else self._engine).begin() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"The chat database could not do that: {exc.orig}") from exc

    # sessions

    def create_session(
        self,
        *,
        title: str = "New chat",
        model: str | None = None,
        role_id: str | None = None,
        system_prompt: str | None = None,
        plan_mode: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
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
            options=options,
        )
        with self._transaction(write=True) as conn:
            _require_role(conn, role_id)
            SESSION_CODEC.insert(conn, record)
        return record

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self._transaction(write=False) as conn:
            return _session(conn, session_id)

    def list_sessions(
        self, *, q: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        """Pinned first, then the most recently changed; `q` filters titles, ignoring case."""
        sql = f"SELECT {SESSION_CODEC.select_list} FROM sessions"
        params: list[Any] = []
        if q:
            # instr() takes q literally: no LIKE wildcards to escape
            sql += " WHERE instr(casefold(title), ?) > 0"
            params.append(q.casefold())
        sql += " ORDER BY pinned DESC, updated_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        with self._transaction(write=False) as conn:
            rows = conn.exec_driver_sql(sql, tuple(params))
            return [SESSION_CODEC.from_sql(row) for row in rows]

    def update_session(self, session_id: str, **fields: Any) -> SessionRecord | None:
        """Change some of the chat's columns: any but its id, its leaf and its timestamps
        (`SETTABLE_SESSION_FIELDS`, from the table).

        A draft-only change keeps updated_at, so typing does not reorder the sidebar.
        """
        unknown = fields.keys() - SETTABLE_SESSION_FIELDS
        if unknown:
            raise TypeError(f"update_session() got unknown fields: {', '.join(sorted(unknown))}")
        values = dict(fields)
        if "pinned" in values:
            values["pinned"] = bool(values["pinned"])
        if values.keys() - {"draft"}:
            values["updated_at"] = utc_now()
        with self._transaction(write=True) as conn:
            if values.get("role_id") is not None:
                _require_role(conn, values["role_id"])
            if values:
                conn.execute(
                    update(SESSIONS_TABLE).where(SESSIONS_TABLE.c.id == session_id).values(**values)
                )
            return _session(conn, session_id)

    def delete_session(self, session_id: str) -> bool:
        """Delete a chat with all its messages."""
        with self._transaction(write=True) as conn:
            # Cut the tree first: cascading along parent_id recurses once per generation and
            # SQLite gives up at 1,000 levels, so a long chat could not be deleted otherwise.
            conn.execute(
                update(MESSAGES_TABLE)
                .where(MESSAGES_TABLE.c.session_id == session_id)
                .values(parent_id=None)
            )
            result = conn.execute(delete(SESSIONS_TABLE).where(SESSIONS_TABLE.c.id == session_id))
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
        message = _new_message(
            session_id=session_id,
            parent_id=parent_id,
            role=role,
            content=content,
            model=model,
            status=status,
            reasoning=reasoning,
            created_at=utc_now(),
        )
        with self._transaction(write=True) as conn:
            _check_place(conn, session_id, parent_id)
            MESSAGE_CODEC.insert(conn, message)
            _show_leaf(conn, session_id, message.id, updated_at=message.created_at)
        return message

    def start_reply(
        self,
        *,
        session_id: str,
        parent_id: str | None,
        user_content: str | None,
        model: str,
        session_changes: dict[str, Any] | None = None,
        attachment_ids: Sequence[str] = (),
        meta: dict[str, Any] | None = None,
    ) -> tuple[MessageRecord, MessageRecord]:
        """Everything a send (or regenerate) writes, in one short transaction: the user's
        message (when `user_content` is given; else `parent_id` is the user message being
        answered again), the reply's row with status 'streaming', and the chat's leaf,
        `updated_at` and any `session_changes` (title, model); `attachment_ids` go with the
        new user message; `meta`: what is known of the reply before it starts (the options
        and context it is sent with).

        Returns (user message, reply). One transaction keeps the time to first token low.
        """
        now = utc_now()
        changes = dict(session_changes or {})
        unknown = changes.keys() - SEND_CHANGES
        if unknown:
            raise StoreError(f"start_reply cannot change {sorted(unknown)}.")
        with self._transaction(write=True) as conn:
            parent = _check_place(conn, session_id, parent_id)
            if user_content is not None:
                user = _new_message(
                    session_id=session_id,
                    parent_id=parent_id,
                    role="user",
                    content=user_content,
                    created_at=now,
                )
                MESSAGE_CODEC.insert(conn, user)
                self.link_attachments(conn, user.id, attachment_ids)
            elif parent is not None and parent.role == "user":
                user = parent
            else:
                raise StoreError("A reply must answer a user message.")
            # its own, later stamp: a reply sorts after the message it answers
            reply = _new_message(
                session_id=session_id,
                parent_id=user.id,
                role="assistant",
                content="",
                model=model,
                status="streaming",
                created_at=utc_now(),
                meta=meta or None,
            )
            MESSAGE_CODEC.insert(conn, reply)
            _show_leaf(conn, session_id, reply.id, updated_at=now, changes=changes)
        return user, reply

    def save_progress_many(self, progress: list[tuple[Any, ...]]) -> None:
        """Checkpoint several streaming replies, (id, content, reasoning[, plan[, tools]])
        each, in one transaction: one write per tick however many replies are running. A
        missing or None plan or tools list keeps the stored one."""
        if not progress:
            return
        now = utc_now()
        rows = []
        for message_id, content, reasoning, *rest in progress:
            plan = rest[0] if rest else None
            tools = rest[1] if len(rest) > 1 else None
            encoded = None if tools is None else json.dumps(tools, ensure_ascii=False,
                                                           separators=(",", ":"))
            rows.append((content, reasoning, plan, encoded, now, message_id))
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql(
                "UPDATE messages SET content = ?, reasoning = ?, plan = COALESCE(?, plan), "
                "tools = COALESCE(?, tools), html = NULL, updated_at = ? "
                "WHERE id = ? AND status = 'streaming'",
                rows,
            )

    def resume_reply(self, reply: MessageRecord) -> MessageRecord | None:
        """A finished reply goes back to 'streaming' to be continued, in one write: its error
        and cached html are cleared, its text stays. Only if the row is still as `reply` was
        read (status and updated_at): of two continues at once, one wins; None for the other,
        or when the reply changed or is gone."""
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(MESSAGES_TABLE)
                .where(
                    MESSAGES_TABLE.c.id == reply.id,
                    MESSAGES_TABLE.c.status == reply.status,
                    MESSAGES_TABLE.c.updated_at == reply.updated_at,
                )
                .values(status="streaming", error=None, html=None, updated_at=utc_now())
            )
            return _message(conn, reply.id) if result.rowcount else None

    def set_model_title(self, session_id: str, title: str, *, replacing: str) -> bool:
        """A title a model wrote, saved only while the chat's title is still `replacing` and
        not the person's own (checked in the same statement, so a rename at the same moment
        wins). The chat's place in the list stays: updated_at is kept."""
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(SESSIONS_TABLE)
                .where(
                    SESSIONS_TABLE.c.id == session_id,
                    SESSIONS_TABLE.c.title == replacing,
                    SESSIONS_TABLE.c.title_by_person.is_not(True),
                )
                .values(title=title)
            )
            return bool(result.rowcount)

    def get_message(self, message_id: str) -> MessageRecord | None:
        with self._transaction(write=False) as conn:
            return _message(conn, message_id)

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
        tools: list[dict[str, Any]] | None = None,
        model: str | None = None,
        html: tuple[str, int] | None = None,
    ) -> bool:
        """Checkpoint a reply in one UPDATE; False when the message is gone.

        Giving `status` also sets `error` (None clears it); `usage`, `plan`, `tools` and
        `model` (another model answered) are kept unless given; `meta` is merged into the
        stored one (what was known at the start stays). The cached html is dropped since the
        text changed, unless `html` gives the new text's (html, render version), which only
        a reply that leaves 'streaming' may. Leaving 'streaming' indexes the reply.
        """
        if html is not None and status in (None, "streaming"):
            raise ValueError("only a finished reply's html is cached")
        values: dict[str, Any] = {
            "content": content,
            "reasoning": reasoning,
            "html": None,
            "updated_at": utc_now(),
        }
        if html is not None:
            values["html"], values["html_version"] = html
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
        if tools is not None:
            values["tools"] = tools
        if model is not None:
            values["model"] = model
        if meta is not None:
            values["meta"] = func.json_patch(
                func.coalesce(MESSAGES_TABLE.c.meta, "{}"), json.dumps(meta, ensure_ascii=False)
            )
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(MESSAGES_TABLE).where(MESSAGES_TABLE.c.id == message_id).values(**values)
            )
            return bool(result.rowcount)

    def set_html(self, message_id: str, html: str, version: int) -> bool:
        """Cache rendered html of a finished message; False if it is gone or streams again."""
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(MESSAGES_TABLE)
                .where(MESSAGES_TABLE.c.id == message_id, MESSAGES_TABLE.c.status != "streaming")
                .values(html=html, html_version=version)
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
        with self._transaction(write=False) as conn:
            start: str | None
            if before_id is not None:
                start = conn.scalar(
                    select(MESSAGES_TABLE.c.parent_id).where(
                        MESSAGES_TABLE.c.id == before_id, MESSAGES_TABLE.c.session_id == session_id
                    )
                )
            elif leaf_id is not None:
                start = leaf_id
            else:
                start = conn.scalar(
                    select(SESSIONS_TABLE.c.leaf_id).where(SESSIONS_TABLE.c.id == session_id)
                )
            if start is None:
                return []
            return _ancestors(conn, start, session_id=session_id, limit=limit)

    def path_to(self, message_id: str) -> list[MessageRecord]:
        """Root→message, oldest first: the context for regenerating or editing it."""
        with self._transaction(write=False) as conn:
            return _ancestors(conn, message_id, session_id=None, limit=None)

    def siblings(self, message_id: str) -> list[MessageRecord]:
        """The alternatives at this point of the tree (itself included), oldest first."""
        with self._transaction(write=False) as conn:
            row = conn.execute(
                select(MESSAGES_TABLE.c.session_id, MESSAGES_TABLE.c.parent_id)
                .where(MESSAGES_TABLE.c.id == message_id)
            ).first()
            if row is None:
                return []
            if row.parent_id is None:
                same_place = "session_id = ? AND parent_id IS NULL"
                params: tuple[str, ...] = (row.session_id,)
            else:
                same_place, params = "parent_id = ?", (row.parent_id,)
            rows = conn.exec_driver_sql(
                f"SELECT {MESSAGE_CODEC.select_list} FROM messages WHERE {same_place}"
                " ORDER BY created_at, seq",
                params,
            )
            return [MESSAGE_CODEC.from_sql(found) for found in rows]

    def sibling_ids(self, messages: list[MessageRecord]) -> dict[str, list[str]]:
        """For each message, the ids of its alternatives (itself included), oldest first:
        one query for a whole branch instead of one per message."""
        if not messages:
            return {}
        parents = {m.parent_id for m in messages if m.parent_id is not None}
        roots = {m.session_id for m in messages if m.parent_id is None}
        where: list[ColumnElement[bool]] = []
        if parents:
            where.append(MESSAGES_TABLE.c.parent_id.in_(parents))
        if roots:
            where.append(
                and_(MESSAGES_TABLE.c.session_id.in_(roots), MESSAGES_TABLE.c.parent_id.is_(None))
            )
        stmt = (
            select(MESSAGES_TABLE.c.id, MESSAGES_TABLE.c.parent_id, MESSAGES_TABLE.c.session_id)
            .where(or_(*where))
            .order_by(MESSAGES_TABLE.c.created_at, MESSAGES_TABLE.c.seq)
        )
        groups: dict[tuple[str | None, str | None], list[str]] = {}
        with self._transaction(write=False) as conn:
            for row in conn.execute(stmt):
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
        with self._transaction(write=True) as conn:
            session_id = conn.scalar(
                select(MESSAGES_TABLE.c.session_id).where(MESSAGES_TABLE.c.id == message_id)
            )
            if session_id is None:
                raise MessageNotFound("That chat or message no longer exists.")
            leaf = conn.execute(
                _NEWEST_LEAF, {"start": message_id, "max_depth": MAX_DEPTH}
            ).scalar_one()
            conn.execute(
                update(SESSIONS_TABLE).where(SESSIONS_TABLE.c.id == session_id).values(leaf_id=leaf)
            )
            session = _session(conn, session_id)
            assert session is not None  # the message's chat exists: messages cascade with it
            return session

    def mark_interrupted(self) -> int:
        """At start-up, replies left 'streaming' by a crash become 'interrupted', text kept;
        so do their tool calls that were running or waiting for the person."""
        with self._transaction(write=True) as conn:
            with_calls = conn.execute(
                select(MESSAGES_TABLE.c.id, MESSAGES_TABLE.c.tools)
                .where(MESSAGES_TABLE.c.status == "streaming", MESSAGES_TABLE.c.tools.is_not(None))
            ).all()
            for message_id, calls in with_calls:
                for call in calls:
                    if call.get("status") in ("running", "waiting"):
                        call.pop("deadline", None)
                        call["status"] = "interrupted"
                conn.execute(
                    update(MESSAGES_TABLE)
                    .where(MESSAGES_TABLE.c.id == message_id)
                    .values(tools=calls)
                )
            result = conn.execute(
                update(MESSAGES_TABLE)
                .where(MESSAGES_TABLE.c.status == "streaming")
                .values(status="interrupted", updated_at=utc_now())
            )
            return result.rowcount

    def search(self, query: str, *, limit: int = 50) -> list[tuple[MessageRecord, str]]:
        """Finished messages matching every word, best first, with an HTML-safe snippet."""
        expr = match_expression(query)
        if expr is None or limit <= 0:
            return []
        params = {"expr": expr, "limit": limit, "open": MARK_OPEN, "close": MARK_CLOSE}
        with self._transaction(write=False) as conn:
            rows = conn.execute(_SEARCH, params).all()
        return [(MESSAGE_CODEC.from_sql(row[:-1]), snippet_html(row[-1])) for row in rows]

    def count_messages(self) -> int:
        with self._transaction(write=False) as conn:
            return conn.scalar(select(func.count()).select_from(MESSAGES_TABLE)) or 0

    # roles

    def list_roles(self) -> list[RoleRecord]:
        """Every role, by name ignoring case."""
        with self._transaction(write=False) as conn:
            rows = conn.exec_driver_sql(f"SELECT {ROLE_CODEC.select_list} FROM roles")
            roles = [ROLE_CODEC.from_sql(row) for row in rows]
        return sorted(roles, key=lambda role: (role.name.casefold(), role.name))

    def get_role(self, role_id: str) -> RoleRecord | None:
        with self._transaction(write=False) as conn:
            return _role(conn, role_id)

    def create_role(self, *, name: str, instructions: str) -> RoleRecord:
        now = utc_now()
        record = RoleRecord(
            id=new_id(), name=name, instructions=instructions, created_at=now, updated_at=now
        )
        with self._transaction(write=True) as conn:
            _require_free_name(conn, name, role_id=None)
            ROLE_CODEC.insert(conn, record)
        return record

    def update_role(
        self, role_id: str, *, name: str | None = None, instructions: str | None = None
    ) -> RoleRecord | None:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if instructions is not None:
            values["instructions"] = instructions
        with self._transaction(write=True) as conn:
            role = _role(conn, role_id)
            if role is None:
                return None
            if name is not None:
                _require_free_name(conn, name, role_id=role_id)
            if not values:
                return role
            values["updated_at"] = utc_now()
            conn.execute(update(ROLES_TABLE).where(ROLES_TABLE.c.id == role_id).values(**values))
            changed = _role(conn, role_id)
            assert changed is not None  # read above, in this transaction
            return changed

    def delete_role(self, role_id: str) -> bool:
        """Delete a role; chats that used it keep going without one."""
        with self._transaction(write=True) as conn:
            result = conn.execute(delete(ROLES_TABLE).where(ROLES_TABLE.c.id == role_id))
            return bool(result.rowcount)


# Reads and checks shared by the methods above, each inside the caller's transaction.


def _session(conn: Connection, session_id: str) -> SessionRecord | None:
    row = conn.exec_driver_sql(_SESSION_BY_ID, (session_id,)).first()
    return None if row is None else SESSION_CODEC.from_sql(row)


def _message(conn: Connection, message_id: str) -> MessageRecord | None:
    row = conn.exec_driver_sql(_MESSAGE_BY_ID, (message_id,)).first()
    return None if row is None else MESSAGE_CODEC.from_sql(row)


def _role(conn: Connection, role_id: str) -> RoleRecord | None:
    row = conn.exec_driver_sql(_ROLE_BY_ID, (role_id,)).first()
    return None if row is None else ROLE_CODEC.from_sql(row)


def _ancestors(
    conn: Connection, start: str, *, session_id: str | None, limit: int | None
) -> list[MessageRecord]:
    params: dict[str, Any] = {
        "start": start,
        "limit": -1 if limit is None else limit,
        "max_depth": MAX_DEPTH,
    }
    if session_id is None:
        stmt = _ANCESTORS_ANY_CHAT
    else:
        stmt, params["session_id"] = _ANCESTORS_IN_CHAT, session_id
    return [MESSAGE_CODEC.from_sql(row) for row in conn.execute(stmt, params)]


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"Unknown message status {status!r}; expected one of {STATUSES}.")


def _new_message(
    *,
    session_id: str,
    parent_id: str | None,
    role: str,
    content: str,
    created_at: str,
    model: str | None = None,
    status: str = "complete",
    reasoning: str = "",
    meta: dict[str, Any] | None = None,
) -> MessageRecord:
    """A message about to be written; every new message row starts here."""
    if role not in ROLES:
        raise StoreError(f"Unknown message role {role!r}; expected one of {ROLES}.")
    _check_status(status)
    return MessageRecord(
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
        created_at=created_at,
        updated_at=created_at,
        meta=meta,
    )


def _check_place(conn: Connection, session_id: str, parent_id: str | None) -> MessageRecord | None:
    """Refuse a new message of a chat that does not exist, or under a parent that is missing
    or in another chat; returns the parent."""
    if conn.exec_driver_sql("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).first() is None:
        raise SessionNotFound("That chat or message no longer exists.")
    if parent_id is None:
        return None
    parent = _message(conn, parent_id)
    if parent is None:
        raise MessageNotFound("That chat or message no longer exists.")
    if parent.session_id != session_id:
        raise StoreError(f"Message {parent_id} belongs to another chat than {session_id}.")
    return parent


def _show_leaf(
    conn: Connection,
    session_id: str,
    leaf_id: str,
    *,
    updated_at: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Make a new message the one the chat shows: a change of the chat, so updated_at moves."""
    values = {**(changes or {}), "leaf_id": leaf_id, "updated_at": updated_at}
    assignments = ", ".join(f"{name} = ?" for name in values)
    conn.exec_driver_sql(
        f"UPDATE sessions SET {assignments} WHERE id = ?", (*values.values(), session_id)
    )


def _require_role(conn: Connection, role_id: str | None) -> None:
    if role_id is None:
        return
    if conn.scalar(select(ROLES_TABLE.c.id).where(ROLES_TABLE.c.id == role_id)) is None:
        raise StoreError(f"There is no role {role_id}.")


def _require_free_name(conn: Connection, name: str, *, role_id: str | None) -> None:
    stmt = select(ROLES_TABLE.c.id).where(func.casefold(ROLES_TABLE.c.name) == name.casefold())
    if role_id is not None:
        stmt = stmt.where(ROLES_TABLE.c.id != role_id)
    if conn.scalar(stmt.limit(1)) is not None:
        raise RoleNameTaken(f"A role named “{name}” already exists. Pick another name.")
