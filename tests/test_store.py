"""The store: records, ordering, message trees, search, roles, durability settings, threads."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import event

from openchat_desktop.store import (
    MessageNotFound,
    MessageRecord,
    RoleNameTaken,
    SessionNotFound,
    Store,
    StoreError,
)
from openchat_desktop.store.codec import CODECS, RecordCodec
from openchat_desktop.store.models import INTERNAL, METADATA

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@contextmanager
def raw(store: Store) -> Iterator[sqlite3.Connection]:
    """A second, plain connection to the same file, as another program would see it."""
    with closing(sqlite3.connect(store.path, isolation_level=None)) as db:
        db.execute("PRAGMA foreign_keys=ON")
        yield db


def chain(store: Store, session_id: str, n: int) -> list[str]:
    """Insert a chain of n messages in one transaction (fast) and show its end."""
    ids = [uuid4().hex for _ in range(n)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i, message_id in enumerate(ids):
        stamp = (start + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        role = "user" if i % 2 == 0 else "assistant"
        parent = ids[i - 1] if i else None
        rows.append((message_id, session_id, parent, role, f"message number{i}", stamp, stamp))
    with raw(store) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO messages (id, session_id, parent_id, role, content, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'complete', ?, ?)",
            rows,
        )
        db.execute("UPDATE sessions SET leaf_id = ? WHERE id = ?", (ids[-1], session_id))
        db.execute("COMMIT")
    return ids


def indexed_terms(store: Store) -> dict[str, set[str]]:
    """What the full-text index really holds, per message id (not what a query suggests)."""
    with raw(store) as db:
        db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, messages_fts, instance)")
        terms: dict[str, set[str]] = {}
        for message_id, term in db.execute(
            "SELECT messages.id, vocab.term FROM temp.vocab"
            " JOIN messages ON messages.seq = vocab.doc"
        ):
            terms.setdefault(message_id, set()).add(term)
        return terms


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def ids(records: list[MessageRecord]) -> list[str]:
    return [r.id for r in records]


# connection settings


def test_pragmas_are_set_on_every_connection(store: Store) -> None:
    with store._engine.connect() as conn:
        values = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert values == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "openchat.sqlite3")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_sessions()


def test_records_are_frozen(store: Store) -> None:
    session = store.create_session()
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.title = "changed"  # type: ignore[misc]


# records and rows


@pytest.mark.parametrize("codec", CODECS, ids=lambda codec: codec.table.name)
def test_each_record_has_its_tables_columns_in_order(codec: RecordCodec[object]) -> None:
    """A column added to the table but not to the record (or the other way) fails here."""
    columns = [c.name for c in codec.table.columns if not c.info.get(INTERNAL)]
    fields = [f.name for f in dataclasses.fields(codec.record)]  # type: ignore[arg-type]
    assert fields == columns, f"{codec.record.__name__} and the table {codec.table.name}"


def test_every_table_but_the_link_table_has_a_record() -> None:
    assert {codec.table.name for codec in CODECS} == set(METADATA.tables) - {
        "message_attachments"
    }


def test_json_and_boolean_columns_read_the_same_on_every_path(store: Store) -> None:
    plan_mode = {"planner": "p/big", "executor": "p/small"}
    session = store.create_session(plan_mode=plan_mode)
    # a JSON string: decoding twice or not at all would both go unnoticed with a dict
    updated = store.update_session(session.id, think="high", pinned=True)
    assert updated is not None
    assert (updated.plan_mode, updated.think, updated.pinned) == (plan_mode, "high", True)
    assert store.get_session(session.id) == updated
    assert store.list_sessions() == [updated]

    user, reply = store.start_reply(
        session_id=session.id, parent_id=None, user_content="q", model="p/m"
    )
    error, usage, meta = {"code": "timeout"}, {"output_tokens": 3}, {"plan_ms": 12}
    store.save_progress(
        reply.id, content="an answer", reasoning="", status="error", error=error, usage=usage,
        meta=meta,
    )
    saved = store.get_message(reply.id)
    assert saved is not None and (saved.error, saved.usage, saved.meta) == (error, usage, meta)
    assert store.branch(session.id)[-1] == saved
    assert store.path_to(reply.id)[-1] == saved
    assert store.siblings(reply.id) == [saved]
    assert store.search("answer") == [(saved, "an <mark>answer</mark>")]
    assert store.select_branch(user.id).think == "high"


# sessions


def test_create_and_get_session(store: Store) -> None:
    session = store.create_session()
    assert re.fullmatch(r"[0-9a-f]{32}", session.id)
    assert TIMESTAMP.match(session.created_at) and session.created_at == session.updated_at
    assert (session.title, session.model, session.role_id, session.system_prompt) == (
        "New chat",
        None,
        None,
        None,
    )
    assert (session.pinned, session.draft, session.leaf_id) == (False, "", None)
    assert store.get_session(session.id) == session
    assert store.get_session("nope") is None

    role = store.create_role(name="Tutor", instructions="Explain simply.")
    other = store.create_session(
        title="Maths", model="ollama/qwen3:8b", role_id=role.id, system_prompt="Be brief."
    )
    assert store.get_session(other.id) == other
    assert (other.model, other.role_id, other.system_prompt) == (
        "ollama/qwen3:8b",
        role.id,
        "Be brief.",
    )


def test_create_session_with_unknown_role_fails(store: Store) -> None:
    with pytest.raises(StoreError, match="no role"):
        store.create_session(role_id="missing")
    assert store.list_sessions() == []


def test_timestamps_sort_as_text_in_creation_order(store: Store) -> None:
    stamps = [store.create_session().created_at for _ in range(50)]
    assert all(TIMESTAMP.match(s) for s in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == 50


def test_list_sessions_pinned_first_then_newest_change(store: Store) -> None:
    a = store.create_session(title="a")
    b = store.create_session(title="b")
    c = store.create_session(title="c")
    assert [s.title for s in store.list_sessions()] == ["c", "b", "a"]

    store.update_session(a.id, title="a2")  # a changed last: first
    assert [s.title for s in store.list_sessions()] == ["a2", "c", "b"]

    store.update_session(b.id, pinned=True)
    assert [s.title for s in store.list_sessions()] == ["b", "a2", "c"]

    store.add_message(session_id=c.id, parent_id=None, role="user", content="hi")
    assert [s.title for s in store.list_sessions()] == ["b", "c", "a2"]

    store.update_session(a.id, draft="typing…")  # a draft does not reorder
    assert [s.title for s in store.list_sessions()] == ["b", "c", "a2"]
    assert [s.title for s in store.list_sessions(limit=2)] == ["b", "c"]
    assert store.list_sessions(limit=0) == []


def test_list_sessions_filters_titles_ignoring_case(store: Store) -> None:
    for title in ["Über Rust", "rust tips", "Python", "100% done", "snake_case", "a_b"]:
        store.create_session(title=title)

    def titles(q: str) -> set[str]:
        return {s.title for s in store.list_sessions(q=q)}

    assert titles("RUST") == {"Über Rust", "rust tips"}
    assert titles("über") == {"Über Rust"}  # beyond ASCII
    assert titles("%") == {"100% done"}  # wildcards are plain characters
    assert titles("_") == {"snake_case", "a_b"}
    assert titles("e_c") == {"snake_case"}
    assert titles("nothing") == set()
    assert len(store.list_sessions(q="")) == 6


def test_update_session(store: Store) -> None:
    role = store.create_role(name="Coder", instructions="Write code.")
    session = store.create_session()

    updated = store.update_session(
        session.id,
        title="Renamed",
        model="ollama/llama3.2:3b",
        role_id=role.id,
        system_prompt="Short answers.",
        pinned=1,
    )
    assert updated is not None
    assert (updated.title, updated.model, updated.role_id, updated.system_prompt) == (
        "Renamed",
        "ollama/llama3.2:3b",
        role.id,
        "Short answers.",
    )
    assert updated.pinned is True
    assert updated.updated_at > session.updated_at
    assert store.get_session(session.id) == updated

    drafted = store.update_session(session.id, draft="half a thought")
    assert drafted is not None and drafted.draft == "half a thought"
    assert drafted.updated_at == updated.updated_at

    cleared = store.update_session(session.id, role_id=None, model=None, system_prompt=None)
    assert cleared is not None and (cleared.role_id, cleared.model, cleared.system_prompt) == (
        None,
        None,
        None,
    )
    assert store.update_session(session.id) == cleared


def test_update_session_rejects_bad_input(store: Store) -> None:
    session = store.create_session()
    assert store.update_session("missing", title="x") is None
    for kept_by_the_store in ("id", "leaf_id", "created_at", "updated_at"):
        with pytest.raises(TypeError, match=kept_by_the_store):
            store.update_session(session.id, **{kept_by_the_store: "x"})
    with pytest.raises(StoreError, match="no role"):
        store.update_session(session.id, role_id="missing")
    assert store.get_session(session.id) == session


def test_delete_session_takes_its_messages(store: Store) -> None:
    keep = store.create_session()
    kept = store.add_message(session_id=keep.id, parent_id=None, role="user", content="kept")
    gone = store.create_session()
    first = store.add_message(session_id=gone.id, parent_id=None, role="user", content="walrus")
    store.add_message(session_id=gone.id, parent_id=first.id, role="assistant", content="walrus")
    store.add_message(
        session_id=gone.id, parent_id=first.id, role="assistant", content="", status="streaming"
    )

    assert store.delete_session(gone.id) is True
    assert store.get_session(gone.id) is None
    assert store.get_message(first.id) is None
    assert store.count_messages() == 1
    assert store.search("walrus") == []
    assert indexed_terms(store) == {kept.id: {"kept"}}
    assert store.delete_session(gone.id) is False


def test_delete_session_with_a_very_long_chat(store: Store) -> None:
    """Deeper than SQLite's 1,000 levels of cascading: the tree is cut before deleting."""
    session = store.create_session()
    chain(store, session.id, 2_500)
    assert store.delete_session(session.id) is True
    assert store.count_messages() == 0
    assert indexed_terms(store) == {}


