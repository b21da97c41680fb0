"""Route "<provider id>/<model name>" to a provider, retry what is worth retrying, fall back
to the next model when that does not help, list models.

A Router is built from the settings' provider entries and never changes; the app builds a new
one when the settings change.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import MappingProxyType

from .base import (
    Cancel,
    ChatRequest,
    Event,
    FallingBack,
    ModelInfo,
    Provider,
    ProviderConfig,
    ReasoningDelta,
    Retrying,
    TextDelta,
    ToolCall,
)
from .errors import AuthenticationFailed, ModelNotFound, ProviderError, ProviderUnavailable
from .kinds import build_provider
from .naming import quote_id, server_label
from .redaction import redact

log = logging.getLogger(__name__)

MAX_RETRIES = 2
MAX_WAIT = 10.0  # seconds: a server asking for a longer wait gets a sentence, not a hang
BACKOFF_BASE = 0.5  # seconds, doubled per attempt, with jitter (as the official SDKs do)
BACKOFF_CAP = 8.0


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model id looked up once: its provider, the provider's own name for it, and the
    models asked in turn, each with the same request, when it cannot answer."""

    id: str
    provider: Provider
    name: str
    fallbacks: tuple[ResolvedModel, ...] = ()

    @property
    def chain(self) -> tuple[ResolvedModel, ...]:
        """Every model that may answer, in the order they are asked."""
        return (replace(self, fallbacks=()), *self.fallbacks)

    def answered_by(self, model_id: str) -> ResolvedModel:
        """The model of the chain that answered, without fallbacks: a reply that has begun
        goes on with the model that began it."""
        return next(model for model in self.chain if model.id == model_id)


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """How listing one provider's models went: "ok", "unreachable", "unauthorized", "error"."""

    id: str
    kind: str
    status: str
    message: str | None = None


