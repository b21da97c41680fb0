"""A keyring backend for tests: the keys in a JSON file, so an `openchat serve` child process
(given `PYTHON_KEYRING_BACKEND=tests.json_keyring.JsonKeyring`) and the test share them.

The file is the one `OPENCHAT_TEST_KEYRING` names. Besides `"keys"` ({"service/user": key}),
it may say `"locked": true` (every call fails as a locked keychain does) or
`"refuse": ["<user>", …]` (saving those users' keys fails, as a denied prompt would).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError

ENV = "OPENCHAT_TEST_KEYRING"


def _path() -> Path:
    return Path(os.environ[ENV])


def read(path: Path | None = None) -> dict[str, Any]:
    path = path or _path()
    return json.loads(path.read_text()) if path.exists() else {}


def write(data: dict[str, Any], path: Path | None = None) -> None:
    (path or _path()).write_text(json.dumps(data))


def keys(path: Path | None = None) -> dict[str, str]:
    """The stored keys by "service/user"."""
    return dict(read(path).get("keys", {}))


class JsonKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]  # a real keychain's rank: usable

    def _data(self) -> dict[str, Any]:
        data = read()
        if data.get("locked"):
            raise KeyringLocked("the test keychain is locked")
        return data

    def get_password(self, service: str, username: str) -> str | None:
        value = self._data().get("keys", {}).get(f"{service}/{username}")
        return str(value) if value is not None else None

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._data()
        if username in data.get("refuse", ()):
            raise PasswordSetError("the test keychain refused")
        data.setdefault("keys", {})[f"{service}/{username}"] = password
        write(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._data()
        if data.get("keys", {}).pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such key")
        write(data)
