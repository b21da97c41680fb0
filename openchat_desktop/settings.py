"""The settings file: every key declared once, checked at load, re-read on change, saved safely.

A broken file never stops the app. `SettingsStore.current` keeps the last good settings (at
start, the defaults) and `SettingsStore.problem` says what is wrong, naming the file, the line,
the key and the fix. Two kinds of problem:

- fatal (TOML syntax, a wrong type or value, an unreadable file): the whole file is set aside
  until it is fixed;
- warnings (an unknown key, probably a typo; `default_model` naming a provider that does not
  exist; `api_key_env` naming an unset variable): the rest of the file is used.

Saving (`SettingsStore.update`) edits the file with tomlkit so comments, order and formatting
survive, and never writes an API key it was not given: keys are write-only through the API.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import AoT, Array, Comment, Table, Whitespace

from .providers.base import ProviderConfig

THEMES = ("dark", "light", "system")
PROVIDER_KINDS = ("ollama", "openai")
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
MASK = "…"

_PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SECRET_HEADER = re.compile(r"authorization|key|token|secret|password|cookie", re.IGNORECASE)


# --- the settings as the app uses them ------------------------------------------------------


@dataclass(frozen=True)
class Timeouts:
    """App-wide provider timeouts in seconds; a provider may override each one."""

    connect: float = 5.0
    first_byte: float = 300.0
    idle: float = 120.0


@dataclass(frozen=True)
class Limits:
    """Request size limits the server enforces before reading a body."""

    max_message_chars: int = 1_000_000
    max_request_bytes: int = 12 * 1024 * 1024


def _default_providers() -> tuple[ProviderConfig, ...]:
    """The provider used when the file lists none: Ollama where OLLAMA_HOST says."""
    try:
        url = ollama_base_url(os.environ.get("OLLAMA_HOST"))
    except ValueError:
        url = DEFAULT_OLLAMA_URL
    return (ProviderConfig(id="ollama", kind="ollama", base_url=url),)


@dataclass(frozen=True, repr=False)
class Settings:
    """Validated settings; `providers` carry their API keys already resolved."""

    default_model: str | None = None
    theme: str = "dark"
    providers: tuple[ProviderConfig, ...] = field(default_factory=_default_providers)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)

    def provider(self, provider_id: str) -> ProviderConfig | None:
        """The provider with this id, or None."""
        return next((p for p in self.providers if p.id == provider_id), None)

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: keys and secret header values stay masked.
        providers = ", ".join(_provider_repr(p) for p in self.providers)
        return (
            f"Settings(default_model={self.default_model!r}, theme={self.theme!r}, "
            f"providers=({providers}), timeouts={self.timeouts!r}, limits={self.limits!r})"
        )


def _provider_repr(provider: ProviderConfig) -> str:
    """A ProviderConfig repr with the API key and secret-looking header values masked."""
    parts = []
    for item in fields(provider):
        value = getattr(provider, item.name)
        if item.name == "api_key":
            value = mask_secret(value)
        elif item.name == "headers":
            value = tuple((name, _mask_header(name, text)) for name, text in value)
        parts.append(f"{item.name}={value!r}")
    return f"ProviderConfig({', '.join(parts)})"


def mask_secret(value: str | None) -> str | None:
    """Show that a secret is set without showing it: the last 4 characters of a long one only."""
    if not value:
        return None
    return MASK + value[-4:] if len(value) >= 12 else MASK


def _mask_header(name: str, value: str) -> str:
    """Header values that look like credentials are masked like API keys."""
    return (mask_secret(value) or MASK) if _SECRET_HEADER.search(name) else value


def ollama_base_url(host: str | None) -> str:
    """Read an OLLAMA_HOST value the way Ollama's own client does, as a base URL.

    Accepts `host`, `host:port`, `:port`, a full URL, and IPv6 in brackets; `0.0.0.0` and `::`
    (the server's "listen everywhere") mean this machine. Raises ValueError if unusable.
    """
    host = (host or "").strip()
    if not host:
        return DEFAULT_OLLAMA_URL
    scheme, separator, rest = host.partition("://")
    port = 11434
    if not separator:
        scheme, rest = "http", host
    else:
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"OLLAMA_HOST must use http or https, not {scheme}")
        port = 80 if scheme == "http" else 443
    if _CONTROL.search(host) or " " in host:
        raise ValueError("OLLAMA_HOST contains spaces or control characters")
    parts = urlsplit(f"{scheme}://{rest}")  # raises ValueError for a broken [IPv6] address
    hostname = parts.hostname or "127.0.0.1"
    port = parts.port or port  # raises ValueError for a port that is not a number in range
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        if address.is_unspecified:
            address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
        hostname = f"[{address}]" if address.version == 6 else str(address)
    path = parts.path.strip("/")
    return f"{scheme}://{hostname}:{port}" + (f"/{path}" if path else "")


# --- problems ------------------------------------------------------------------------------


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


# --- the declaration: every key once, with its check ----------------------------------------


@dataclass(frozen=True)
class Setting:
    """One key of the settings file: checked at load and listed in docs/settings.md."""

    name: str  # as written in the file; "timeouts.connect" lives in the [timeouts] table
    type: str
    default: Any
    help: str
    check: Callable[[Any], Any] | None = field(default=None, repr=False, compare=False)
    required: bool = False


def _model_id(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}/\S.*", value):
        return value
    raise _Invalid('use "<provider id>/<model name>", e.g. "ollama/llama3.2:3b"')


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value in choices:
            return value
        raise _Invalid(f"use {_names(choices)}")

    return check


def _seconds(value: Any) -> float:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        return float(value)
    raise _Invalid("use a number of seconds greater than 0, e.g. 30")


def _positive_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise _Invalid("use a whole number greater than 0, without quotes")


def _provider_id(value: Any) -> str:
    if isinstance(value, str) and _PROVIDER_ID.fullmatch(value):
        return value
    raise _Invalid(
        'use letters, digits, "-" and "_" only (no "/" or spaces, at most 64), e.g. "my-server"'
    )


def _base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid('use the address in quotes, e.g. "http://127.0.0.1:11434"')
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or _CONTROL.search(url)
        or " " in url
    ):
        raise _Invalid(
            'use a full address starting with http:// or https://, e.g. "http://127.0.0.1:11434"'
        )
    if parts.username is not None or parts.password is not None:
        raise _Invalid(
            "remove the user name and password from the address and put the key in api_key",
            show=False,
        )
    if parts.fragment:
        raise _Invalid('remove the part from "#" on')
    return url.rstrip("/")


def _api_key(value: Any) -> str | None:
    if not isinstance(value, str):
        raise _Invalid('put the key in quotes, e.g. api_key = "sk-…"', show=False)
    key = value.strip()
    if _CONTROL.search(key):
        raise _Invalid("paste the key again without line breaks or control characters", show=False)
    return key or None


def _env_name(value: Any) -> str:
    if isinstance(value, str) and _ENV_NAME.fullmatch(value):
        return value
    raise _Invalid('use the name of an environment variable, e.g. "OPENROUTER_API_KEY"')


def _models(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid('use a list of model names, e.g. ["gpt-4o-mini"]')
    for index, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            raise _Invalid("use a model name in quotes", at=(index,), value=name)
    return tuple(dict.fromkeys(name.strip() for name in value))


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise _Invalid('use a table of names and values, e.g. { "X-Title" = "OpenChat" }')
    for name, text in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise _Invalid(
                "use a header name made of letters, digits and -", at=(name,), value=name
            )
        if not isinstance(text, str) or _CONTROL.search(text):
            raise _Invalid(
                "use a value in quotes, without line breaks", show=False, at=(name,), value=text
            )
    return tuple((name, text) for name, text in value.items())


_TIMEOUTS = Timeouts()
_LIMITS = Limits()

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "default_model",
        'string "<provider id>/<model name>"',
        None,
        "The model new chats use; unset: the first model the providers list.",
        _model_id,
    ),
    Setting("theme", _names(THEMES), "dark", "The colour theme of the window.", _one_of(THEMES)),
    Setting(
        "providers",
        "array of tables",
        "one Ollama provider",
        "The model servers OpenChat talks to; see the keys below.",
    ),
    Setting(
        "timeouts.connect",
        "number (seconds)",
        _TIMEOUTS.connect,
        "How long to wait for a provider to accept the connection.",
        _seconds,
    ),
    Setting(
        "timeouts.first_byte",
        "number (seconds)",
        _TIMEOUTS.first_byte,
        "How long to wait for the first byte of a reply; a local model may need a minute to load.",
        _seconds,
    ),
    Setting(
        "timeouts.idle",
        "number (seconds)",
        _TIMEOUTS.idle,
        "How long a streaming reply may pause before it counts as broken.",
        _seconds,
    ),
    Setting(
        "limits.max_message_chars",
        "integer",
        _LIMITS.max_message_chars,
        "The longest message, in characters, the server accepts.",
        _positive_int,
    ),
    Setting(
        "limits.max_request_bytes",
        "integer",
        _LIMITS.max_request_bytes,
        "The largest request body, in bytes, the server accepts.",
        _positive_int,
    ),
)

PROVIDER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "id",
        "string",
        None,
        'The name in model ids ("<id>/<model>"): letters, digits, - and _.',
        _provider_id,
        required=True,
    ),
    Setting(
        "kind",
        _names(PROVIDER_KINDS),
        None,
        "The wire protocol.",
        _one_of(PROVIDER_KINDS),
        required=True,
    ),
    Setting(
        "base_url",
        "string (http or https URL)",
        "OLLAMA_HOST or http://127.0.0.1:11434 for ollama; required for openai",
        "Where the server listens.",
        _base_url,
    ),
    Setting("api_key", "string", None, "The API key, stored in this file.", _api_key),
    Setting(
        "api_key_env",
        "string",
        None,
        "The name of an environment variable holding the API key; used when api_key is unset.",
        _env_name,
    ),
    Setting(
        "models",
        "array of strings",
        (),
        "Model names listed even if the server lists none.",
        _models,
    ),
    Setting(
        "headers", "table of strings", {}, "Extra HTTP headers sent with every request.", _headers
    ),
    Setting("connect_timeout", "number (seconds)", None, "Overrides timeouts.connect.", _seconds),
    Setting(
        "first_byte_timeout",
        "number (seconds)",
        None,
        "Overrides timeouts.first_byte.",
        _seconds,
    ),
    Setting("idle_timeout", "number (seconds)", None, "Overrides timeouts.idle.", _seconds),
)

_SECTIONS = ("timeouts", "limits")
_TOP_KEYS = [s.name for s in SETTINGS if "." not in s.name] + list(_SECTIONS)
_PROVIDER_KEYS = [s.name for s in PROVIDER_SETTINGS]
_OWN_TIMEOUTS = ("connect_timeout", "first_byte_timeout", "idle_timeout")
_SETTING_BY_NAME = {s.name: s for s in SETTINGS}
_REQUIRED_EXAMPLES = {
    "id": 'a line like id = "my-server"',
    "kind": 'kind = "ollama" or kind = "openai"',
}


# --- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    """Valid settings plus what the file said per provider, which public() shows."""

    settings: Settings
    key_env: tuple[str | None, ...] = ()
    own_timeouts: tuple[dict[str, float], ...] = ()


def _check_document(
    data: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[_Loaded | None, list[_Issue]]:
    """Check a parsed file; the settings are None if any issue is fatal."""
    issues: list[_Issue] = []
    for key in data:
        if key not in _TOP_KEYS:
            issues.append(_unknown_issue((key,), _TOP_KEYS))
    for section in _SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, Mapping):
            issues.append(
                _Issue(
                    (section,),
                    f"{section} is {_show(table)}; write it as a [{section}] "
                    "section with one key per line.",
                )
            )
            continue
        known = [s.name.partition(".")[2] for s in SETTINGS if s.name.startswith(section + ".")]
        issues.extend(_unknown_issue((section, key), known) for key in table if key not in known)

    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.check is None:
            continue
        section, _, name = setting.name.rpartition(".")
        table = data.get(section, {}) if section else data
        if not isinstance(table, Mapping) or name not in table:
            values[setting.name] = setting.default
            continue
        path: KeyPath = (section, name) if section else (name,)
        try:
            values[setting.name] = setting.check(table[name])
        except _Invalid as error:
            issues.append(_invalid_issue(path, table[name], error))

    timeouts = Timeouts(
        connect=values.get("timeouts.connect", _TIMEOUTS.connect),
        first_byte=values.get("timeouts.first_byte", _TIMEOUTS.first_byte),
        idle=values.get("timeouts.idle", _TIMEOUTS.idle),
    )
    providers, key_env, own_timeouts = _check_providers(data, env, timeouts, issues)

    default_model = values.get("default_model")
    if default_model and providers:
        provider_id = default_model.partition("/")[0]
        if provider_id not in {p.id for p in providers}:
            issues.append(
                _Issue(
                    ("default_model",),
                    f'default_model "{default_model}" names the provider "{provider_id}", which '
                    f"is not configured; use one of {_names([p.id for p in providers])}.",
                    fatal=False,
                )
            )
    if any(issue.fatal for issue in issues):
        return None, issues
    settings = Settings(
        default_model=default_model,
        theme=values["theme"],
        providers=providers,
        timeouts=timeouts,
        limits=Limits(
            max_message_chars=values["limits.max_message_chars"],
            max_request_bytes=values["limits.max_request_bytes"],
        ),
    )
    return _Loaded(settings, key_env, own_timeouts), issues


def _check_providers(
    data: Mapping[str, Any], env: Mapping[str, str], timeouts: Timeouts, issues: list[_Issue]
) -> tuple[tuple[ProviderConfig, ...], tuple[str | None, ...], tuple[dict[str, float], ...]]:
    """Check the [[providers]] entries; none at all means the default Ollama."""
    entries = data.get("providers", [])
    if isinstance(entries, Mapping):
        issues.append(
            _Issue(
                ("providers",),
                "providers is a single table; write each provider as its own "
                "[[providers]] section, with two square brackets.",
            )
        )
        return (), (), ()
    if not isinstance(entries, list):
        issues.append(
            _Issue(
                ("providers",),
                f"providers is {_show(entries)}; write each provider as a "
                "[[providers]] section with id, kind and base_url.",
            )
        )
        return (), (), ()
    if not entries:
        ollama = _ollama_entry(env, issues)
        return (ollama,), (None,), ({},)

    configs: list[ProviderConfig] = []
    key_env: list[str | None] = []
    own_timeouts: list[dict[str, float]] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        path: KeyPath = ("providers", index)
        if not isinstance(entry, Mapping):
            issues.append(
                _Issue(
                    path,
                    f"{key_name(path)} is {_show(entry)}; write each provider as a "
                    "[[providers]] section with id, kind and base_url.",
                )
            )
            continue
        checked = _check_provider(entry, path, env, timeouts, issues, strict=False)
        if checked is None:
            continue
        config, env_name, own = checked
        if config.id in first_index:
            issues.append(
                _Issue(
                    path + ("id",),
                    f'{key_name(path + ("id",))} "{config.id}" is already used by '
                    f"providers[{first_index[config.id]}]; give each provider its own id.",
                )
            )
            continue
        first_index[config.id] = index
        configs.append(config)
        key_env.append(env_name)
        own_timeouts.append(own)
    return tuple(configs), tuple(key_env), tuple(own_timeouts)


def _ollama_entry(env: Mapping[str, str], issues: list[_Issue]) -> ProviderConfig:
    """The default provider: Ollama at OLLAMA_HOST, or on this machine."""
    return ProviderConfig(id="ollama", kind="ollama", base_url=_ollama_url(env, issues))


def _ollama_url(env: Mapping[str, str], issues: list[_Issue]) -> str:
    host = env.get("OLLAMA_HOST")
    try:
        return ollama_base_url(host)
    except ValueError:
        issues.append(
            _Issue(
                ("OLLAMA_HOST",),
                f"The OLLAMA_HOST environment variable is {_show(host)}, which is not an address; "
                f"set it to host:port (e.g. 127.0.0.1:11434) or unset it. Using "
                f"{DEFAULT_OLLAMA_URL} meanwhile.",
                fatal=False,
                in_file=False,
            )
        )
        return DEFAULT_OLLAMA_URL


def _check_provider(
    entry: Mapping[str, Any],
    path: KeyPath,
    env: Mapping[str, str],
    timeouts: Timeouts,
    issues: list[_Issue],
    *,
    strict: bool,
) -> tuple[ProviderConfig, str | None, dict[str, float]] | None:
    """Check one provider entry; None if it has a fatal issue. Strict: unknown keys are fatal."""
    found: list[_Issue] = []
    found.extend(
        _unknown_issue(path + (key,), _PROVIDER_KEYS, fatal=strict)
        for key in entry
        if key not in _PROVIDER_KEYS
    )
    values: dict[str, Any] = {}
    for setting in PROVIDER_SETTINGS:
        assert setting.check is not None
        name = setting.name
        if name not in entry:
            if setting.required:
                found.append(
                    _Issue(path, f"{key_name(path)} has no {name}; add {_REQUIRED_EXAMPLES[name]}.")
                )
            continue
        try:
            values[name] = setting.check(entry[name])
        except _Invalid as error:
            found.append(_invalid_issue(path + (name,), entry[name], error))
    if "base_url" not in entry and values.get("kind") == "openai":
        found.append(
            _Issue(
                path,
                f"{key_name(path)} has no base_url; add the endpoint's address, e.g. "
                'base_url = "https://api.openai.com/v1".',
            )
        )
    fatal = any(issue.fatal for issue in found)
    issues.extend(found)
    if fatal:
        return None

    env_name = values.get("api_key_env")
    api_key = values.get("api_key")
    if api_key is None and env_name:
        api_key = (env.get(env_name) or "").strip() or None
        if api_key is None:
            issues.append(
                _Issue(
                    path + ("api_key_env",),
                    f"{key_name(path + ('api_key_env',))} names {env_name}, which is not set in "
                    f"OpenChat's environment; set it and restart OpenChat, or put the key in "
                    f"api_key.",
                    fatal=False,
                )
            )
    base_url = values.get("base_url") or _ollama_url(env, issues)
    own = {name: values[name] for name in _OWN_TIMEOUTS if name in values}
    config = ProviderConfig(
        id=values["id"],
        kind=values["kind"],
        base_url=base_url,
        api_key=api_key,
        models=values.get("models", ()),
        headers=values.get("headers", ()),
        connect_timeout=own.get("connect_timeout", timeouts.connect),
        first_byte_timeout=own.get("first_byte_timeout", timeouts.first_byte),
        idle_timeout=own.get("idle_timeout", timeouts.idle),
    )
    return config, env_name, own


# --- where a key is written: line numbers for messages --------------------------------------

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


# --- reading and writing the file -----------------------------------------------------------


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


# --- applying a change to the document ------------------------------------------------------


def _is_masked(value: Any) -> bool:
    """A masked secret sent back unchanged, as the page received it from public()."""
    return isinstance(value, str) and value.startswith(MASK)


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ()


def _check_patch(patch: Any, path: Path) -> None:
    """Check a change as sent, so errors name its own keys (`providers[0].kind`)."""

    def refuse(issue: _Issue) -> SettingsError:
        return SettingsError(SettingsProblem(path, issue.text, None, key_name(issue.path)))

    if not isinstance(patch, Mapping):
        raise SettingsError(SettingsProblem(path, "Send the settings to change as a JSON object."))
    for key, value in patch.items():
        if key not in _TOP_KEYS:
            raise refuse(_unknown_issue((key,), _TOP_KEYS, fatal=True))
        if key == "providers":
            _check_patch_providers(value, refuse)
        elif key in _SECTIONS:
            known = [s.name.partition(".")[2] for s in SETTINGS if s.name.startswith(key + ".")]
            if not isinstance(value, Mapping):
                raise refuse(
                    _Issue(
                        (key,),
                        f'{key} is {_show(value)}; send an object such as {{"{known[0]}": …}}.',
                    )
                )
            for name, item in value.items():
                if name not in known:
                    raise refuse(_unknown_issue((key, name), known, fatal=True))
                _check_value(_SETTING_BY_NAME[f"{key}.{name}"], (key, name), item, refuse)
        else:
            _check_value(_SETTING_BY_NAME[key], (key,), value, refuse)


def _check_value(
    setting: Setting, path: KeyPath, value: Any, refuse: Callable[[_Issue], SettingsError]
) -> None:
    if value is None:  # null removes the key: back to the default
        return
    assert setting.check is not None
    try:
        setting.check(value)
    except _Invalid as error:
        raise refuse(_invalid_issue(path, value, error)) from None


def _as_written(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A provider from a change as it will be checked: no empty values, no masked secrets."""
    written: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "api_key_set" or _is_empty(value) or (key == "api_key" and _is_masked(value)):
            continue
        if key == "headers" and isinstance(value, Mapping):
            # A masked value is replaced by the stored one, which was checked when it was read.
            value = {name: "stored" if _is_masked(text) else text for name, text in value.items()}
        written[key] = value
    return written


def _check_patch_providers(value: Any, refuse: Callable[[_Issue], SettingsError]) -> None:
    if not isinstance(value, list):
        raise refuse(
            _Issue(("providers",), f"providers is {_show(value)}; send a list of providers.")
        )
    seen: dict[str, int] = {}
    for index, entry in enumerate(value):
        path: KeyPath = ("providers", index)
        if not isinstance(entry, Mapping):
            raise refuse(
                _Issue(
                    path,
                    f"{key_name(path)} is {_show(entry)}; send an object with "
                    "id, kind and base_url.",
                )
            )
        issues: list[_Issue] = []
        written = _as_written(entry)
        _check_provider(written, path, {}, Timeouts(), issues, strict=True)
        fatal = next((issue for issue in issues if issue.fatal), None)
        if fatal is not None:
            raise refuse(fatal)
        provider_id = written["id"]
        if provider_id in seen:
            id_path = path + ("id",)
            raise refuse(
                _Issue(
                    id_path,
                    f'{key_name(id_path)} "{provider_id}" is already used '
                    f"by providers[{seen[provider_id]}]; give each provider "
                    "its own id.",
                )
            )
        seen[provider_id] = index


def _apply_patch(document: tomlkit.TOMLDocument, patch: Mapping[str, Any]) -> None:
    """Edit the parsed file in place; only what the change touches is rewritten."""
    for key in ("default_model", "theme"):
        if key in patch:
            _set(document, key, patch[key], _SETTING_BY_NAME[key].check)
    if "providers" in patch:
        _apply_providers(document, patch["providers"])
    for section in _SECTIONS:
        if section not in patch:
            continue
        table = document.get(section)
        for name, value in patch[section].items():
            if value is None:
                if table is not None and name in table:
                    del table[name]
                continue
            if table is None:
                document.append(section, tomlkit.table())
                table = document[section]
            _set(table, name, value, _SETTING_BY_NAME[f"{section}.{name}"].check)


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same(check: Callable[[Any], Any] | None, stored: Any, value: Any) -> bool:
    """Whether a value means what the file already says (`5` and `5.0`, a trailing `/`)."""
    stored = _plain(stored)
    if check is None:
        return stored == value
    try:
        return check(stored) == check(value)
    except _Invalid:
        return False


def _set(container: Any, key: str, value: Any, check: Callable[[Any], Any] | None = None) -> None:
    """Set one key: replace it where it is, or add it after the table's last key. None removes."""
    if _is_empty(value):
        if key in container:
            del container[key]
        return
    if key in container and _same(check, container[key], value):
        return
    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        inline.update(value)
        value = inline
    if key in container:
        container[key] = value
        return
    _insert_key(container, key, value)


def _insert_key(container: Any, key: str, value: Any) -> None:
    """Add a key after the last key of its table, not after the comments that lead into the
    next table (tomlkit would append it below them)."""
    if isinstance(container, Table) and not container.is_super_table():
        body = container.value.body
        trailing = []
        while body and body[-1][0] is None and isinstance(body[-1][1], (Whitespace, Comment)):
            trailing.append(body.pop()[1])
        container.append(key, value)
        for item in reversed(trailing):
            container.value.append(None, item)
        return
    if isinstance(container, Container):
        body = container.body
        end = next(
            (i for i, (k, v) in enumerate(body) if k is not None and isinstance(v, (Table, AoT))),
            len(body),
        )
        last_key = max((i for i in range(end) if body[i][0] is not None), default=None)
        if last_key is not None:
            index = last_key + 1
        else:
            # No keys yet: go after the file's opening comments, before the ones that lead
            # into the first table.
            index = end
            while index > 0 and isinstance(body[index - 1][1], Comment):
                index -= 1
        if index < len(body):
            container._insert_at(index, key, value)
            return
    container[key] = value


def _table_id(table: Any) -> str | None:
    value = table.get("id") if isinstance(table, Mapping) else None
    return value if isinstance(value, str) else None


def _apply_providers(document: tomlkit.TOMLDocument, entries: list[Mapping[str, Any]]) -> None:
    """Update provider tables in place by id, append new ones, remove the ones not sent."""
    existing = document.get("providers")
    if not entries:
        if existing is not None:
            _remove_providers(document)
        return
    wanted = {entry["id"]: entry for entry in entries}
    present = set()
    so_far = ""
    if existing is not None:
        for table in existing:
            provider_id = _table_id(table)
            if provider_id in wanted:
                _update_provider(table, wanted[provider_id])
                present.add(provider_id)
    for entry in entries:
        if entry["id"] in present:
            continue
        if existing is None:
            so_far = document.as_string()
            document.append("providers", tomlkit.aot())
            existing = document["providers"]
        if isinstance(existing, AoT):
            table = tomlkit.table()
            _update_provider(table, entry)
            if len(existing) == 0 and so_far.strip() and not so_far.endswith("\n\n"):
                table.trivia.indent = (
                    "\n"  # a blank line between the keys above and the first table
                )
            _append_table(existing, table)
        else:
            inline = tomlkit.inline_table()
            _update_provider(inline, entry)
            existing.append(inline)
    # Removing last lets a removed table hand its trailing comments to a neighbour that stays.
    for index in reversed(range(len(existing))):
        if _table_id(existing[index]) not in wanted:
            _remove_entry(existing, index)


def _update_provider(table: Any, entry: Mapping[str, Any]) -> None:
    """Make a provider table say what the entry says; API keys and masked values stay put."""
    for setting in PROVIDER_SETTINGS:
        name = setting.name
        if name == "api_key":
            if name in entry and not _is_masked(entry[name]):
                _set(table, name, entry[name] or None)
            continue
        value = entry.get(name)
        if name == "headers" and isinstance(value, Mapping):
            stored = _plain(table.get("headers")) or {}
            lowered = {str(k).lower(): v for k, v in stored.items()}
            value = {
                k: (lowered.get(k.lower(), v) if _is_masked(v) else v) for k, v in value.items()
            }
        _set(table, name, value, setting.check)


def _trailing_trivia(table: Table) -> list[Any]:
    """Remove and return the blank lines and comments at the end of a table: they lead into
    whatever follows it."""
    body = table.value.body
    items = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Whitespace, Comment)):
        items.append(body.pop()[1])
    return list(reversed(items))


