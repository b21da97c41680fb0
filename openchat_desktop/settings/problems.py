"""What can be wrong with settings, worded for people: each problem names the file, the line,
the key and the fix."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tomlkit.exceptions import ParseError

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (RFC 9110 token characters); key names write such a part bare."""


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


KeyPath = tuple[str | int, ...]
"""Where a key is, table by table: `("providers", 2, "base_url")`."""


@dataclass(frozen=True)
class Issue:
    """One finding of a check: where (a key path), what (a sentence), and how bad."""

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
        elif HEADER_NAME.fullmatch(part) and "." not in part:
            name += f".{part}"
        else:
            name += f"[{json.dumps(part)}]"
    return name


def show_value(value: Any) -> str:
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


class Invalid(Exception):
    """A value a check rejected; `fix` says what to write instead."""

    def __init__(
        self,
        fix: str,
        *,
        show: bool = True,
        at: KeyPath = (),
        value: Any = None,
        what: str | None = None,
    ):
        super().__init__(fix)
        self.fix = fix
        self.show = show
        self.at = at  # where inside the value, for lists and tables
        self.value = value
        self.what = what  # what is wrong, instead of "is <value>": "is not an option"


def invalid_issue(path: KeyPath, value: Any, error: Invalid) -> Issue:
    """A rejected value: the key, the value as written (secrets never) and what to write."""
    where = path + error.at
    shown = show_value(error.value if error.at else value) if error.show else "not usable"
    return Issue(where, f"{key_name(where)} {error.what or 'is ' + shown}; {error.fix}.")


def unknown_issue(path: KeyPath, known: list[str], *, fatal: bool = False) -> Issue:
    """An unknown key: in the file, a warning (the rest still works); in a change, an error."""
    name = str(path[-1])
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else f"the keys here are {quoted_names(known)}."
    ignored = "" if fatal else " and is ignored"
    return Issue(path, f"{key_name(path)} is not a setting{ignored}; {hint}", fatal=fatal)


def quoted_names(items: list[str] | tuple[str, ...]) -> str:
    """Choices as a sentence lists them: `"a", "b" or "c"`."""
    quoted = [f'"{item}"' for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def first_issue(issues: list[Issue]) -> Issue | None:
    """The issue to show: a fatal one first, since that is why the file is not in use."""
    return next((i for i in issues if i.fatal), issues[0] if issues else None)


def problem_in_file(path: Path, text: str, issue: Issue) -> SettingsProblem:
    """An issue found in the file's text, worded with the line it is on."""
    key = key_name(issue.path)
    if not issue.in_file:
        return SettingsProblem(path, issue.text, None, key, issue.fatal)
    line = _line_of(text, issue.path)
    where = f"{path} line {line}" if line else str(path)
    return SettingsProblem(path, f"{where}: {issue.text}", line, key, issue.fatal)


def parse_error_problem(path: Path, error: ParseError) -> SettingsProblem:
    """A TOML syntax error in words: the line, the column and how to fix it."""
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


# Where a key is written in the file, so messages can name its line: parsed values do not say.

_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_PART = re.compile(_BARE_OR_QUOTED)
_DOTTED = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_HEADER_LINE = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?")
_KEY_LINE = re.compile(rf"\s*({_DOTTED})\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for part in _KEY_PART.findall(dotted):
        if part[:1] == '"':
            part = json.loads(part)
        elif part[:1] == "'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _key_lines(text: str) -> dict[KeyPath, int]:
    """The line where each key and table starts, by key path (array entries by index)."""
    lines: dict[KeyPath, int] = {}
    prefix: KeyPath = ()
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables name -> index of its latest entry
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER_LINE.fullmatch(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                arrays[parts] = arrays.get(parts, -1) + 1
                prefix = parts + (arrays[parts],)
            else:
                prefix = parts
                for size in range(len(parts) - 1, 0, -1):
                    if parts[:size] in arrays:  # e.g. [providers.headers] after [[providers]]
                        prefix = parts[:size] + (arrays[parts[:size]],) + parts[size:]
                        break
            lines.setdefault(prefix, number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            lines.setdefault(prefix + _split_key(key.group(1)), number)
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
                    break
    return lines


def _line_of(text: str, path: KeyPath) -> int | None:
    """The line of a key, or of the nearest enclosing table or key that is written down."""
    lines = _key_lines(text)
    for size in range(len(path), 0, -1):
        if path[:size] in lines:
            return lines[path[:size]]
    return None