def test_deleting_a_message_cascades_to_its_replies(store: Store) -> None:
    session = store.create_session()
    root = store.add_message(session_id=session.id, parent_id=None, role="user", content="q")
    reply = store.add_message(
        session_id=session.id, parent_id=root.id, role="assistant", content="a"
    )
    other = store.add_message(session_id=session.id, parent_id=None, role="user", content="q2")
    store.select_branch(reply.id)
    with raw(store) as db:
        db.execute("DELETE FROM messages WHERE id = ?", (root.id,))
    assert store.get_message(reply.id) is None
    assert store.get_message(other.id) is not None
    after = store.get_session(session.id)
    assert after is not None and after.leaf_id is None


# messages


def test_add_message_makes_it_the_leaf(store: Store) -> None:
    session = store.create_session()
    user = store.add_message(session_id=session.id, parent_id=None, role="user", content="hello")
    assert re.fullmatch(r"[0-9a-f]{32}", user.id)
    assert (user.session_id, user.parent_id, user.role, user.content, user.status) == (
        session.id,
        None,
        "user",
        "hello",
        "complete",
    )
    assert (user.reasoning, user.html, user.html_version, user.error, user.usage) == (
        "",
        None,
        0,
        None,
        None,
    )
    assert TIMESTAMP.match(user.created_at)
    after = store.get_session(session.id)
    assert after is not None and after.leaf_id == user.id and after.updated_at == user.created_at

    reply = store.add_message(
        session_id=session.id,
        parent_id=user.id,
        role="assistant",
        content="",
        model="ollama/llama3.2:3b",
        status="streaming",
        reasoning="thinking",
    )
    assert store.get_message(reply.id) == reply
    assert (reply.model, reply.status, reply.reasoning) == (
        "ollama/llama3.2:3b",
        "streaming",
        "thinking",
    )
    after = store.get_session(session.id)
    assert after is not None and after.leaf_id == reply.id
    assert store.get_message("missing") is None
    assert store.count_messages() == 2