class Router:
    def __init__(
        self,
        configs: Sequence[ProviderConfig],
        *,
        factory: Callable[[ProviderConfig], Provider] = build_provider,
        max_retries: int = MAX_RETRIES,
        max_wait: float = MAX_WAIT,
    ) -> None:
        providers: dict[str, Provider] = {}
        for config in configs:
            if config.id in providers:
                raise ValueError(
                    f"Two providers are called {quote_id(config.id)}; ids must be unique."
                )
            providers[config.id] = factory(config)
        self._providers = MappingProxyType(providers)
        self._max_retries = max_retries
        self._max_wait = max_wait

    @property
    def providers(self) -> Mapping[str, Provider]:
        return self._providers

    def close(self) -> None:
        """Close every provider's connections (streams already running keep theirs)."""
        for provider in self._providers.values():
            provider.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def resolve(self, model_id: str) -> tuple[Provider, str]:
        """Split at the first "/": model names may contain slashes themselves."""
        provider_id, slash, name = model_id.partition("/")
        if not slash or not provider_id or not name:
            raise ModelNotFound(
                f"“{model_id}” is not a model id; it should look like “ollama/llama3.2”. "
                "Pick a model from the list."
            )
        provider = self._providers.get(provider_id)
        if provider is None:
            raise ModelNotFound(
                f"There is no provider {quote_id(provider_id)} for the model “{name}”. Add it in "
                "Settings, or pick another model."
            )
        return provider, name

    def model(self, model_id: str, fallbacks: Sequence[str] = ()) -> ResolvedModel:
        """The model behind `model_id`, looked up once for a whole send, with its fallbacks
        in order. The model itself and repeats are left out of them, and so is a fallback
        whose provider is not configured (the settings warn about it): a fallback missing
        must not keep the model from being asked."""
        provider, name = self.resolve(model_id)
        chain: dict[str, ResolvedModel] = {}
        for fallback_id in fallbacks:
            if fallback_id == model_id or fallback_id in chain:
                continue
            try:
                fallback_provider, fallback_name = self.resolve(fallback_id)
            except ModelNotFound:
                log.info("fallback %s of %s left out: no such provider", fallback_id, model_id)
                continue
            chain[fallback_id] = ResolvedModel(fallback_id, fallback_provider, fallback_name)
        return ResolvedModel(model_id, provider, name, tuple(chain.values()))

    def stream_chat(
        self, model: str | ResolvedModel, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event | Retrying | FallingBack, None, None]:
        """The events of the first model of `model`'s chain that answers. A model that fails
        before it delivered anything (text, reasoning or a tool call), when its retries did
        not cure it and the reply was not stopped, hands the same request to the next one,
        announced by a `FallingBack` marker. Once something was delivered the failure stands:
        another model would start the reply over. When every model fails, the error names
        each failure."""
        resolved = model if isinstance(model, ResolvedModel) else self.model(model)
        cancel = cancel if cancel is not None else Cancel()
        chain = resolved.chain
        failures: list[tuple[str, ProviderError]] = []
        for index, current in enumerate(chain):
            delivered = False
            try:
                for event in self._attempts(current, request, cancel):
                    if isinstance(event, TextDelta | ReasoningDelta | ToolCall):
                        delivered = True
                    yield event
                return
            except ProviderError as exc:
                if delivered or cancel.cancelled or index == len(chain) - 1:
                    if failures and not delivered and not cancel.cancelled:
                        raise every_failure([*failures, (current.id, exc)]) from exc
                    raise
                failures.append((current.id, exc))
                following = chain[index + 1].id
                log.info("falling back from %s to %s after: %s", current.id, following,
                         exc.detail or exc)
                yield FallingBack(current.id, following, exc.message)

    def _attempts(
        self, resolved: ResolvedModel, request: ChatRequest, cancel: Cancel
    ) -> Generator[Event | Retrying, None, None]:
        """The provider's events for one model. A retryable failure is retried (at most
        `max_retries` times) only while nothing meaningful has been delivered: never after
        text, reasoning or a tool call, which would duplicate them. Each wait is announced
        first with a `Retrying` marker (`attempt` 1 for the first retry), so whoever shows the
        reply can say so. `cancel` ends a backoff at once; closing the generator closes the
        upstream response."""
        provider, model_id = resolved.provider, resolved.id
        request = replace(request, model=resolved.name)
        attempt = 0
        while True:
            delivered = False
            stream = provider.stream_chat(request, cancel)
            try:
                for event in stream:
                    if isinstance(event, TextDelta | ReasoningDelta | ToolCall):
                        delivered = True
                    yield event
                return
            except ProviderError as exc:
                if delivered or cancel.cancelled or not exc.retryable:
                    raise
                if attempt >= self._max_retries:
                    raise
                wait = self._wait(exc, attempt, provider.config)
                attempt += 1
                log.info("retrying %s in %.2f s after: %s", model_id, wait, exc.detail or exc)
                yield Retrying(attempt, round(wait, 2), exc.message)
                if cancel.wait(wait):
                    return
            finally:
                stream.close()

    def list_all(self) -> tuple[list[ModelInfo], list[ProviderStatus]]:
        """Every provider's models, asked concurrently, with each provider's status. A failing
        provider is reported, never raised, and still lists the models its settings name."""
        providers = list(self._providers.values())
        if not providers:
            return [], []
        with ThreadPoolExecutor(max_workers=len(providers)) as pool:
            results = list(pool.map(_list_one, providers))
        models = [model for listed, _ in results for model in listed]
        return models, [status for _, status in results]

    def _wait(self, exc: ProviderError, attempt: int, config: ProviderConfig) -> float:
        if exc.retry_after is None:
            delay = min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt)
            return delay * (0.75 + random.random() / 4)
        if exc.retry_after <= self._max_wait:
            return exc.retry_after
        seconds = round(exc.retry_after)
        raise type(exc)(
            f"{server_label(config.kind, config.id)} asked to wait {seconds} seconds before "
            "another try. Try again after that.",
            detail=exc.detail,
            retryable=exc.retryable,
            retry_after=exc.retry_after,
        ) from exc


def every_failure(failures: Sequence[tuple[str, ProviderError]]) -> ProviderError:
    """The error of a reply no model of the chain could give: the last failure's kind, with
    a sentence naming each model and why it did not answer."""
    last = failures[-1][1]
    reasons = " ".join(f"{model_id}: {exc.message}" for model_id, exc in failures)
    return type(last)(
        f"None of the models could answer. {reasons}",
        detail=last.detail,
        retryable=last.retryable,
        retry_after=last.retry_after,
    )


def _list_one(provider: Provider) -> tuple[list[ModelInfo], ProviderStatus]:
    config = provider.config
    configured = [ModelInfo(config.id, name) for name in config.models]
    try:
        models = provider.list_models()
    except AuthenticationFailed as exc:
        return configured, ProviderStatus(config.id, config.kind, "unauthorized", exc.message)
    except ProviderUnavailable as exc:
        return configured, ProviderStatus(config.id, config.kind, "unreachable", exc.message)
    except ProviderError as exc:
        return configured, ProviderStatus(config.id, config.kind, "error", exc.message)
    except Exception as exc:  # a bug must not take the whole model list down with it
        log.exception("listing the models of %s failed", config.id)
        message = (
            f"Listing the models of {quote_id(config.id)} failed unexpectedly "
            f"({redact(repr(exc))})."
        )
        return configured, ProviderStatus(config.id, config.kind, "error", message)
    # A provider that works may still have something to say (found at another address…).
    notice = getattr(provider, "notice", None)
    return models, ProviderStatus(config.id, config.kind, "ok", notice)
