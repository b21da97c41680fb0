"""What a model can do, and the rules that depend on it: `think` and images.

Ollama reports each model's capabilities (`/api/show`: "vision", "thinking", "tools"…), and
Anthropic's models are known by family, and Gemini's model list says which models think, so for
their models they are facts. OpenAI-compatible servers do not say: their capabilities are
unknown, which is different from "none" — images are not refused for them.

- `think` reaches a model only when it has the "thinking" capability; a level ("low",
  "medium", "high") only when the model takes levels (gpt-oss), else it means "on".
- Images sent to a model known to lack "vision" are refused unless the person confirmed.

The window a model has (see `window.py`) is a fact too: Ollama's `/api/show` gives the
model's maximum, a llama.cpp server's `/props` the window it was started with, other
OpenAI-compatible servers sometimes list it with their models, and the built-in engine gives
what its settings say, at most the model's own.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass

from ..errors import InvalidRequest
from ..providers.errors import ProviderError
from ..providers.local import LocalProvider
from ..providers.openai_compat import OpenAICompatProvider
from ..providers.router import ResolvedModel

THINK_LEVELS = ("low", "medium", "high")
# Models whose `think` takes a level instead of true/false (Ollama's gpt-oss; Claude, whose
# levels are thinking budgets).
LEVEL_MODELS = ("gpt-oss*", "claude-*")
# Provider kinds whose model list states each model's capabilities (Anthropic's through the
# rules of anthropic_models.py, which know every Claude family).
REPORTING_KINDS = frozenset({"ollama", "anthropic", "gemini"})
CACHE_SECONDS = 30.0
# Windows change only when a server restarts with other settings: asked of OpenAI-compatible
# servers (a model list may be large) less often.
WINDOW_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ModelFacts:
    capabilities: frozenset[str] | None  # None: the provider does not say
    context_length: int | None = None  # the model's maximum window, where the provider says

    def lacks(self, capability: str) -> bool:
        """True only when the model is known not to have it."""
        return self.capabilities is not None and capability not in self.capabilities

    def has(self, capability: str) -> bool:
        return self.capabilities is not None and capability in self.capabilities


def think_levels(model_name: str) -> tuple[str, ...]:
    """The levels a thinking model's `think` takes; () when it takes true/false."""
    name = model_name.lower()
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in LEVEL_MODELS):
        return THINK_LEVELS
    return ()


def check_think(value: object) -> bool | str | None:
    """A `think` setting as a request gives it: true, false, null or a level."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in THINK_LEVELS:
        return value
    raise InvalidRequest(
        "`think` must be true, false, null (the model's default) or one of "
        f"{', '.join(THINK_LEVELS)}."
    )


def think_parameter(setting: bool | str | None, facts: ModelFacts, model_name: str
                    ) -> bool | str | None:
    """What goes to the provider as `think` (None: nothing is sent)."""
    if setting is None or not facts.has("thinking"):
        return None
    if isinstance(setting, str) and not think_levels(model_name):
        return True
    return setting


class Capabilities:
    """Model facts, asked of the provider and kept for a short while (a send with `think` or
    images would otherwise ask Ollama's /api/show every time)."""

    def __init__(self, ttl: float = CACHE_SECONDS, window_ttl: float = WINDOW_SECONDS) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str], tuple[float, ModelFacts]] = {}
        self._window_ttl = window_ttl
        self._windows: dict[tuple[int, str], tuple[float, int | None]] = {}

    def facts(self, model: ResolvedModel) -> ModelFacts:
        # Keyed by the provider object too: new settings build new providers.
        key = (id(model.provider), model.id)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        facts = ModelFacts(None)
        if model.provider.config.kind in REPORTING_KINDS:
            try:
                info = model.provider.model_info(model.name)
                facts = ModelFacts(frozenset(info.capabilities), info.context_length)
            except ProviderError:
                # Unknown to the provider, or it is down: the chat request itself will say so.
                return ModelFacts(None)
        with self._lock:
            self._cache[key] = (now, facts)
        return facts

    def window(self, model: ResolvedModel) -> int | None:
        """The model's window as its provider states it; None when it does not say or cannot
        be asked now."""
        kind = model.provider.config.kind
        if kind in REPORTING_KINDS:
            return self.facts(model).context_length
        key = (id(model.provider), model.id)
        now = time.monotonic()
        with self._lock:
            cached = self._windows.get(key)
            if cached is not None and now - cached[0] < self._window_ttl:
                return cached[1]
        window: int | None = None
        try:
            if isinstance(model.provider, LocalProvider):
                window = model.provider.window(model.name)
            elif isinstance(model.provider, OpenAICompatProvider):
                window = model.provider.served_window(model.name)
        except ProviderError:
            return None
        with self._lock:
            self._windows[key] = (now, window)
        return window

    def forget(self) -> None:
        """Drop what is known (a model was pulled or deleted)."""
        with self._lock:
            self._cache.clear()
            self._windows.clear()