def test_add_message_enforces_the_tree(store: Store) -> None:
    one = store.create_session()
    two = store.create_session()
    in_one = store.add_message(session_id=one.id, parent_id=None, role="user", content="x")

    with pytest.raises(SessionNotFound):
        store.add_message(session_id="missing", parent_id=None, role="user", content="x")
    with pytest.raises(MessageNotFound):
        store.add_message(session_id=one.id, parent_id="missing", role="user", content="x")
    with pytest.raises(StoreError, match="another chat"):
        store.add_message(session_id=two.id, parent_id=in_one.id, role="assistant", content="x")
    with pytest.raises(StoreError, match="role"):
        store.add_message(session_id=one.id, parent_id=None, role="tool", content="x")
    with pytest.raises(StoreError, match="status"):
        store.add_message(
            session_id=one.id, parent_id=None, role="user", content="x", status="done"
        )
    assert store.count_messages() == 1
    assert store.get_session(two.id) == two  # untouched by the failed attempt


def test_save_progress(store: Store) -> None:
    session = store.create_session()
    user = store.add_message(session_id=session.id, parent_id=None, role="user", content="q")
    reply = store.add_message(
        session_id=session.id, parent_id=user.id, role="assistant", content="", status="streaming"
    )

    assert store.save_progress(reply.id, content="Hel", reasoning="hmm") is True
    saved = store.get_message(reply.id)
    assert saved is not None
    assert (saved.content, saved.reasoning, saved.status) == ("Hel", "hmm", "streaming")
    assert saved.updated_at > reply.updated_at and saved.created_at == reply.created_at

    usage = {"prompt_tokens": 3, "completion_tokens": 5, "tokens_per_second": 41.5}
    error = {"code": "stream_broken", "message": "The connection dropped."}
    store.save_progress(reply.id, content="Hello", reasoning="hmm", status="error", error=error)
    store.save_progress(reply.id, content="Hello", reasoning="hmm", usage=usage)
    saved = store.get_message(reply.id)
    assert saved is not None
    assert (saved.status, saved.error, saved.usage) == ("error", error, usage)

    # a status change sets the error too: finishing cleanly clears it; usage stays
    store.save_progress(reply.id, content="Hello!", reasoning="hmm", status="complete")
    saved = store.get_message(reply.id)
    assert saved is not None
    assert (saved.content, saved.status, saved.error, saved.usage) == (
        "Hello!",
        "complete",
        None,
        usage,
    )

    assert store.save_progress("missing", content="x", reasoning="") is False
    with pytest.raises(StoreError, match="status"):
        store.save_progress(reply.id, content="x", reasoning="", status="finished")


