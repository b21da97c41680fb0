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

from .errors import SettingsError, SettingsFileInvalid
from .patch import mcp_server_from_entry, provider_from_entry
from .problems import KeyPath, SettingsProblem, key_name
from .schema import (
    MCP_SERVER_SETTINGS,
    PROVIDER_KINDS,
    PROVIDER_SETTINGS,
    SETTINGS,
    THEMES,
    Setting,
)
from .store import SettingsStore, Signature
from .values import (
    DEFAULT_OLLAMA_URL,
    MASK,
    Limits,
    Settings,
    Timeouts,
    mask_secret,
    ollama_base_url,
)

__all__ = [
    "DEFAULT_OLLAMA_URL",
    "MASK",
    "MCP_SERVER_SETTINGS",
    "PROVIDER_KINDS",
    "PROVIDER_SETTINGS",
    "SETTINGS",
    "THEMES",
    "KeyPath",
    "Limits",
    "Setting",
    "Settings",
    "SettingsError",
    "SettingsFileInvalid",
    "SettingsProblem",
    "SettingsStore",
    "Signature",
    "Timeouts",
    "key_name",
    "mask_secret",
    "mcp_server_from_entry",
    "ollama_base_url",
    "provider_from_entry",
]
