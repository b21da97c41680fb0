"""The settings file on disk: read, re-read when it changes, and saved atomically and privately."""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from .errors import KeychainFailed, SettingsError
from .key_source import KeySource
from .key_storage import KeyChanges, Moved, file_keys, move_file_keys
from .keychain import keychain_state
from .loading import LoadedSettings, check_document
from .patch import apply_patch, check_patch
from .problems import (
    Issue,
    SettingsProblem,
    first_issue,
    key_name,
    parse_error_problem,
    problem_in_file,
)
from .values import Settings

_NEW_FILE = (
    "# OpenChat settings. Edit freely: comments and order you add are kept when OpenChat\n"
    "# saves a change. A mistake never stops the app; it shows what to fix.\n\n"
)


def _write_private(path: Path, text: str) -> None:
    """Replace the file atomically with a copy readable by its owner only (it may hold keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


MAX_FILE_BYTES = 1024 * 1024
"""The largest settings file OpenChat reads. Real ones hold a few kilobytes; reading and
parsing megabytes would hold up every request that waits for the settings."""
MAX_FILE_SIZE = "1 MB"  # MAX_FILE_BYTES as the messages say it

Signature = tuple[int, int] | None
"""A file's modification time (ns) and size, or None while it is missing: a change shows."""


class SettingsStore:
    """The settings file as the running app sees it: last good settings, problem, safe saves."""

    def __init__(
        self,
        path: Path,
        *,
        check_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._check_interval = check_interval
        self._clock = clock  # times the re-read interval
        self._lock = threading.RLock()
        self._checked_at = -math.inf
        self._signature: Signature = None
        self._unreadable = False
        self._source: str | None = None  # the text of the file when it last parsed
        # Until the file is read: the defaults, whose providers the file does not write.
        defaults = Settings()
        self._loaded = LoadedSettings(defaults, tuple({} for _ in defaults.providers))
        self._problem: SettingsProblem | None = None
        self._version = 0
        self._load()
        self._checked_at = self._clock()
        self._version = 1

    @property
    def current(self) -> Settings:
        """The settings in force, re-read first if the file changed on disk."""
        with self._lock:
            self._refresh()
            return self._loaded.settings

    @property
    def problem(self) -> SettingsProblem | None:
        """What is wrong with the file or environment, or None."""
        with self._lock:
            self._refresh()
            return self._problem

    @property
    def version(self) -> int:
        """A number that grows whenever `current` changes, so users of it know to rebuild."""
        with self._lock:
            self._refresh()
            return self._version

    def _refresh(self, *, force: bool = False) -> None:
        """Re-read the file if it changed; stat at most once per check interval."""
        now = self._clock()
        if not force and now - self._checked_at < self._check_interval:
            return
        self._checked_at = now
        if self._unreadable or self._stat() != self._signature:
            self._load()

    def _stat(self) -> Signature:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _load(self) -> None:
        """Read and check the file, then take it, or keep the last good settings and say why."""
        self._unreadable = False
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                # Never more than the limit, even if the file grows while it is read.
                raw = b"" if stat.st_size > MAX_FILE_BYTES else handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            self._signature = None
            self._source = None
            loaded, issues = check_document({}, os.environ)
            assert loaded is not None
            self._take(loaded, issues, "")
            return
        except OSError as error:
            self._unreadable = True
            self._signature = self._stat()
            reason = error.strerror or str(error)
            self._problem = SettingsProblem(
                self.path,
                f"{self.path} cannot be read ({reason}); check that it is a file you may "
                f"read, e.g. chmod 600 on Linux and macOS.",
            )
            return
        self._signature = (stat.st_mtime_ns, stat.st_size)  # not read again until it changes
        if stat.st_size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
            size = max(stat.st_size, len(raw)) / MAX_FILE_BYTES
            self._problem = SettingsProblem(
                self.path,
                f"{self.path} is {size:.1f} MB, more than the {MAX_FILE_SIZE} a settings file may "
                f"be; remove what does not belong in it (settings take a few kilobytes).",
            )
            return
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            self._problem = SettingsProblem(
                self.path,
                f"{self.path} line {line}: the file is not UTF-8 text; save it as UTF-8 in "
                f"your editor.",
                line=line,
            )
            return
        try:
            document = tomlkit.parse(text)
        except ParseError as error:
            self._problem = parse_error_problem(self.path, error)
            return
        except TOMLKitError as error:
            self._problem = SettingsProblem(
                self.path, f"{self.path}: this is not valid TOML ({error}); fix the file."
            )
            return
        loaded, issues = check_document(document.unwrap(), os.environ)
        if loaded is None:
            first = first_issue(issues)
            assert first is not None
            self._problem = problem_in_file(self.path, text, first)
            return
        self._source = text
        self._take(loaded, issues, text)

    def _take(self, loaded: LoadedSettings, issues: list[Issue], text: str) -> None:
        if loaded.settings != self._loaded.settings:
            self._version += 1
        self._loaded = loaded
        first = first_issue(issues)
        self._problem = problem_in_file(self.path, text, first) if first else None

    def public(self) -> dict[str, Any]:
        """The settings for the page: API keys and secret-looking header values masked."""
        with self._lock:
            self._refresh()
            loaded, problem = self._loaded, self._problem
        return {
            "path": str(self.path),
            "problem": problem.public() if problem else None,
            "settings": loaded.public(),
        }

    def key_sources(self) -> dict[str, KeySource]:
        """Where each provider's key comes from (the file, the keychain, the environment)."""
        with self._lock:
            self._refresh()
            return self._loaded.key_sources()

    def file_key_count(self) -> int:
        """How many API keys the file itself holds."""
        with self._lock:
            self._refresh()
            return len(file_keys(tomlkit.parse(self._source or "")))

    def _refuse_broken(self) -> None:
        if self._problem is not None and self._problem.fatal:
            raise SettingsError(
                f"Fix the settings file first; OpenChat will not overwrite it while "
                f"it is broken. {self._problem.message}",
                key=self._problem.key,
                line=self._problem.line,
            )

    def update(self, patch: Mapping[str, Any]) -> Settings:
        """Change settings and save the file, keeping the user's comments, order and layout.

        The whole result is checked first; on any problem SettingsError names the key and
        nothing is written. A file that is broken on disk is never overwritten. A typed key
        goes to the keychain when one is usable, before the file is written.
        """
        with self._lock:
            self._refresh(force=True)
            self._refuse_broken()
            check_patch(patch)
            document = tomlkit.parse(self._source or "")
            keys = KeyChanges(lambda: keychain_state().usable)
            apply_patch(document, patch, keys, self._loaded.environment())
            return self._save(document, keys)

    def move_keys_to_keychain(self) -> Moved:
        """Move every key the file holds to the keychain, in the file's order, and save the
        file without them. Raises KeychainFailed when no keychain can take them, or when the
        first key already fails."""
        with self._lock:
            self._refresh(force=True)
            self._refuse_broken()
            state = keychain_state()
            if not state.usable:
                raise KeychainFailed(f"The keys were not moved: {state.reason}")
            document = tomlkit.parse(self._source or "")

            def forget(table: Any) -> None:
                del table["api_key"]
                table["keychain"] = True

            moved = move_file_keys(document, forget)
            if not moved.moved:
                if moved.failure is not None:
                    raise moved.failure
                return moved
            keys = KeyChanges(lambda: True)
            try:
                self._save(document, keys, keychain_changed=True)
            except Exception:
                # The file still holds them: the copies in the keychain go, one place each.
                keys.removals.update(moved.moved)
                keys.remove_all()
                raise
            return moved

    def _save(
        self, document: tomlkit.TOMLDocument, keys: KeyChanges, *, keychain_changed: bool = False
    ) -> Settings:
        """Check and write an edited document, the keychain first (see update)."""
        with self._lock:
            text = document.as_string() if self._source else _NEW_FILE + document.as_string()
            if len(text.encode("utf-8")) > MAX_FILE_BYTES:
                raise self._refusal(
                    f"the change would make it larger than the {MAX_FILE_SIZE} a settings file "
                    f"may be"
                )
            try:
                written = tomlkit.parse(text)
            except TOMLKitError:
                written = None
            if written is None or written.unwrap() != document.unwrap():
                # tomlkit rendered something that reads back differently: never save that.
                raise self._refusal(
                    "the change could not be written without disturbing the file; edit it by hand"
                )
            loaded, issues = check_document(written.unwrap(), os.environ)
            first = first_issue(issues)
            if loaded is None:
                assert first is not None
                raise SettingsError(first.text, key=key_name(first.path))
            if text == self._source and not keys.pending:
                return loaded.settings  # nothing to change: leave the file and its time alone
            if self._stat() != self._signature:
                self._load()
                raise self._refusal("the file changed on disk meanwhile; try again")
            keys.save_all()
            target = Path(os.path.realpath(self.path))  # a symlinked file stays a symlink
            try:
                _write_private(target, text)
            except OSError as error:
                reason = error.strerror or str(error)
                raise self._refusal(
                    f"it could not be saved ({reason}); check that its folder is writable"
                ) from None
            self._signature = self._stat()
            self._checked_at = self._clock()
            self._source = text
            keys.remove_all()
            if keys.pending or keychain_changed:
                # The keys just saved are read back, as at the next start.
                reread, issues = check_document(written.unwrap(), os.environ)
                loaded = reread or loaded
            self._take(loaded, issues, text)
            return loaded.settings

    def _refusal(self, reason: str) -> SettingsError:
        return SettingsError(f"{self.path} was not changed: {reason}.")