def test_save_progress_is_one_update_that_skips_the_index_while_streaming(store: Store) -> None:
    session = store.create_session()
    reply = store.add_message(
        session_id=session.id, parent_id=None, role="assistant", content="", status="streaming"
    )
    statements: list[str] = []
    changes: list[int] = []  # rows written by the statement, including those of its triggers

    def before(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split()[0].upper())
        changes.append(-cursor.connection.total_changes)

    def after(conn, cursor, statement, params, context, executemany):
        changes[-1] += cursor.connection.total_changes

    event.listen(store._engine, "before_cursor_execute", before)
    event.listen(store._engine, "after_cursor_execute", after)
    try:
        store.save_progress(reply.id, content="partial answer", reasoning="")
        streaming_changes = [c for s, c in zip(statements, changes, strict=True) if s == "UPDATE"]
        assert [s for s in statements if s != "BEGIN"] == ["UPDATE"]
        statements.clear()
        changes.clear()
        store.save_progress(reply.id, content="full answer", reasoning="", status="complete")
        finish_changes = [c for s, c in zip(statements, changes, strict=True) if s == "UPDATE"]
        assert [s for s in statements if s != "BEGIN"] == ["UPDATE"]
    finally:
        event.remove(store._engine, "before_cursor_execute", before)
        event.remove(store._engine, "after_cursor_execute", after)

    assert streaming_changes == [1]  # the message row only: the index was not touched
    assert finish_changes[0] > 1  # the row and the index entries the trigger wrote
    assert indexed_terms(store) == {reply.id: {"full", "answer"}}


def test_set_html(store: Store) -> None:
    session = store.create_session()
    done = store.add_message(session_id=session.id, parent_id=None, role="user", content="*hi*")
    assert store.set_html(done.id, "<p><em>hi</em></p>", 3) is True
    saved = store.get_message(done.id)
    assert saved is not None and (saved.html, saved.html_version) == ("<p><em>hi</em></p>", 3)
    assert saved.updated_at == done.updated_at  # a cache, not an edit

    # new text makes the cached html stale: it is dropped
    store.save_progress(done.id, content="*hello*", reasoning="")
    saved = store.get_message(done.id)
    assert saved is not None and saved.html is None

    streaming = store.add_message(
        session_id=session.id, parent_id=done.id, role="assistant", content="", status="streaming"
    )
    assert store.set_html(streaming.id, "<p>partial</p>", 3) is False
    saved = store.get_message(streaming.id)
    assert saved is not None and saved.html is None
    assert store.set_html("missing", "<p></p>", 3) is False


# the message tree


def test_regenerate_makes_a_sibling_and_shows_it(store: Store) -> None:
    session = store.create_session()
    question = store.add_message(session_id=session.id, parent_id=None, role="user", content="q")
    first = store.add_message(
        session_id=session.id, parent_id=question.id, role="assistant", content="a1"
    )
    second = store.add_message(
        session_id=session.id, parent_id=question.id, role="assistant", content="a2"
    )
    assert ids(store.branch(session.id)) == [question.id, second.id]
    assert ids(store.siblings(first.id)) == [first.id, second.id]
    assert ids(store.siblings(second.id)) == [first.id, second.id]
    assert ids(store.path_to(first.id)) == [question.id, first.id]
    assert ids(store.branch(session.id, leaf_id=first.id)) == [question.id, first.id]


