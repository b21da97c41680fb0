"""The provider kinds a settings entry can name, and building a provider from its entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from .anthropic import AnthropicProvider
from .base import Provider, ProviderConfig
from .gemini import GeminiProvider
from .naming import quote_id
from .ollama import OllamaProvider
from .openai_compat import OpenAICompatProvider

if TYPE_CHECKING:
    from ..local.manager import EngineManager

KINDS: Mapping[str, Callable[[ProviderConfig], Provider]] = MappingProxyType(
    {
        "ollama": OllamaProvider,
        "openai": OpenAICompatProvider,
        "anthropic": AnthropicProvider,
        "gemini": GeminiProvider,
    }
)
LOCAL = "local"  # the built-in engine: built with the app's engine manager

# Kinds whose servers continue a request's final assistant message instead of answering anew
# (assistant prefill): Ollama's /api/chat, llama.cpp's server (the built-in engine) and
# Anthropic. Any other OpenAI-compatible server may not (api.openai.com answers it anew).
PREFILL_KINDS = frozenset({"ollama", LOCAL, "anthropic"})


def continues_prefill(kind: str) -> bool:
    """Whether a provider of `kind` continues a final assistant message where it ends."""
    return kind in PREFILL_KINDS


def build_provider(config: ProviderConfig, engine: EngineManager | None = None) -> Provider:
    if config.kind == LOCAL and engine is not None:
        from .local import LocalProvider

        return LocalProvider(config, engine)
    factory = KINDS.get(config.kind)
    if factory is None:
        raise ValueError(
            f"Provider {quote_id(config.id)} has kind “{config.kind}”; use one of: "
            f"{', '.join([*KINDS, LOCAL])}."
        )
    return factory(config)
