"""Which keys a change puts in the keychain or takes out of it, and moving the file's keys
there: the file says `keychain = true` for a key kept in the keychain, and never holds both.

The keychain is written before the file and a key leaves the file only once it is in the
keychain, so whatever fails in between, each key is in one place: the file or the keychain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tomlkit.items import AoT, Array

from .errors import KeychainFailed
from .keychain import delete_key, save_key

log = logging.getLogger(__name__)


class KeyChanges:
    """The keychain side of one change to the settings, done once the change is checked."""

    def __init__(self, to_keychain: Callable[[], bool]) -> None:
        self._to_keychain = to_keychain  # asked only when a key is typed: it loads keyring
        self._decided: bool | None = None
        self.saves: dict[str, str] = {}  # provider id: the key to put in the keychain
        self.removals: set[str] = set()  # provider ids whose keychain key goes

    def to_keychain(self) -> bool:
        """Whether a typed key goes to the keychain (else to the file)."""
        if self._decided is None:
            self._decided = self._to_keychain()
        return self._decided

    def save(self, provider_id: str, key: str) -> None:
        self.saves[provider_id] = key
        self.removals.discard(provider_id)

    def remove(self, provider_id: str) -> None:
        if provider_id not in self.saves:
            self.removals.add(provider_id)

    @property
    def pending(self) -> bool:
        return bool(self.saves or self.removals)

    def save_all(self) -> None:
        """Put the typed keys in the keychain; raises KeychainFailed (then the file is not
        written, and any key saved already only waits unused for the next save)."""
        for provider_id, key in self.saves.items():
            save_key(provider_id, key)

    def remove_all(self) -> None:
        """Take out the keys the file no longer points to. A failure only leaves an unused
        entry in the keychain, so it is logged, not raised: the change itself is saved."""
        for provider_id in sorted(self.removals):
            try:
                delete_key(provider_id)
            except KeychainFailed as error:
                log.warning("%s", error.message)


def file_only() -> KeyChanges:
    """Key changes for a file that keeps its keys itself (portable mode, no keychain)."""
    return KeyChanges(lambda: False)


@dataclass
class Moved:
    """What moving the file's keys to the keychain did."""

    moved: list[str] = field(default_factory=list)  # provider ids, in the file's order
    failure: KeychainFailed | None = None  # the first key that could not move; the rest stay

    def sentence(self) -> str:
        count = len(self.moved)
        done = (
            f"{count} key{'s' if count != 1 else ''} moved to the keychain."
            if count
            else "No key was moved."
        )
        if self.failure is None:
            return done
        return (
            f"{done} {self.failure.message} It stays in the settings file, and so do the keys "
            "after it; try again once the keychain works."
        )


def file_keys(document: Any) -> list[Any]:
    """The provider tables of a parsed file that hold an api_key."""
    providers = document.get("providers")
    if not isinstance(providers, (AoT, Array)):
        return []
    return [
        table
        for table in providers
        if hasattr(table, "get") and isinstance(table.get("api_key"), str) and table["api_key"]
    ]


def move_file_keys(document: Any, forget: Callable[[Any], None]) -> Moved:
    """Put every api_key of the document in the keychain, in order, and let `forget` replace
    it in its table with `keychain = true`; stops at the first key the keychain refuses."""
    result = Moved()
    for table in file_keys(document):
        provider_id = str(table["id"])
        try:
            save_key(provider_id, str(table["api_key"]).strip())
        except KeychainFailed as error:
            result.failure = error
            break
        forget(table)
        result.moved.append(provider_id)
    return result
