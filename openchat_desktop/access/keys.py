"""API keys: made here, shown once, kept only as a hash, checked on every request.

A key is `oc_` and 43 random URL-safe characters (256 bits): the prefix lets a person, and the
log redaction, recognize one. The database keeps its sha256 and its first characters, so a copy
of the file gives nobody access. A key is looked up by its hash on every request and never
cached, so a key made or revoked by `openchat keys` in another process counts at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ..store.clock import new_id, stamp, utc_now
from ..store.records import ApiKeyRecord
from .clients import SCOPES, Client, Scope
from .errors import InvalidKeyFields, KeyNameTaken, KeyNotFound, KeyRefused

KEY_PREFIX = "oc_"
KEY_SHAPE = re.compile(r"oc_[A-Za-z0-9_-]{43}")
SHOWN_CHARS = 10  # "oc_" and 7 more: enough to tell keys apart in a list, useless to a guesser
DEFAULT_SCOPE: Scope = "chat"
MAX_NAME_CHARS = 64
MAX_LIMIT = 1_000_000_000
# `last_used_at` is written at most this often per key: a script's every request must not
# cost a write to the database.
TOUCH_EVERY = 60.0

_NAME = re.compile(r"[^\x00-\x1f\x7f/]+")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    """Whether a bearer token has the shape of an API key (else it can only be the launch
    token)."""
    return KEY_SHAPE.fullmatch(token) is not None


# --- what a new key may be -------------------------------------------------------------------


def check_name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        raise InvalidKeyFields(
            f"Name the key with 1 to {MAX_NAME_CHARS} characters, without “/” or line breaks, "
            "e.g. “ci-script” or “Ana's laptop”."
        )
    return name


def check_scope(value: Any) -> Scope:
    for scope in SCOPES:
        if value == scope:
            return scope
    raise InvalidKeyFields(
        "The scope must be “read” (list and read chats), “chat” (also chat) or “admin” "
        "(also settings, providers and keys)."
    )


def check_limit(value: Any, what: str) -> int | None:
    """A requests or tokens per minute limit: None for no limit; a whole number written as text
    (from the command line) is taken too."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,10}\s*", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LIMIT:
        return value
    raise InvalidKeyFields(
        f"The {what} per minute must be a whole number from 1 to {MAX_LIMIT:,}, or left out for "
        "no limit."
    )


def check_record(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidKeyFields("Whether to keep the key's chats must be true or false.")


# --- the keys of one data folder -------------------------------------------------------------


class KeyStore(Protocol):
    """What keys need of the chat database (store/keys.py)."""

    def add_api_key(self, record: ApiKeyRecord) -> bool: ...

    def api_keys(self) -> list[ApiKeyRecord]: ...

    def api_key_by_hash(self, secret_hash: str) -> ApiKeyRecord | None: ...

    def has_active_api_key(self) -> bool: ...

    def revoke_api_key(self, name: str) -> ApiKeyRecord | None: ...

    def touch_api_key(self, key_id: str, *, now: str, unless_since: str) -> None: ...


class ApiKeys:
    """Make, list, revoke and check the keys of one chat database; shared by the server and the
    `openchat keys` command."""

    def __init__(self, store: KeyStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._touched: dict[str, float] = {}  # key id -> when this process last wrote its use

    def create(
        self,
        name: Any,
        *,
        scope: Any = DEFAULT_SCOPE,
        rpm: Any = None,
        tpm: Any = None,
        record: Any = True,
    ) -> tuple[ApiKeyRecord, str]:
        """A new key, checked and kept: its record and the key itself, which exists nowhere
        else from now on."""
        key = new_key()
        made = ApiKeyRecord(
            id=new_id(),
            name=check_name(name),
            secret_hash=key_hash(key),
            prefix=key[:SHOWN_CHARS],
            scope=check_scope(scope),
            rpm=check_limit(rpm, "requests"),
            tpm=check_limit(tpm, "tokens"),
            record=check_record(record),
            created_at=utc_now(),
            last_used_at=None,
            revoked_at=None,
        )
        if not self._store.add_api_key(made):
            raise KeyNameTaken(
                f"A key named “{made.name}” already exists. Pick another name, or revoke that "
                "key first."
            )
        return made, key

    def all_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones too, oldest first."""
        return self._store.api_keys()

    def revoke(self, name: str) -> ApiKeyRecord:
        revoked = self._store.revoke_api_key(name)
        if revoked is None:
            raise KeyNotFound(f"No active key is named “{name}”.")
        return revoked

    def any_active(self) -> bool:
        return self._store.has_active_api_key()

    def client(self, key: str) -> Client:
        """The caller a key stands for; KeyRefused for a key that is unknown or revoked."""
        found = self._store.api_key_by_hash(key_hash(key))
        if found is None:
            raise KeyRefused("This API key is not known here. Check that it was copied whole.")
        if found.revoked_at is not None:
            raise KeyRefused("This API key was revoked. Ask whoever runs OpenChat for a new one.")
        self._note_use(found.id)
        return Client(
            key_id=found.id,
            name=found.name,
            scope=check_scope(found.scope),
            rpm=found.rpm,
            tpm=found.tpm,
            record=found.record,
        )

    def _note_use(self, key_id: str) -> None:
        now = self._clock()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < TOUCH_EVERY:
                return
            self._touched[key_id] = now
        moment = datetime.now(UTC)
        # Another process (or a restart) may have written it within the minute: then not again.
        self._store.touch_api_key(
            key_id, now=stamp(moment), unless_since=stamp(moment - timedelta(seconds=TOUCH_EVERY))
        )

