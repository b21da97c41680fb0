"""Secrets never echoed: the one rule that removes credentials from what a model server says.

This is the boundary for credentials, as rendering.py is the one for markup. A server's words
are untrusted and may repeat what the request carried: a proxy that quotes the Authorization
header in its error, a redirect whose Location holds `?key=…`, an HTTP library's exception
text with the URL in it. All of them reach people only inside a ProviderError, and
ProviderError passes its sentence and its `detail` through `redact` when it is made
(providers/errors.py): the chat service, the recorder, the page and the log never get the raw
text. `guard_logs` applies the same rule to every log record, whichever library wrote it
(urllib3 logs request URLs at DEBUG, and a Gemini URL carries its key).

What goes, each replaced by REDACTED so a person still sees something was there:
- the credentials the app itself sends: every provider's API key and the values of its
  secret headers, remembered by the transport when it attaches them;
- anything shaped like a credential: `Bearer …` and `Basic …`, the prefixes vendors give
  their keys (sk-, sk-ant-, AIza…) and OpenChat's own API keys (oc_…), JWTs, URL parameters
  named like a key or token, a URL's user and password, and a long random-looking word right
  after "key", "token", "secret" or "password".
Ordinary words stay: apart from URL parameters and a URL's user, a shape only counts when
what follows looks random (letters and digits, or very long), so "skip", "task-1",
"qwen2.5:7b" or "Bearer token" pass unchanged. Text is redacted before it is cut short
(`excerpt`): a cut through a key leaves a piece no rule recognizes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

# A value shorter than this is a placeholder (Ollama and LM Studio take any key, and people
# write "ollama"), not a secret: removing it would blank out ordinary words.
MIN_SECRET_CHARS = 8

_SECRET_HEADER = re.compile(r"authorization|key|token|secret|password|cookie", re.IGNORECASE)

# The characters a key, token or base64 credential is written with.
_TOKEN = r"[A-Za-z0-9._~+/=-]"
# Where a key may begin: not inside a run of letters, digits, "_" or "-". Every pattern starts
# only there (or at a fixed character), so no run of text is scanned from each of its
# characters: a hostile error of a megabyte costs linear time, never quadratic.
_START = r"(?<![A-Za-z0-9_-])"
_WORDS = r"key|token|secret|password|passwd|credential"

_AUTH_SCHEME = re.compile(
    rf"{_START}(?:Bearer|Basic)(?:\s+|%20)(?P<value>{_TOKEN}+)", re.IGNORECASE
)
_VENDOR_KEY = re.compile(
    rf"{_START}(?:sk|rk|pk|gsk|xai|pplx|nvapi|glpat)-(?P<value>[A-Za-z0-9_-]{{8,}})"
    rf"|{_START}(?:sk|rk|hf|ghp|gho|ghu|ghs|github_pat|r8)_(?P<under>[A-Za-z0-9_]{{8,}})"
)
_ALWAYS_KEY = re.compile(
    rf"{_START}AIza[0-9A-Za-z_-]{{20,}}"  # Google API keys
    rf"|{_START}ya29\.[0-9A-Za-z_-]{{20,}}"  # Google OAuth access tokens
    rf"|{_START}eyJ[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]*"  # JWTs
    rf"|{_START}oc_[A-Za-z0-9_-]{{43}}"  # OpenChat's own API keys (access/keys.py)
)
# Any URL parameter; its name decides (a name is short, so searching it costs nothing).
_URL_PARAMETER = re.compile(r"(?P<name>[?&;][\w.-]+=)(?P<value>[^&#\s\"'<>]+)")
_SECRET_PARAMETER = re.compile(rf"{_WORDS}|signature|^[?&;](?:sig|auth)=$", re.IGNORECASE)
# A URL's user and password; a colon ends a part, so one "://" never scans past the next.
_URL_USER = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30}://)"
    r"[^/\s@:\"'<>]*(?::[^/\s@:\"'<>]*)?@"
)
_AFTER_WORD = re.compile(
    rf"(?<![A-Za-z0-9])(?:api[-_ ]?key|{_WORDS})s?"
    r"[\"']?(?:\s*[:=]\s*|\s+(?:is\s+|was\s+)?)[\"'`]?"
    rf"(?P<value>{_TOKEN}{{16,}})",
    re.IGNORECASE,
)

_lock = threading.Lock()
_remembered: set[str] = set()
_remembered_pattern: re.Pattern[str] | None = None


def is_secret_header(name: str) -> bool:
    """A header whose value is a credential, judged by its name (Authorization, X-Api-Key…)."""
    return bool(_SECRET_HEADER.search(name))


def remember_credentials(api_key: str | None, headers: Iterable[tuple[str, str]]) -> None:
    """Treat this provider's key and secret header values as secrets from now on. They stay
    remembered after the provider goes: an old key is still a key."""
    global _remembered_pattern
    values = [api_key or "", *(value for name, value in headers if is_secret_header(name))]
    # Each value as sent, and as a URL or a form would spell it.
    spellings = {
        form
        for value in values
        if len(value.strip()) >= MIN_SECRET_CHARS
        for form in (value, quote(value, safe=""), quote_plus(value, safe=""))
    }
    with _lock:
        if spellings <= _remembered:
            return
        _remembered.update(spellings)
        ordered = sorted(_remembered, key=len, reverse=True)  # a longer one hides its parts
        _remembered_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """`text` with every credential replaced by REDACTED; redacting twice changes nothing."""
    pattern = _remembered_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _ALWAYS_KEY.sub(REDACTED, text)
    text = _VENDOR_KEY.sub(_if_random("value", "under"), text)
    text = _AUTH_SCHEME.sub(_if_random("value"), text)
    text = _URL_USER.sub(lambda m: m["scheme"] + REDACTED + "@", text)
    text = _URL_PARAMETER.sub(_if_secret_parameter, text)
    return _AFTER_WORD.sub(_if_random("value"), text)


def excerpt(text: str, limit: int) -> str:
    """At most `limit` characters of a server's text, redacted before it is cut: a cut
    through the middle of a key would leave half of it for the shapes to miss."""
    return redact(text)[:limit]


def guard_logs() -> None:
    """Redact every log record from now on, whichever logger makes it: its message, and the
    traceback of an exception logged with it. Safe to call more than once."""
    with _lock:
        current = logging.getLogRecordFactory()
        if not isinstance(current, _RedactingFactory):
            logging.setLogRecordFactory(_RedactingFactory(current))


class _RedactingFactory:
    """A log record factory that hands out records already redacted."""

    _formatter = logging.Formatter()

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)  # arguments that do not fit: logging reports it anyway
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatters use this text instead of formatting the exception again.
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record


def _if_random(*groups: str) -> Callable[[re.Match[str]], str]:
    """A replacement that redacts the first of `groups` that matched, when it looks random,
    and keeps what comes before it ("Bearer ", "key: ", "sk-") so the sentence still reads."""

    def replace(match: re.Match[str]) -> str:
        group = next(g for g in groups if match[g] is not None)
        if not _looks_random(match[group]):
            return match[0]
        return match[0][: match.start(group) - match.start()] + REDACTED

    return replace


def _if_secret_parameter(match: re.Match[str]) -> str:
    """A URL parameter named like a credential loses its value, whatever the value looks like."""
    name = match["name"]
    return name + REDACTED if _SECRET_PARAMETER.search(name) else match[0]


def _looks_random(value: str) -> bool:
    """Letters mixed with digits, or too long to be a word: how keys and tokens look."""
    value = value.strip("=.-_")
    if len(value) < MIN_SECRET_CHARS:
        return False
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    return (letters and digits) or len(value) >= 24