def _append_table(array: AoT, table: Table) -> None:
    """Append a [[providers]] table after the last one, separated by a blank line, keeping the
    comments that lead into the next section above that section."""
    if len(array) == 0:
        array.append(table)
        return
    last = array[len(array) - 1]
    lead_out = _trailing_trivia(last)
    last.value.append(None, tomlkit.ws("\n"))
    array.append(table)
    for item in lead_out:
        table.value.append(None, item)


def _remove_entry(array: AoT | Array, index: int) -> None:
    """Remove one provider with the comments just above it, keeping those above the next one."""
    if not isinstance(array, AoT):
        del array[index]
        return
    gone = array[index]
    lead_out = _trailing_trivia(gone)
    if index > 0:
        previous = array[index - 1]
        _trailing_trivia(previous)  # the comments that introduced the removed table
        for item in lead_out:
            previous.value.append(None, item)
    elif index + 1 < len(array):
        following = array[index + 1]
        following.trivia.indent = "".join(i.as_string() for i in lead_out) + following.trivia.indent
    del array[index]


def _remove_providers(document: tomlkit.TOMLDocument) -> None:
    """Drop the providers array (no providers means the default Ollama), keeping the comments
    that lead into the table after it."""
    existing = document["providers"]
    lead_out = []
    if isinstance(existing, AoT) and len(existing):
        lead_out = _trailing_trivia(existing[len(existing) - 1])
    items = [item for _, item in document.body]
    position = next((i for i, item in enumerate(items) if item is existing), len(items))
    following = next((item for item in items[position + 1 :] if isinstance(item, Table)), None)
    if following is not None:
        following.trivia.indent = "".join(i.as_string() for i in lead_out) + following.trivia.indent
    del document["providers"]
