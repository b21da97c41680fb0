"""How sentences name a provider: the one place that turns a provider's id, kind and address
into the words people read, so every message calls the same server by the same name.

Two forms exist. The *label* names the server as the subject of a sentence ("Ollama is not
running…", "lm rejected the API key…"). The *quoted id* names the settings entry a person
has to look at or fix ("Check the API key for “lm” in Settings").
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import ProviderConfig

# People know an Ollama server or a vendor's API by the product's name, whatever id its entry
# has; the kind "openai" covers many products, so those servers go by their settings id.
OLLAMA_LABEL = "Ollama"
LABELS = {"ollama": OLLAMA_LABEL, "anthropic": "Anthropic", "gemini": "Gemini"}


def server_label(kind: str, provider_id: str) -> str:
    """The server's name as the subject of a sentence."""
    return LABELS.get(kind, provider_id)


def quote_id(provider_id: str) -> str:
    """A settings entry named in a sentence: its id in the quotes Settings shows it in."""
    return f"“{provider_id}”"


@dataclass(frozen=True, slots=True)
class Origin:
    """Who a request went to: enough to name the server and to pick the sentence that fits
    its kind. `has_key` tells Ollama's "sign in" 401 from a rejected key."""

    provider_id: str
    kind: str  # "ollama" | "openai" | "anthropic" | "gemini" | …
    base_url: str  # without a trailing slash, as sentences show it
    has_key: bool = False

    @classmethod
    def of(cls, config: ProviderConfig) -> Origin:
        return cls(config.id, config.kind, config.base_url.rstrip("/"), bool(config.api_key))

    @property
    def label(self) -> str:
        return server_label(self.kind, self.provider_id)

    @property
    def quoted_id(self) -> str:
        return quote_id(self.provider_id)
