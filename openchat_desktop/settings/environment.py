"""Providers from the vendors' own environment variables, read the way their own tools read
them, so a key already exported for the official SDKs works here too.

- OPENAI_API_KEY (with OPENAI_BASE_URL, default https://api.openai.com/v1), ANTHROPIC_API_KEY
  and GEMINI_API_KEY each create a provider (`openai`, `anthropic`, `gemini`) at their address;
- every variable, OLLAMA_API_KEY included (Ollama's hosted models at https://ollama.com), fills
  the key of a provider of its kind at its address that has no key of its own.

The settings file wins: an entry with a key keeps it, and a provider is created only when the
file has none with that id and none at that address.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..providers.addresses import same_address
from ..providers.base import ProviderConfig
from ..providers.redaction import remember_credentials
from .key_source import ENVIRONMENT, KeySource
from .problems import Invalid, Issue, show_value
from .schema import PROVIDER_SETTINGS
from .values import VENDOR_URLS

OPENAI_URL = "https://api.openai.com/v1"
OLLAMA_CLOUD_URL = "https://ollama.com"


@dataclass(frozen=True)
class VendorVariable:
    name: str  # the variable holding the key
    kind: str
    creates: str | None  # the id of the provider it creates; None: it only fills keys
    address: str  # where the key goes, unless `address_variable` says otherwise
    address_variable: str | None = None


VARIABLES = (
    VendorVariable("OPENAI_API_KEY", "openai", "openai", OPENAI_URL, "OPENAI_BASE_URL"),
    VendorVariable("ANTHROPIC_API_KEY", "anthropic", "anthropic", VENDOR_URLS["anthropic"]),
    VendorVariable("GEMINI_API_KEY", "gemini", "gemini", VENDOR_URLS["gemini"]),
    VendorVariable("OLLAMA_API_KEY", "ollama", None, OLLAMA_CLOUD_URL),
)

ProviderEntry = tuple[ProviderConfig, KeySource, Mapping[str, Any]]
"""A provider as it runs, where its key comes from, and its checked values as written."""

_BASE_URL = next(s for s in PROVIDER_SETTINGS if s.name == "base_url")


def _address(variable: VendorVariable, env: Mapping[str, str], issues: list[Issue]) -> str | None:
    written = (env.get(variable.address_variable or "") or "").strip()
    if not written:
        return variable.address
    assert _BASE_URL.check is not None
    try:
        return str(_BASE_URL.check(written))
    except Invalid as error:
        issues.append(
            Issue(
                (variable.address_variable or variable.name,),
                f"The {variable.address_variable} environment variable is {show_value(written)}; "
                f"{error.fix}, or unset it. {variable.name} is not used meanwhile.",
                fatal=False,
                in_file=False,
            )
        )
        return None


def with_environment(
    entries: Sequence[ProviderEntry],
    env: Mapping[str, str],
    make: Callable[[Mapping[str, Any]], ProviderConfig],
    issues: list[Issue],
) -> list[ProviderEntry]:
    """The providers with the environment's keys filled in and its providers added after them;
    `make` turns an entry as written into a provider with the app-wide timeouts."""
    result = list(entries)
    for variable in VARIABLES:
        key = (env.get(variable.name) or "").strip()
        if not key:
            continue
        address = _address(variable, env, issues)
        if address is None:
            continue
        remember_credentials(key, ())
        taken = False  # a provider of the file is at that address: none is created there
        for index, (config, source, written) in enumerate(result):
            if config.kind != variable.kind or not same_address(config.base_url, address):
                continue
            taken = True
            if source.place is None and not written.get("api_key_env"):
                result[index] = (
                    replace(config, api_key=key),
                    KeySource(ENVIRONMENT, variable.name),
                    written,
                )
        creates = variable.creates
        if creates is None or taken or any(config.id == creates for config, _, _ in result):
            continue
        entry = {"id": creates, "kind": variable.kind, "base_url": address}
        result.append(
            (
                replace(make(entry), api_key=key),
                KeySource(ENVIRONMENT, variable.name, created=True),
                entry,
            )
        )
    return result


def unchanged_from_environment(
    checked: Mapping[str, Any], environment: Mapping[str, Mapping[str, Any]]
) -> bool:
    """Whether an entry sent back by the page is a provider of the environment as it came:
    saving the other providers must not copy it into the file."""
    created = environment.get(checked.get("id", ""))
    if created is None:
        return False
    return {k: v for k, v in checked.items() if v not in (None, (), {}, False)} == dict(created)
