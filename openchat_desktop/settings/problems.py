"""What can be wrong with settings, worded for people: each finding names the key and the fix."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token characters


@dataclass(frozen=True)
class SettingsProblem:
    """What is wrong with the settings, as a sentence that names the file, the key and the fix."""

    path: Path
    message: str
    line: int | None = None
    key: str | None = None
    fatal: bool = True  # False: a warning; the rest of the file is in use

    def public(self) -> dict[str, Any]:
        """The problem as the settings API shows it."""
        return {"message": self.message, "line": self.line, "key": self.key, "fatal": self.fatal}


class SettingsError(Exception):
    """A settings change was refused; nothing was written. `problem` names the key to fix."""

    def __init__(self, problem: SettingsProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem

    @property
    def key(self) -> str | None:
        return self.problem.key

    @property
    def message(self) -> str:
        return self.problem.message


KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class _Issue:
    """One finding of validation: where (a key path), what (a sentence), and how bad."""

    path: KeyPath
    text: str
    fatal: bool = True
    in_file: bool = True  # False for environment variables, which have no line in the file


def key_name(path: KeyPath) -> str:
    """A key path as people read it: `providers[2].base_url`."""
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        elif not name:
            name = part
        elif _HEADER_NAME.fullmatch(part) and "." not in part:
            name += f".{part}"
        else:
            name += f"[{json.dumps(part)}]"
    return name


def _show(value: Any) -> str:
    """A value as it would look in the file, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:56] + '…"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


class _Invalid(Exception):
    """A value a check rejected; `fix` says what to write instead."""

    def __init__(self, fix: str, *, show: bool = True, at: KeyPath = (), value: Any = None):
        super().__init__(fix)
        self.fix = fix
        self.show = show
        self.at = at  # where inside the value, for lists and tables
        self.value = value


def _invalid_issue(path: KeyPath, value: Any, error: _Invalid) -> _Issue:
    where = path + error.at
    shown = _show(error.value if error.at else value) if error.show else "not usable"
    return _Issue(where, f"{key_name(where)} is {shown}; {error.fix}.")


def _unknown_issue(path: KeyPath, known: list[str], *, fatal: bool = False) -> _Issue:
    """An unknown key: in the file, a warning (the rest still works); in a change, an error."""
    name = str(path[-1])
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else f"the keys here are {_names(known)}."
    ignored = "" if fatal else " and is ignored"
    return _Issue(path, f"{key_name(path)} is not a setting{ignored}; {hint}", fatal=fatal)


def _names(items: list[str] | tuple[str, ...]) -> str:
    quoted = [f'"{item}"' for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
