"""The provider kinds a settings entry can name, and building a provider from its entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from .base import Provider, ProviderConfig
from .naming import quote_id
from .ollama import OllamaProvider
from .openai_compat import OpenAICompatProvider

KINDS: Mapping[str, Callable[[ProviderConfig], Provider]] = MappingProxyType(
    {"ollama": OllamaProvider, "openai": OpenAICompatProvider}
)


def build_provider(config: ProviderConfig) -> Provider:
    factory = KINDS.get(config.kind)
    if factory is None:
        raise ValueError(
            f"Provider {quote_id(config.id)} has kind “{config.kind}”; use one of: "
            f"{', '.join(KINDS)}."
        )
    return factory(config)
