"""What Anthropic's models can do, from their names: its model list gives ids and display
names only, so the rules that tell the families apart live here, in one place."""

from __future__ import annotations

import fnmatch

from .base import ModelInfo
from .dialect import as_int

# Every Claude model reads images and calls tools; the families before Claude 3.7 do not think.
CAPABILITIES = ("completion", "vision", "tools")
NOT_THINKING = ("claude-3-5-*", "claude-3-haiku*", "claude-3-opus*", "claude-3-sonnet*",
                "claude-2*", "claude-instant*")
# The first Claude 3 models write at most 4096 tokens per reply; every later one more.
SHORT_REPLIES = ("claude-3-haiku*", "claude-3-opus*", "claude-3-sonnet*", "claude-2*",
                 "claude-instant*")
SHORT_MAX_TOKENS = 4096
MAX_TOKENS = 8192  # a long answer, well inside what each later model may write
CONTEXT_LENGTH = 200_000  # every current Claude model's window


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in patterns)


def thinks(name: str) -> bool:
    """Whether the model takes extended thinking (Claude 3.7 and every later model)."""
    return not _matches(name, NOT_THINKING)


def capabilities(name: str) -> tuple[str, ...]:
    return (*CAPABILITIES, "thinking") if thinks(name) else CAPABILITIES


def default_max_tokens(name: str) -> int:
    """The reply's limit when the request sets none: Anthropic requires one."""
    return SHORT_MAX_TOKENS if _matches(name, SHORT_REPLIES) else MAX_TOKENS


def model_info(provider_id: str, name: str, entry: dict[str, object] | None = None) -> ModelInfo:
    """A model as the list (or its own page) describes it; the window where it says."""
    entry = entry or {}
    details: dict[str, object] = {
        key: entry[key] for key in ("display_name", "created_at") if key in entry
    }
    window = as_int(entry.get("max_input_tokens")) or CONTEXT_LENGTH
    return ModelInfo(provider_id, name, capabilities(name), window, details)
