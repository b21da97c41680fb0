"""The settings as the rest of the app uses them: frozen values that keep secrets out of logs."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from ..providers.addresses import address_refusal
from ..providers.base import ProviderConfig
from ..providers.redaction import is_secret_header
from ..tools.mcp.config import McpServerConfig

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
LOCAL_ID = "local"
LOCAL_KIND = "local"  # the built-in engine: it has no address of its own to configure
# Where a vendor's own API lives: an entry of that kind without base_url talks to it.
VENDOR_URLS = {
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}
MASK = "…"

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
"""Line breaks and other control characters, which no address, key or header value may hold."""

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


@dataclass(frozen=True)
class LocalEngine:
    """The built-in engine's settings; unset ones are filled from the machine when it starts
    (see local.manager)."""

    models_dir: str | None = None  # unset: `models` in the data folder
    threads: int | None = None
    context_size: int | None = None
    batch_size: int | None = None
    gpu_layers: int | None = None
    idle_unload: float = 600.0
    hub_url: str = "https://huggingface.co"  # where models are downloaded from; mirrors exist
    hub_token_env: str = "HF_TOKEN"  # the variable holding a token, for gated models


@dataclass(frozen=True)
class ModelSettings:
    """One `[models."<model id>"]` table: the model's default options, and its window when
    the person knows better than the server (`context_length`, in tokens)."""

    options: Mapping[str, Any] = field(default_factory=dict)
    context_length: int | None = None


@dataclass(frozen=True)
class ContextWindow:
    """What happens when a chat outgrows its model's window (see chat.window)."""

    policy: str = "drop"  # "drop" | "summarize": a chat's own policy wins
    summary_model: str | None = None  # unset: the chat's model writes the summary
    reply_room: int | None = None  # unset: a quarter of the window, at most 2048 tokens
    max_ollama_context: int = 8192  # the largest num_ctx sent to Ollama unasked


@dataclass(frozen=True)
class Chat:
    """How chats behave beyond the reply itself."""

    auto_title: bool = False  # the chat's model names the chat after its first reply


@dataclass(frozen=True)
class Tools:
    """The tool loop: how many rounds a reply may take, how long a question waits, and each
    tool's approval policy by "<source>/<tool name>" (a tool not named: its source's default,
    "ask" for the app's own)."""

    max_rounds: int = 8
    approval_timeout: float = 300.0  # seconds; no answer by then counts as Deny
    approval: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Serve:
    """Serving to other machines: the names, besides this machine's own, that requests may be
    addressed to (a reverse proxy's public name, say)."""

    hosts: tuple[str, ...] = ()  # "name" (any port, or none) or "name:port"


def _default_providers() -> tuple[ProviderConfig, ...]:
    """The providers used when the file lists none: Ollama where OLLAMA_HOST says, and the
    built-in engine."""
    return (
        ProviderConfig(id="ollama", kind="ollama", base_url=default_ollama_url()),
        ProviderConfig(id=LOCAL_ID, kind=LOCAL_KIND, base_url=""),
    )


def default_ollama_url() -> str:
    """Where an Ollama provider without base_url is: OLLAMA_HOST, or this machine if that is
    not an address or one no provider may have."""
    try:
        url = ollama_base_url(os.environ.get("OLLAMA_HOST"))
    except ValueError:
        return DEFAULT_OLLAMA_URL
    return DEFAULT_OLLAMA_URL if address_refusal(url) else url


@dataclass(frozen=True, repr=False)
class Settings:
    """Validated settings, a field per key or [table] of schema.SETTINGS; `providers` carry
    their API keys already resolved."""

    default_model: str | None = None
    theme: str = "dark"
    # No request to another host: providers, downloads and tool servers elsewhere are refused.
    local_only: bool = False
    providers: tuple[ProviderConfig, ...] = field(default_factory=_default_providers)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    local: LocalEngine = field(default_factory=LocalEngine)
    options: Mapping[str, Any] = field(default_factory=dict)  # every chat's default options
    models: Mapping[str, ModelSettings] = field(default_factory=dict)  # by model id
    # By model id: the models asked in turn when it fails before its first word.
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # the person's own
    context: ContextWindow = field(default_factory=ContextWindow)
    chat: Chat = field(default_factory=Chat)
    tools: Tools = field(default_factory=Tools)
    serve: Serve = field(default_factory=Serve)
    mcp_servers: tuple[McpServerConfig, ...] = ()

    def provider(self, provider_id: str) -> ProviderConfig | None:
        """The provider with this id, or None."""
        return next((p for p in self.providers if p.id == provider_id), None)

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: keys and secret header values stay masked.
        parts = []
        for item in fields(self):
            if item.name == "providers":
                shown = "(" + ", ".join(_provider_repr(p) for p in self.providers) + ")"
            else:
                shown = repr(getattr(self, item.name))
            parts.append(f"{item.name}={shown}")
        return f"Settings({', '.join(parts)})"


def _provider_repr(provider: ProviderConfig) -> str:
    """A ProviderConfig repr with the API key and secret-looking header values masked."""
    parts = []
    for item in fields(provider):
        value = getattr(provider, item.name)
        if item.name == "api_key":
            value = mask_secret(value)
        elif item.name == "headers":
            value = tuple((name, mask_header(name, text)) for name, text in value)
        parts.append(f"{item.name}={value!r}")
    return f"ProviderConfig({', '.join(parts)})"


def mask_secret(value: str | None) -> str | None:
    """Show that a secret is set without showing it: the last 4 characters of a long one only."""
    if not value:
        return None
    return MASK + value[-4:] if len(value) >= 12 else MASK


def mask_header(name: str, value: str) -> str:
    """A header value as logs and the page show it: masked like an API key if it looks secret."""
    return (mask_secret(value) or MASK) if is_secret_header(name) else value


def mask_env(name: str, value: str) -> str:
    """An environment variable's value as the page shows it: by the rule for header names
    (API_KEY, GITHUB_TOKEN, DB_PASSWORD are masked)."""
    return mask_header(name, value)


def ollama_base_url(host: str | None) -> str:
    """Read an OLLAMA_HOST value the way Ollama's own client does, as a base URL.

    Accepts `host`, `host:port`, `:port`, a full URL, and IPv6 in brackets; `0.0.0.0` and `::`
    (the server's "listen everywhere") mean this machine. Raises ValueError if unusable.
    Whether a provider may be at that address is providers/addresses.py's question.
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
    if CONTROL_CHARS.search(host) or " " in host:
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