def test_edit_makes_a_new_branch_and_keeps_the_old(store: Store) -> None:
    session = store.create_session()
    q1 = store.add_message(session_id=session.id, parent_id=None, role="user", content="q1")
    a1 = store.add_message(session_id=session.id, parent_id=q1.id, role="assistant", content="a1")
    q2 = store.add_message(session_id=session.id, parent_id=a1.id, role="user", content="q2")
    a2 = store.add_message(session_id=session.id, parent_id=q2.id, role="assistant", content="a2")

    # editing q2 = a new user message beside it, under the same parent
    q2b = store.add_message(session_id=session.id, parent_id=a1.id, role="user", content="q2 v2")
    assert ids(store.branch(session.id)) == [q1.id, a1.id, q2b.id]
    assert ids(store.siblings(q2.id)) == [q2.id, q2b.id]
    assert ids(store.path_to(a2.id)) == [q1.id, a1.id, q2.id, a2.id]

    # editing the first message: roots are siblings within their chat only
    other = store.create_session()
    store.add_message(session_id=other.id, parent_id=None, role="user", content="elsewhere")
    q1b = store.add_message(session_id=session.id, parent_id=None, role="user", content="q1 v2")
    assert ids(store.siblings(q1.id)) == [q1.id, q1b.id]
    assert ids(store.branch(session.id)) == [q1b.id]
    assert store.siblings("missing") == []
    assert store.path_to("missing") == []


def test_select_branch_follows_the_newest_child_down(store: Store) -> None:
    session = store.create_session()
    q1 = store.add_message(session_id=session.id, parent_id=None, role="user", content="q1")
    a1 = store.add_message(session_id=session.id, parent_id=q1.id, role="assistant", content="a1")
    q2 = store.add_message(session_id=session.id, parent_id=a1.id, role="user", content="q2")
    a2 = store.add_message(session_id=session.id, parent_id=q2.id, role="assistant", content="a2")
    a1b = store.add_message(session_id=session.id, parent_id=q1.id, role="assistant", content="b")
    before = store.get_session(session.id)
    assert before is not None and before.leaf_id == a1b.id

    shown = store.select_branch(a1.id)
    assert shown.leaf_id == a2.id
    assert shown.updated_at == before.updated_at  # looking is not changing
    assert ids(store.branch(session.id)) == [q1.id, a1.id, q2.id, a2.id]

    assert store.select_branch(q1.id).leaf_id == a1b.id  # q1's newest child is a1b
    assert store.select_branch(a2.id).leaf_id == a2.id
    assert store.get_session(session.id) == shown
    with pytest.raises(MessageNotFound):
        store.select_branch("missing")


def test_branch_edge_cases(store: Store) -> None:
    empty = store.create_session()
    assert store.branch(empty.id) == []
    assert store.branch("missing") == []

    session = store.create_session()
    q = store.add_message(session_id=session.id, parent_id=None, role="user", content="q")
    a = store.add_message(session_id=session.id, parent_id=q.id, role="assistant", content="a")
    # a leaf or cursor from another chat shows nothing of it
    assert store.branch(empty.id, leaf_id=a.id) == []
    assert store.branch(empty.id, before_id=a.id) == []
    assert ids(store.branch(session.id, before_id=a.id)) == [q.id]
    assert store.branch(session.id, before_id=q.id) == []
    assert store.branch(session.id, limit=0) == []
    assert ids(store.branch(session.id, limit=1)) == [a.id]


def test_branch_pages_through_a_long_chat(store: Store) -> None:
    session = store.create_session()
    path = chain(store, session.id, 10_000)

    newest = store.branch(session.id, limit=50)
    assert ids(newest) == path[-50:]
    assert [m.content for m in newest[:2]] == ["message number9950", "message number9951"]

    page = store.branch(session.id, limit=50, before_id=newest[0].id)
    assert ids(page) == path[-100:-50]

    # walking back page by page visits every message once, in order
    pages = [newest]
    while True:
        page = store.branch(session.id, limit=777, before_id=pages[-1][0].id)
        if not page:
            break
        pages.append(page)
    assert [m for p in reversed(pages) for m in ids(p)] == path
    assert len(pages[-1]) == 10_000 - 50 - 12 * 777

    assert ids(store.branch(session.id)) == path
    assert ids(store.branch(session.id, leaf_id=path[99])) == path[:100]


# start-up after a crash


def test_mark_interrupted(store: Store) -> None:
    one = store.create_session()
    two = store.create_session()
    done = store.add_message(session_id=one.id, parent_id=None, role="user", content="hi")
    cut = []
    for session in (one, two):
        reply = store.add_message(
            session_id=session.id, parent_id=None, role="assistant", content="", status="streaming"
        )
        store.save_progress(reply.id, content="half an otter", reasoning="thinking")
        cut.append(reply.id)
    assert store.search("otter") == []

    assert store.mark_interrupted() == 2
    for message_id in cut:
        message = store.get_message(message_id)
        assert message is not None
        assert (message.status, message.content, message.reasoning) == (
            "interrupted",
            "half an otter",
            "thinking",
        )
    again = store.get_message(done.id)
    assert again is not None and again.status == "complete"
    assert {m.id for m, _ in store.search("otter")} == set(cut)  # finished now: searchable
    assert store.mark_interrupted() == 0


