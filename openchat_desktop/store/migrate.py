"""Bring a database file to the schema this app expects, copying it first if it holds data.

At head (every start-up but the first after an update) this reads `alembic_version` with plain
SQL and returns: Alembic is imported only when there is something to do.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from .errors import StoreError

SCHEMA_REVISION = "0006"
INITIAL_REVISION = "0001"
# Resolved from this file so it also works from a PyInstaller bundle (scripts ship as data).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# What revision 0001 creates; a file with these but no alembic_version is stamped, not rebuilt.
INITIAL_COLUMNS = {
    "roles": {"id", "name", "instructions", "created_at", "updated_at"},
    "sessions": {
        "id",
        "title",
        "model",
        "role_id",
        "system_prompt",
        "pinned",
        "draft",
        "leaf_id",
        "created_at",
        "updated_at",
    },
    "messages": {
        "seq",
        "id",
        "session_id",
        "parent_id",
        "role",
        "content",
        "reasoning",
        "html",
        "html_version",
        "model",
        "status",
        "error",
        "usage",
        "created_at",
        "updated_at",
    },
    "messages_fts": {"content"},
}
INITIAL_TRIGGERS = {"messages_fts_ai", "messages_fts_ad", "messages_fts_au"}


@dataclass(frozen=True, slots=True)
class FileState:
    revisions: tuple[str, ...]
    tables: dict[str, set[str]]  # table name -> column names
    triggers: set[str]

    @property
    def has_data(self) -> bool:
        return bool(self.tables.keys() - {"alembic_version"})


def prepare(
    path: Path, *, migrations_dir: Path = MIGRATIONS_DIR, head: str = SCHEMA_REVISION
) -> Path | None:
    """Make the file at `path` ready for this app; returns the backup taken before upgrading."""
    state = read_state(path)
    if state is not None and state.revisions == (head,):
        return None
    return _upgrade(path, state, migrations_dir, head)


def read_state(path: Path) -> FileState | None:
    """What the file holds, read without writing to it; None when there is no file yet."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {
                name: {
                    col for (col,) in db.execute("SELECT name FROM pragma_table_info(?)", (name,))
                }
                for (name,) in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                ).fetchall()
            }
            triggers = {
                n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            }
            revisions: tuple[str, ...] = ()
            if "alembic_version" in tables:
                revisions = tuple(
                    sorted(r for (r,) in db.execute("SELECT version_num FROM alembic_version"))
                )
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} is not a readable OpenChat database ({exc}). Move it away, or restore a copy"
            f" from {path.parent / 'backups'}."
        ) from exc
    return FileState(revisions=revisions, tables=tables, triggers=triggers)


def _upgrade(path: Path, state: FileState | None, migrations_dir: Path, head: str) -> Path | None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}

    current = state.revisions if state is not None else ()
    if any(revision not in known for revision in current):
        raise StoreError(
            f"This data was written by a newer OpenChat; update the app. ({path} is at schema"
            f" {', '.join(current)}; this version knows up to {head}. The file was not changed.)"
        )
    stamp = state is not None and state.has_data and not current
    if stamp:
        assert state is not None
        _check_initial_shape(path, state)

    backup = _backup(path, current[0] if current else None) if state and state.has_data else None
    engine = _migration_engine(path)
    try:
        with engine.connect() as connection, connection.begin():
            config.attributes["connection"] = connection
            if stamp:
                command.stamp(config, INITIAL_REVISION)
            command.upgrade(config, head)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise StoreError(f"the upgrade left {len(broken)} broken references")
    except Exception as exc:
        where = f" A copy made before the upgrade is at {backup}." if backup else ""
        raise StoreError(
            f"Upgrading the chat database {path} failed ({exc}); the file was left as it was."
            + where
        ) from exc
    finally:
        engine.dispose()
    return backup


def _check_initial_shape(path: Path, state: FileState) -> None:
    """Refuse a file without a version that does not look like what revision 0001 makes."""
    missing = [
        f"{table}.{column}"
        for table, columns in INITIAL_COLUMNS.items()
        for column in sorted(columns - state.tables.get(table, set()))
    ] + sorted(INITIAL_TRIGGERS - state.triggers)
    if missing:
        raise StoreError(
            f"{path} is not an OpenChat database this version can upgrade (missing:"
            f" {', '.join(missing[:5])}). The file was not changed; move it away to start afresh."
        )


def _backup(path: Path, revision: str | None) -> Path:
    """Copy the file with SQLite's backup API (consistent even with a WAL) into backups/."""
    folder = path.parent / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"openchat-{revision or 'none'}-{stamp}"
    target = folder / f"{stem}.sqlite3"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}.sqlite3"
    try:
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            # one self-contained file, whatever mode the original was in
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise StoreError(
            f"Could not copy {path} to {target} before upgrading it ({exc}); nothing was changed."
        ) from exc
    return target


def _migration_engine(path: Path) -> Engine:
    engine = create_engine(URL.create("sqlite", database=str(path)), poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Our own BEGIN makes DDL transactional (sqlite3 would autocommit it). Foreign keys
        # stay off: rebuilding a table must not cascade deletes; foreign_key_check runs at the end.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        dbapi_connection.execute("PRAGMA busy_timeout=5000")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
