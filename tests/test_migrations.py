"""Migrations: the exact schema, backups before upgrades, refusals, and the fast start."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from openchat_desktop.store import SCHEMA_REVISION, Store, StoreError
from openchat_desktop.store.migrate import (
    INITIAL_REVISION,
    MIGRATIONS_DIR,
    _migration_engine,
    prepare,
)
from openchat_desktop.store.models import METADATA

FTS_TABLES = {
    "messages_fts",
    "messages_fts_config",
    "messages_fts_data",
    "messages_fts_docsize",
    "messages_fts_idx",
}

# (name, declared type, not null, default, primary key position)
EXPECTED_COLUMNS = {
    "roles": [
        ("id", "VARCHAR", 1, None, 1),
        ("name", "VARCHAR", 1, None, 0),  # COLLATE NOCASE, checked below
        ("instructions", "TEXT", 1, None, 0),
        ("created_at", "VARCHAR", 1, None, 0),
        ("updated_at", "VARCHAR", 1, None, 0),
    ],
    "sessions": [
        ("id", "VARCHAR", 1, None, 1),
        ("title", "TEXT", 1, None, 0),
        ("model", "TEXT", 0, None, 0),
        ("role_id", "VARCHAR", 0, None, 0),
        ("system_prompt", "TEXT", 0, None, 0),
        ("pinned", "BOOLEAN", 1, "0", 0),
        ("draft", "TEXT", 1, "''", 0),
        ("leaf_id", "VARCHAR", 0, None, 0),
        ("created_at", "VARCHAR", 1, None, 0),
        ("updated_at", "VARCHAR", 1, None, 0),
        ("plan_mode", "TEXT", 0, None, 0),
        ("think", "TEXT", 0, None, 0),
        ("options", "TEXT", 0, None, 0),
        ("context_policy", "TEXT", 0, None, 0),
        ("title_by_person", "BOOLEAN", 1, "0", 0),
        ("tool_servers", "TEXT", 0, None, 0),
        ("fallbacks", "TEXT", 0, None, 0),
    ],
    "messages": [
        ("seq", "INTEGER", 1, None, 1),
        ("id", "VARCHAR", 1, None, 0),
        ("session_id", "VARCHAR", 1, None, 0),
        ("parent_id", "VARCHAR", 0, None, 0),
        ("role", "VARCHAR", 1, None, 0),
        ("content", "TEXT", 1, "''", 0),
        ("reasoning", "TEXT", 1, "''", 0),
        ("html", "TEXT", 0, None, 0),
        ("html_version", "INTEGER", 1, "0", 0),
        ("model", "TEXT", 0, None, 0),
        ("status", "VARCHAR", 1, None, 0),
        ("error", "TEXT", 0, None, 0),
        ("usage", "TEXT", 0, None, 0),
        ("created_at", "VARCHAR", 1, None, 0),
        ("updated_at", "VARCHAR", 1, None, 0),
        ("plan", "TEXT", 0, None, 0),
        ("meta", "TEXT", 0, None, 0),
        ("tools", "TEXT", 0, None, 0),
    ],
    "messages_fts": [("content", "", 0, None, 0)],
    "attachments": [
        ("id", "VARCHAR", 1, None, 1),
        ("sha256", "VARCHAR", 1, None, 0),
        ("name", "TEXT", 1, None, 0),
        ("mime", "VARCHAR", 1, None, 0),
        ("kind", "VARCHAR", 1, None, 0),
        ("size", "INTEGER", 1, None, 0),
        ("text", "TEXT", 0, None, 0),
        ("created_at", "VARCHAR", 1, None, 0),
    ],
    "summaries": [
        ("message_id", "VARCHAR", 1, None, 1),
        ("session_id", "VARCHAR", 1, None, 0),
        ("content", "TEXT", 1, None, 0),
        ("model", "TEXT", 1, None, 0),
        ("covered", "INTEGER", 1, None, 0),
        ("created_at", "VARCHAR", 1, None, 0),
    ],
    "message_attachments": [
        ("message_id", "VARCHAR", 1, None, 1),
        ("position", "INTEGER", 1, None, 2),
        ("attachment_id", "VARCHAR", 1, None, 0),
    ],
    "outbound_requests": [
        ("seq", "INTEGER", 1, None, 1),
        ("at", "VARCHAR", 1, None, 0),
        ("source", "TEXT", 1, None, 0),
        ("method", "VARCHAR", 1, None, 0),
        ("host", "TEXT", 1, None, 0),
        ("path", "TEXT", 1, None, 0),
        ("status", "INTEGER", 0, None, 0),
        ("sent", "INTEGER", 1, "0", 0),
        ("received", "INTEGER", 1, "0", 0),
        ("outcome", "VARCHAR", 1, None, 0),
    ],
}

# index name -> (table, unique, columns)
EXPECTED_INDEXES = {
    "sqlite_autoindex_roles_1": ("roles", 1, ["id"]),
    "sqlite_autoindex_roles_2": ("roles", 1, ["name"]),
    "sqlite_autoindex_sessions_1": ("sessions", 1, ["id"]),
    "ix_sessions_pinned_updated_at": ("sessions", 0, ["pinned", "updated_at"]),
    "ix_sessions_role_id": ("sessions", 0, ["role_id"]),
    "ix_sessions_leaf_id": ("sessions", 0, ["leaf_id"]),
    "sqlite_autoindex_messages_1": ("messages", 1, ["id"]),
    "ix_messages_session_id_parent_id": ("messages", 0, ["session_id", "parent_id", "created_at"]),
    "ix_messages_parent_id": ("messages", 0, ["parent_id", "created_at"]),
    "ix_messages_streaming": ("messages", 0, ["session_id"]),
    "sqlite_autoindex_attachments_1": ("attachments", 1, ["id"]),
    "ix_attachments_sha256": ("attachments", 0, ["sha256"]),
    "sqlite_autoindex_message_attachments_1": (
        "message_attachments", 1, ["message_id", "position"],
    ),
    "ix_message_attachments_attachment_id": ("message_attachments", 0, ["attachment_id"]),
    "sqlite_autoindex_summaries_1": ("summaries", 1, ["message_id"]),
    "ix_summaries_session_id": ("summaries", 0, ["session_id"]),
    "sqlite_autoindex_api_keys_1": ("api_keys", 1, ["id"]),
    "ix_api_keys_secret_hash": ("api_keys", 1, ["secret_hash"]),
    "ix_api_keys_active_name": ("api_keys", 1, ["name"]),
    "sqlite_autoindex_openai_threads_1": ("openai_threads", 1, ["fingerprint"]),
    "ix_openai_threads_session_id": ("openai_threads", 0, ["session_id"]),
    "ix_outbound_requests_at": ("outbound_requests", 0, ["at"]),
}

# (table, column, referenced table, referenced column, on delete)
EXPECTED_FOREIGN_KEYS = {
    ("sessions", "role_id", "roles", "id", "SET NULL"),
    ("sessions", "leaf_id", "messages", "id", "SET NULL"),
    ("messages", "session_id", "sessions", "id", "CASCADE"),
    ("messages", "parent_id", "messages", "id", "CASCADE"),
    ("message_attachments", "message_id", "messages", "id", "CASCADE"),
    ("message_attachments", "attachment_id", "attachments", "id", "CASCADE"),
    ("summaries", "message_id", "messages", "id", "CASCADE"),
    ("summaries", "session_id", "sessions", "id", "CASCADE"),
    ("openai_threads", "session_id", "sessions", "id", "CASCADE"),
    ("openai_threads", "message_id", "messages", "id", "CASCADE"),
}


# The revision after head, which tests add to play a newer app.
LATER = f"{int(SCHEMA_REVISION) + 1:04d}"


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "openchat.sqlite3"


def connect(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def revisions(path: Path) -> list[str]:
    with connect(path) as db:
        return [r for (r,) in db.execute("SELECT version_num FROM alembic_version")]


def columns(path: Path, table: str) -> list[str]:
    with connect(path) as db:
        return [name for (name,) in db.execute("SELECT name FROM pragma_table_info(?)", (table,))]


def downgrade(path: Path, revision: str) -> None:
    """Take a file back to `revision` with the shipped scripts, as an older app left it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = _migration_engine(path)
    try:
        with engine.connect() as conn, conn.begin():
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def store_with_data(path: Path) -> tuple[str, str]:
    """A database at head holding one chat with a question and its answer."""
    with Store(path) as store:
        session = store.create_session(title="Keep me")
        question = store.add_message(
            session_id=session.id, parent_id=None, role="user", content="precious words"
        )
        store.add_message(
            session_id=session.id, parent_id=question.id, role="assistant", content="reply"
        )
    return session.id, question.id