# search


def test_search_indexes_a_reply_once_it_is_finished(store: Store) -> None:
    session = store.create_session()
    user = store.add_message(
        session_id=session.id, parent_id=None, role="user", content="Tell me about zebras"
    )
    reply = store.add_message(
        session_id=session.id, parent_id=user.id, role="assistant", content="", status="streaming"
    )
    store.save_progress(reply.id, content="Zebras have stripes", reasoning="")
    assert [m.id for m, _ in store.search("stripes")] == []
    assert indexed_terms(store) == {user.id: {"tell", "me", "about", "zebras"}}

    store.save_progress(reply.id, content="Zebras have stripes.", reasoning="", status="stopped")
    assert [m.id for m, _ in store.search("stripes")] == [reply.id]
    assert {m.id for m, _ in store.search("zebras")} == {user.id, reply.id}

    # a finished message whose text changes is re-indexed
    store.save_progress(reply.id, content="Okapis have stripes too.", reasoning="")
    assert [m.id for m, _ in store.search("okapis")] == [reply.id]
    assert [m.id for m, _ in store.search("zebras")] == [user.id]
    # a status change alone (stopped -> complete) leaves the entry as it is
    store.save_progress(
        reply.id, content="Okapis have stripes too.", reasoning="", status="complete"
    )
    # going back to streaming (continuing a reply) takes it out until it finishes again
    store.save_progress(
        reply.id, content="Okapis have stripes too", reasoning="", status="streaming"
    )
    assert store.search("okapis") == []
    assert indexed_terms(store) == {user.id: words(user.content)}
    store.save_progress(reply.id, content="Okapis, then giraffes.", reasoning="", status="complete")
    assert indexed_terms(store) == {
        user.id: words(user.content),
        reply.id: {"okapis", "then", "giraffes"},
    }


def test_search_results_snippets_and_order(store: Store) -> None:
    session = store.create_session()
    parent = None
    for text in [
        "A long answer that mentions a parser once, among many other words about other things.",
        "parser parser parser",
        "<script>alert('x')</script> in the parser docs & more",
        "Café au lait",
    ]:
        parent = store.add_message(
            session_id=session.id,
            parent_id=parent.id if parent else None,
            role="user",
            content=text,
        )
    results = store.search("parser")
    assert [m.content for m, _ in results][0] == "parser parser parser"  # best first
    assert len(results) == 3
    snippets = {m.content: snippet for m, snippet in results}
    assert snippets["parser parser parser"] == "<mark>parser</mark> " * 2 + "<mark>parser</mark>"
    hostile = snippets["<script>alert('x')</script> in the parser docs & more"]
    assert "<script>" not in hostile
    assert hostile == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
        " in the <mark>parser</mark> docs &amp; more"
    )
    assert len(store.search("parser", limit=2)) == 2
    assert store.search("parser", limit=0) == []
    assert [m.content for m, _ in store.search("cafe")] == ["Café au lait"]  # diacritics
    assert [m.content for m, _ in store.search("pars*")][0] == "parser parser parser"
    assert store.search("pars") == []  # whole words unless asked for a prefix
    assert [m.content for m, _ in store.search("PARSER docs")] == [
        "<script>alert('x')</script> in the parser docs & more"
    ]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"',
        '"parser',
        "parser\"'",
        "AND",
        "parser AND",
        "OR parser",
        "NOT",
        "*",
        "**",
        "parser*",
        "-parser",
        "+",
        "NEAR(parser docs)",
        "content:parser",
        "messages_fts:x",
        "^parser",
        "(parser",
        "a:b:c",
        "{content}: x",
        "\x00",
        "'; DROP TABLE messages; --",
    ],
)
def test_hostile_queries_do_not_raise(store: Store, query: str) -> None:
    session = store.create_session()
    store.add_message(session_id=session.id, parent_id=None, role="user", content="parser docs")
    store.search(query)
    assert store.count_messages() == 1


def test_search_treats_operators_as_words(store: Store) -> None:
    session = store.create_session()
    store.add_message(session_id=session.id, parent_id=None, role="user", content="this AND that")
    store.add_message(session_id=session.id, parent_id=None, role="user", content="this or that")
    assert [m.content for m, _ in store.search("AND")] == ["this AND that"]
    assert [m.content for m, _ in store.search('"this AND"')] == ["this AND that"]
    assert {m.content for m, _ in store.search("this that")} == {"this AND that", "this or that"}


