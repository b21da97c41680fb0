"""Every settings key declared once, with its check: loading, changes and the docs share it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .model import _CONTROL, Limits, Timeouts
from .problems import _HEADER_NAME, _Invalid, _names

THEMES = ("dark", "light", "system")
PROVIDER_KINDS = ("ollama", "openai")

_PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    Setting(
        "bare_think_models",
        "array of strings",
        (),
        "Model-name patterns whose replies start inside reasoning, ended by a bare </think>.",
        _models,
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