def chat_titles(path: Path) -> list[str]:
    with connect(path) as db:
        return [t for (t,) in db.execute("SELECT title FROM sessions")]


@pytest.fixture
def migrations(tmp_path: Path) -> Iterator[Path]:
    """A copy of the shipped migrations that a test may add a revision to."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    yield folder


def add_revision(folder: Path, body: str) -> None:
    script = textwrap.dedent(
        '''\
        """A later change, for tests."""

        import sqlalchemy as sa
        from alembic import op

        revision = "{revision}"
        down_revision = "{down_revision}"
        branch_labels = None
        depends_on = None


        def upgrade():
        {body}


        def downgrade():
            pass
        '''
    ).format(
        revision=LATER,
        down_revision=SCHEMA_REVISION,
        body=textwrap.indent(textwrap.dedent(body), "    "),
    )
    (folder / "versions" / f"{LATER}_later.py").write_text(script)


# the schema


def test_migrate_blank_database_gives_the_exact_schema(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    Store(path).close()
    assert revisions(path) == [SCHEMA_REVISION]
    assert not (path.parent / "backups").exists()  # nothing to keep from a new file

    with connect(path) as db:
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {
            "alembic_version", "roles", "sessions", "messages", "attachments",
            "message_attachments", "summaries", "api_keys", "openai_threads", "outbound_requests",
        } | FTS_TABLES
        for table, expected in EXPECTED_COLUMNS.items():
            got = [tuple(row[1:]) for row in db.execute(f"PRAGMA table_info({table})")]
            assert got == expected, table

        indexes = {}
        for name, table in db.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type='index'"
            " AND tbl_name IN ('roles', 'sessions', 'messages', 'attachments',"
            " 'message_attachments', 'summaries', 'api_keys', 'openai_threads',"
            " 'outbound_requests')"
        ):
            unique = db.execute(
                "SELECT [unique] FROM pragma_index_list(?) WHERE name = ?", (table, name)
            ).fetchone()[0]
            cols = [c for (c,) in db.execute("SELECT name FROM pragma_index_info(?)", (name,))]
            indexes[name] = (table, unique, cols)
        assert indexes == EXPECTED_INDEXES
        (partial,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_messages_streaming'"
        ).fetchone()
        assert partial.endswith("WHERE status = 'streaming'")
        (active,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_api_keys_active_name'"
        ).fetchone()
        assert active.endswith("WHERE revoked_at IS NULL")

        foreign_keys = {
            (table, row[3], row[2], row[4], row[6])
            for table in ("roles", "sessions", "messages", "message_attachments", "summaries",
                          "openai_threads")
            for row in db.execute(f"PRAGMA foreign_key_list({table})")
        }
        assert foreign_keys == EXPECTED_FOREIGN_KEYS

        triggers = {
            name: table
            for name, table in db.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type='trigger'"
            )
        }
        assert triggers == {
            "messages_fts_ai": "messages",
            "messages_fts_ad": "messages",
            "messages_fts_au": "messages",
        }
        (fts_sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'messages_fts'"
        ).fetchone()
        assert re.sub(r"\s+", " ", fts_sql) == (
            "CREATE VIRTUAL TABLE messages_fts USING fts5( content, content='messages',"
            " content_rowid='seq', tokenize='unicode61 remove_diacritics 2' )"
        )
        roles_sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'roles'").fetchone()[0]
        assert 'name VARCHAR COLLATE "NOCASE" NOT NULL' in roles_sql
        checks = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
        assert "CONSTRAINT ck_messages_role CHECK" in checks
        assert "CONSTRAINT ck_messages_status CHECK" in checks


def test_declared_tables_match_the_migrated_schema(tmp_path: Path) -> None:
    """The tables are declared by hand beside the DDL; this catches the two drifting apart."""
    path = db_path(tmp_path)
    Store(path).close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": lambda name, type_, parents: (
                        not (
                            type_ == "table"
                            and (name == "alembic_version" or name.startswith("messages_fts"))
                        )
                    ),
                },
            )
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()


def test_schema_revision_is_alembic_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_migrations_ship_inside_the_package() -> None:
    import openchat_desktop

    package = Path(openchat_desktop.__file__).parent
    assert MIGRATIONS_DIR == package / "store" / "migrations"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    Store(path).close()
    downgrade(path, "base")
    with connect(path) as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert tables == ["alembic_version"]
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE type='trigger'").fetchone() == (
            0,
        )
    assert revisions(path) == []

    with Store(path) as store:  # an empty file at base: migrated, nothing worth a backup
        assert store.backup_path is None
        assert store.list_sessions() == []
    assert revisions(path) == [SCHEMA_REVISION]


# the fast path


def test_opening_a_database_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    Store(path).close()
    probe = (
        "import sys; from openchat_desktop.store import Store; "
        f"Store({str(path)!r}).close(); print('alembic' in sys.modules)"
    )
    at_head = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert at_head.returncode == 0, at_head.stderr
    assert at_head.stdout.strip() == "False"

    # the same probe on a new file must migrate, and so does import alembic
    fresh = tmp_path / "fresh" / "openchat.sqlite3"
    probe = probe.replace(repr(str(path)), repr(str(fresh)))
    migrated = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == "True"


# upgrading existing files


def test_file_without_version_is_copied_then_stamped(tmp_path: Path) -> None:
    """Our tables but no alembic_version: copied, stamped with 0001, data kept."""
    path = db_path(tmp_path)
    session_id, question_id = store_with_data(path)
    downgrade(path, INITIAL_REVISION)
    with connect(path) as db:  # the shape revision 0001 made, without its version table
        db.execute("DROP TABLE alembic_version")
        db.commit()

    with Store(path) as store:
        backup = store.backup_path
        assert backup is not None
        assert backup.parent == path.parent / "backups"
        assert re.fullmatch(r"openchat-none-\d{8}T\d{6}Z\.sqlite3", backup.name)
        message = store.get_message(question_id)
        assert message is not None and message.content == "precious words"
        assert [m.content for m, _ in store.search("precious")] == ["precious words"]
    assert revisions(path) == [SCHEMA_REVISION]

    with connect(backup) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert [t for (t,) in db.execute("SELECT title FROM sessions")] == ["Keep me"]
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (2,)
        assert "alembic_version" not in {
            n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert session_id


def test_older_revision_is_copied_then_upgraded(tmp_path: Path, migrations: Path) -> None:
    path = db_path(tmp_path)
    store_with_data(path)
    add_revision(migrations, 'op.add_column("sessions", sa.Column("color", sa.Text()))')

    backup = prepare(path, migrations_dir=migrations, head=LATER)

    assert backup is not None
    assert re.fullmatch(rf"openchat-{SCHEMA_REVISION}-\d{{8}}T\d{{6}}Z\.sqlite3", backup.name)
    assert revisions(path) == [LATER]
    assert "color" in columns(path, "sessions")
    assert chat_titles(path) == ["Keep me"]
    # the copy is the file as it was before the upgrade
    assert revisions(backup) == [SCHEMA_REVISION]
    assert "color" not in columns(backup, "sessions")
    assert chat_titles(backup) == ["Keep me"]

    # at head now: nothing more to do, no second copy
    assert prepare(path, migrations_dir=migrations, head=LATER) is None
    assert len(list(backup.parent.iterdir())) == 1


def test_backups_of_the_same_second_do_not_overwrite_each_other(
    tmp_path: Path, migrations: Path
) -> None:
    path = db_path(tmp_path)
    store_with_data(path)
    add_revision(migrations, 'op.add_column("sessions", sa.Column("color", sa.Text()))')
    first = prepare(path, migrations_dir=migrations, head=LATER)
    with connect(path) as db:  # back to head, by hand
        db.execute("ALTER TABLE sessions DROP COLUMN color")
        db.execute("UPDATE alembic_version SET version_num = ?", (SCHEMA_REVISION,))
        db.commit()
    second = prepare(path, migrations_dir=migrations, head=LATER)
    assert first is not None and second is not None and first != second
    assert first.exists() and second.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            """
            op.add_column("sessions", sa.Column("color", sa.Text()))
            raise RuntimeError("disk on fire")
            """,
            "disk on fire",
        ),
        (
            """
            op.add_column("sessions", sa.Column("color", sa.Text()))
            op.execute(
                "INSERT INTO messages (id, session_id, role, status, created_at, updated_at)"
                " VALUES ('orphan', 'no such chat', 'user', 'complete', 'x', 'x')"
            )
            """,
            "broken references",
        ),
    ],
)
def test_failed_upgrade_leaves_the_file_as_it_was(
    tmp_path: Path, migrations: Path, body: str, reason: str
) -> None:
    path = db_path(tmp_path)
    store_with_data(path)
    add_revision(migrations, body)

    with pytest.raises(StoreError, match=reason) as failure:
        prepare(path, migrations_dir=migrations, head=LATER)

    (backup,) = (path.parent / "backups").iterdir()
    assert str(backup) in str(failure.value)
    assert revisions(path) == [SCHEMA_REVISION]
    assert "color" not in columns(path, "sessions")
    assert chat_titles(path) == ["Keep me"]
    with connect(path) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (2,)
    with Store(path) as store:  # still opens with this app
        assert [s.title for s in store.list_sessions()] == ["Keep me"]


def test_newer_database_is_refused_untouched(tmp_path: Path, migrations: Path) -> None:
    path = db_path(tmp_path)
    store_with_data(path)
    add_revision(migrations, 'op.add_column("sessions", sa.Column("color", sa.Text()))')
    prepare(path, migrations_dir=migrations, head=LATER)  # as a newer app would leave it
    shutil.rmtree(path.parent / "backups")
    before = digest(path)

    with pytest.raises(StoreError, match="written by a newer OpenChat; update the app"):
        Store(path)

    assert digest(path) == before
    assert not (path.parent / "backups").exists()
    assert revisions(path) == [LATER]


def test_foreign_database_is_refused_untouched(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir(parents=True)
    with connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
        db.commit()
    before = digest(path)
    with pytest.raises(StoreError, match="not an OpenChat database"):
        Store(path)
    assert digest(path) == before
    assert not (path.parent / "backups").exists()


def test_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not SQLite at all, just some text " * 100)
    with pytest.raises(StoreError, match="not a readable OpenChat database"):
        Store(path)
    assert path.read_bytes().startswith(b"this is not SQLite")