# roles


def test_roles_crud_and_order(store: Store) -> None:
    zed = store.create_role(name="zed", instructions="Z.")
    alpha = store.create_role(name="Alpha", instructions="A.")
    beta = store.create_role(name="beta", instructions="B.")
    assert re.fullmatch(r"[0-9a-f]{32}", alpha.id) and TIMESTAMP.match(alpha.created_at)
    assert [r.name for r in store.list_roles()] == ["Alpha", "beta", "zed"]
    assert store.get_role(beta.id) == beta
    assert store.get_role("missing") is None

    renamed = store.update_role(zed.id, name="Gamma")
    assert renamed is not None and (renamed.name, renamed.instructions) == ("Gamma", "Z.")
    assert renamed.updated_at > zed.updated_at and renamed.created_at == zed.created_at
    reworded = store.update_role(zed.id, instructions="Say less.")
    assert reworded is not None and (reworded.name, reworded.instructions) == ("Gamma", "Say less.")
    assert store.get_role(zed.id) == reworded
    assert store.update_role(zed.id) == reworded
    assert store.update_role("missing", name="x") is None
    assert [r.name for r in store.list_roles()] == ["Alpha", "beta", "Gamma"]

    assert store.delete_role(alpha.id) is True
    assert store.delete_role(alpha.id) is False
    assert [r.name for r in store.list_roles()] == ["beta", "Gamma"]


def test_role_names_are_unique_ignoring_case(store: Store) -> None:
    coder = store.create_role(name="Coder", instructions="Code.")
    doctor = store.create_role(name="Ärztin", instructions="Care.")
    for taken in ["Coder", "coder", "CODER", "ärztin", "ÄRZTIN"]:
        with pytest.raises(RoleNameTaken):
            store.create_role(name=taken, instructions="again")
    with pytest.raises(RoleNameTaken):
        store.update_role(doctor.id, name="cOdEr")
    assert len(store.list_roles()) == 2

    recased = store.update_role(coder.id, name="CODER")  # its own name, new case: fine
    assert recased is not None and recased.name == "CODER"
    assert store.create_role(name="Coder 2", instructions="x").name == "Coder 2"


def test_deleting_a_role_detaches_its_sessions(store: Store) -> None:
    role = store.create_role(name="Tutor", instructions="Teach.")
    other = store.create_role(name="Poet", instructions="Rhyme.")
    using = store.create_session(role_id=role.id)
    unrelated = store.create_session(role_id=other.id)
    assert store.delete_role(role.id) is True
    after = store.get_session(using.id)
    assert after is not None and after.role_id is None
    assert after.updated_at == using.updated_at
    still = store.get_session(unrelated.id)
    assert still is not None and still.role_id == other.id


# threads


def test_many_threads_write_at_once(store: Store) -> None:
    """Flask request threads and generation threads share one store."""
    threads_n, replies_n = 8, 25
    barrier = threading.Barrier(threads_n)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            session = store.create_session(title=f"thread {n}")
            store.create_role(name=f"role {n}", instructions="x")
            parent = None
            for i in range(replies_n):
                user = store.add_message(
                    session_id=session.id,
                    parent_id=parent,
                    role="user",
                    content=f"question {i}",
                )
                reply = store.add_message(
                    session_id=session.id,
                    parent_id=user.id,
                    role="assistant",
                    content="",
                    status="streaming",
                )
                for k in range(3):
                    store.save_progress(reply.id, content=f"answer {i} part {k}", reasoning="")
                store.save_progress(
                    reply.id, content=f"answer {i}", reasoning="", status="complete"
                )
                store.update_session(session.id, draft=f"draft {i}")
                store.branch(session.id, limit=10)
                store.list_sessions()
                parent = reply.id
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert failures == []
    assert store.count_messages() == threads_n * replies_n * 2
    assert len(store.list_roles()) == threads_n
    for session in store.list_sessions():
        path = store.branch(session.id)
        assert len(path) == replies_n * 2
        assert path[-1].content == f"answer {replies_n - 1}" and path[-1].status == "complete"
    assert len(store.search("answer", limit=1000)) == threads_n * replies_n


