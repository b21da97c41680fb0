"""The settings file on disk: read, re-read when it changes, and saved atomically and privately."""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from .lines import _line_of
from .model import Settings, _mask_header, mask_secret
from .patch import _apply_patch, _check_patch
from .problems import SettingsError, SettingsProblem, _Issue, key_name
from .schema import _OWN_TIMEOUTS
from .validation import _check_document, _Loaded


def _parse_error_problem(path: Path, error: ParseError) -> SettingsProblem:
    reason = re.sub(r" at line \d+ col \d+$", "", str(error)).rstrip(".")
    if "already exists" in reason:
        fix = "keep one of the two, since a key or table may appear only once"
    elif "Control characters" in reason or "newline" in reason.lower():
        fix = 'close the text with a quote on the same line, or use """ for several lines'
        reason = "a text value is not closed on its line"
    else:
        fix = 'put text in "double quotes", and write one key = value per line'
    column = error.col + 1  # tomlkit counts columns from 0
    return SettingsProblem(
        path,
        f"{path} line {error.line}, column {column}: this is not valid TOML ({reason}); {fix}.",
        line=error.line,
        key=None,
    )


def _file_problem(path: Path, text: str, issue: _Issue) -> SettingsProblem:
    key = key_name(issue.path)
    if not issue.in_file:
        return SettingsProblem(path, issue.text, None, key, issue.fatal)
    line = _line_of(text, issue.path)
    where = f"{path} line {line}" if line else str(path)
    return SettingsProblem(path, f"{where}: {issue.text}", line, key, issue.fatal)


def _first(issues: list[_Issue]) -> _Issue | None:
    """The issue to show: a fatal one first, since that is why the file is not in use."""
    return next((i for i in issues if i.fatal), issues[0] if issues else None)


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


Signature = tuple[int, int] | None
_now = time.monotonic  # the clock for the re-read interval; tests replace it


class SettingsStore:
    """The settings file as the running app sees it: last good settings, problem, safe saves."""

    def __init__(self, path: Path, *, check_interval: float = 0.5) -> None:
        self.path = Path(path)
        self._check_interval = check_interval
        self._lock = threading.RLock()
        self._checked_at = -math.inf
        self._signature: Signature = None
        self._unreadable = False
        self._source: str | None = None  # the text of the file when it last parsed
        self._loaded = _Loaded(Settings(), (None,), ({},))
        self._problem: SettingsProblem | None = None
        self._version = 0
        self._load()
        self._checked_at = _now()
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
        now = _now()
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
                raw = handle.read()
        except FileNotFoundError:
            self._signature = None
            self._source = None
            loaded, issues = _check_document({}, os.environ)
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
        self._signature = (stat.st_mtime_ns, stat.st_size)
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
            self._problem = _parse_error_problem(self.path, error)
            return
        except TOMLKitError as error:
            self._problem = SettingsProblem(
                self.path, f"{self.path}: this is not valid TOML ({error}); fix the file."
            )
            return
        loaded, issues = _check_document(document.unwrap(), os.environ)
        if loaded is None:
            first = _first(issues)
            assert first is not None
            self._problem = _file_problem(self.path, text, first)
            return
        self._source = text
        self._take(loaded, issues, text)

    def _take(self, loaded: _Loaded, issues: list[_Issue], text: str) -> None:
        if loaded.settings != self._loaded.settings:
            self._version += 1
        self._loaded = loaded
        first = _first(issues)
        self._problem = _file_problem(self.path, text, first) if first else None

    def public(self) -> dict[str, Any]:
        """The settings for the page: API keys and secret-looking header values masked."""
        with self._lock:
            self._refresh()
            loaded, problem = self._loaded, self._problem
        settings = loaded.settings
        providers = []
        for index, provider in enumerate(settings.providers):
            own = loaded.own_timeouts[index] if index < len(loaded.own_timeouts) else {}
            providers.append(
                {
                    "id": provider.id,
                    "kind": provider.kind,
                    "base_url": provider.base_url,
                    "models": list(provider.models),
                    "headers": {
                        name: _mask_header(name, value) for name, value in provider.headers
                    },
                    "bare_think_models": list(provider.bare_think_models),
                    "api_key_env": loaded.key_env[index] if index < len(loaded.key_env) else None,
                    "api_key_set": provider.api_key is not None,
                    "api_key": mask_secret(provider.api_key),
                    **{name: own.get(name) for name in _OWN_TIMEOUTS},
                }
            )
        return {
            "path": str(self.path),
            "problem": problem.public() if problem else None,
            "settings": {
                "default_model": settings.default_model,
                "theme": settings.theme,
                "timeouts": {
                    "connect": settings.timeouts.connect,
                    "first_byte": settings.timeouts.first_byte,
                    "idle": settings.timeouts.idle,
                },
                "limits": {
                    "max_message_chars": settings.limits.max_message_chars,
                    "max_request_bytes": settings.limits.max_request_bytes,
                },
                "providers": providers,
            },
        }

    def update(self, patch: Mapping[str, Any]) -> Settings:
        """Change settings and save the file, keeping the user's comments, order and layout.

        The whole result is checked first; on any problem SettingsError names the key and
        nothing is written. A file that is broken on disk is never overwritten.
        """
        with self._lock:
            self._refresh(force=True)
            if self._problem is not None and self._problem.fatal:
                raise SettingsError(
                    SettingsProblem(
                        self.path,
                        f"Fix the settings file first; OpenChat will not overwrite it while "
                        f"it is broken. {self._problem.message}",
                        self._problem.line,
                        self._problem.key,
                    )
                )
            _check_patch(patch, self.path)
            document = tomlkit.parse(self._source or "")
            _apply_patch(document, patch)
            text = document.as_string() if self._source else _NEW_FILE + document.as_string()
            try:
                written = tomlkit.parse(text)
            except TOMLKitError:
                written = None
            if written is None or written.unwrap() != document.unwrap():
                # tomlkit rendered something that reads back differently: never save that.
                raise SettingsError(
                    self._refusal(
                        "the change could not be written without "
                        "disturbing the file; edit it by hand"
                    )
                )
            loaded, issues = _check_document(written.unwrap(), os.environ)
            first = _first(issues)
            if loaded is None:
                assert first is not None
                raise SettingsError(
                    SettingsProblem(self.path, first.text, None, key_name(first.path))
                )
            if text == self._source:
                return loaded.settings  # nothing to change: leave the file and its time alone
            if self._stat() != self._signature:
                self._load()
                raise SettingsError(self._refusal("the file changed on disk meanwhile; try again"))
            target = Path(os.path.realpath(self.path))  # a symlinked file stays a symlink
            try:
                _write_private(target, text)
            except OSError as error:
                reason = error.strerror or str(error)
                raise SettingsError(
                    self._refusal(
                        f"it could not be saved ({reason}); check that its folder is writable"
                    )
                ) from None
            self._signature = self._stat()
            self._checked_at = _now()
            self._source = text
            self._take(loaded, issues, text)
            return loaded.settings

    def _refusal(self, reason: str) -> SettingsProblem:
        return SettingsProblem(self.path, f"{self.path} was not changed: {reason}.")
