"""API key rows: made, listed, looked up by the hash of the key, revoked.

A mixin of `Store` (it uses the store's transactions). The key itself is never stored, only its
sha256 and first characters (see access/keys.py). A key is looked up by its hash on every
request, an indexed SELECT, so a key made or revoked by another process (`openchat keys`)
counts at once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

from sqlalchemy.engine import Connection

from .clock import utc_now
from .codec import API_KEY_CODEC
from .records import ApiKeyRecord

_BY_HASH = f"SELECT {API_KEY_CODEC.select_list} FROM api_keys WHERE secret_hash = ?"
_ACTIVE_BY_NAME = (
    f"SELECT {API_KEY_CODEC.select_list} FROM api_keys WHERE name = ? AND revoked_at IS NULL"
)
_ALL = f"SELECT {API_KEY_CODEC.select_list} FROM api_keys ORDER BY created_at"


class KeyRows:
    """Queries on `api_keys`, each one short transaction."""

    # provided by Store: one short transaction on a pooled connection
    _transaction: Callable[..., AbstractContextManager[Connection]]

    def add_api_key(self, record: ApiKeyRecord) -> bool:
        """Keep a new key; False (nothing kept) when an active key already has its name."""
        with self._transaction(write=True) as conn:
            # The write transaction holds the database's write lock: no other process can add
            # the same name between this check and the insert.
            if conn.exec_driver_sql(_ACTIVE_BY_NAME, (record.name,)).first() is not None:
                return False
            conn.exec_driver_sql(API_KEY_CODEC.insert_sql, API_KEY_CODEC.to_sql(record))
        return True

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones included, oldest first."""
        with self._transaction(write=False) as conn:
            return [API_KEY_CODEC.from_sql(row) for row in conn.exec_driver_sql(_ALL)]

    def api_key_by_hash(self, secret_hash: str) -> ApiKeyRecord | None:
        with self._transaction(write=False) as conn:
            row = conn.exec_driver_sql(_BY_HASH, (secret_hash,)).first()
        return None if row is None else API_KEY_CODEC.from_sql(row)

    def has_active_api_key(self) -> bool:
        with self._transaction(write=False) as conn:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1"
            ).first()
        return found is not None

    def revoke_api_key(self, name: str) -> ApiKeyRecord | None:
        """Revoke the active key with this name; None when there is none."""
        with self._transaction(write=True) as conn:
            row = conn.exec_driver_sql(_ACTIVE_BY_NAME, (name,)).first()
            if row is None:
                return None
            record = API_KEY_CODEC.from_sql(row)
            now = utc_now()
            conn.exec_driver_sql(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ?", (now, record.id)
            )
        return replace(record, revoked_at=now)

    def touch_api_key(self, key_id: str, *, now: str, unless_since: str) -> None:
        """Note that the key was used `now`, unless that was noted at `unless_since` or later."""
        with self._transaction(write=True) as conn:
            conn.exec_driver_sql(
                "UPDATE api_keys SET last_used_at = ?"
                " WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                (now, key_id, unless_since),
            )