def test_sibling_ids_for_a_whole_branch_in_one_call(store):
    session = store.create_session()
    other = store.create_session()
    q1 = store.add_message(session_id=session.id, parent_id=None, role="user", content="q1")
    q1b = store.add_message(session_id=session.id, parent_id=None, role="user", content="q1b")
    store.add_message(session_id=other.id, parent_id=None, role="user", content="elsewhere")
    a1 = store.add_message(session_id=session.id, parent_id=q1b.id, role="assistant",
                           content="a1")
    a2 = store.add_message(session_id=session.id, parent_id=q1b.id, role="assistant",
                           content="a2")
    versions = store.sibling_ids([q1b, a2])
    assert versions == {q1b.id: [q1.id, q1b.id], a2.id: [a1.id, a2.id]}
    assert store.sibling_ids([]) == {}


def test_start_reply_writes_a_send_in_one_transaction(store):
    session = store.create_session()
    user, reply = store.start_reply(
        session_id=session.id, parent_id=None, user_content="Hello?", model="p/m",
        session_changes={"title": "Hello?", "model": "p/m"},
    )
    assert (user.role, user.content, user.parent_id) == ("user", "Hello?", None)
    assert (reply.role, reply.status, reply.parent_id, reply.model) == (
        "assistant", "streaming", user.id, "p/m")
    assert store.get_message(reply.id) == reply
    after = store.get_session(session.id)
    assert (after.leaf_id, after.title, after.model) == (reply.id, "Hello?", "p/m")
    assert after.updated_at >= session.updated_at

    again_user, again = store.start_reply(
        session_id=session.id, parent_id=user.id, user_content=None, model="p/other"
    )
    assert again_user == user and again.parent_id == user.id
    assert [m.id for m in store.siblings(again.id)] == [reply.id, again.id]
    assert store.get_session(session.id).model == "p/m"


def test_start_reply_refuses_what_it_cannot_answer(store):
    session = store.create_session()
    other = store.create_session()
    _, reply = store.start_reply(session_id=session.id, parent_id=None, user_content="q",
                                 model="p/m")
    with pytest.raises(SessionNotFound):
        store.start_reply(session_id="nope", parent_id=None, user_content="q", model="p/m")
    with pytest.raises(MessageNotFound):
        store.start_reply(session_id=session.id, parent_id="nope", user_content="q",
                          model="p/m")
    with pytest.raises(StoreError):
        store.start_reply(session_id=other.id, parent_id=reply.id, user_content="q",
                          model="p/m")
    with pytest.raises(StoreError):  # a regenerate must answer a user message
        store.start_reply(session_id=session.id, parent_id=reply.id, user_content=None,
                          model="p/m")
    assert store.count_messages() == 2


def test_save_progress_many_never_touches_a_finished_reply(store):
    session = store.create_session()
    _, one = store.start_reply(session_id=session.id, parent_id=None, user_content="a",
                               model="p/m")
    _, two = store.start_reply(session_id=session.id, parent_id=None, user_content="b",
                               model="p/m")
    store.save_progress(two.id, content="final", reasoning="", status="complete")
    store.save_progress_many([(one.id, "so far", "thinking"), (two.id, "stale", "")])
    assert (store.get_message(one.id).content, store.get_message(one.id).reasoning) == (
        "so far", "thinking")
    assert store.get_message(two.id).content == "final"
    store.save_progress_many([])


def test_what_is_known_at_the_start_of_a_reply_stays_when_its_end_is_saved(store):
    session = store.create_session()
    at_start = {"options": {"temperature": 0.2, "stop": ["\n\n"]}, "context": {"window": 4096}}
    _, reply = store.start_reply(
        session_id=session.id, parent_id=None, user_content="q", model="p/m", meta=at_start
    )
    assert store.get_message(reply.id).meta == at_start
    store.save_progress(reply.id, content="a", reasoning="", status="complete",
                        meta={"answer": {"model": "p/m", "ms": 5.0, "status": "complete"}})
    assert store.get_message(reply.id).meta == {
        **at_start, "answer": {"model": "p/m", "ms": 5.0, "status": "complete"}}


def test_a_summary_belongs_to_the_message_it_ends_at_and_can_be_replaced(store):
    session = store.create_session()
    user, reply = store.start_reply(
        session_id=session.id, parent_id=None, user_content="q", model="p/m"
    )
    assert store.summaries_for([user.id, reply.id]) == {}
    store.save_summary(message_id=reply.id, session_id=session.id, content="They said hi.",
                       model="p/m", covered=2)
    store.save_summary(message_id=reply.id, session_id=session.id, content="They greeted.",
                       model="p/q", covered=2)
    found = store.summaries_for([user.id, reply.id])
    assert list(found) == [reply.id]
    assert (found[reply.id].content, found[reply.id].model) == ("They greeted.", "p/q")
    store.delete_session(session.id)
    assert store.summaries_for([reply.id]) == {}
