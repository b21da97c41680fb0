"""The built-in engine as a provider: model files listed as `local/<name>`, replies streamed
from the engine child through the OpenAI-compatible provider (one streaming path, one Stop,
one set of error sentences)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

from ..errors import Conflict
from ..local.errors import BundledModel, EngineFailed
from ..local.manager import (
    CRASHED,
    EXIT_WAIT,
    REPLACED,
    Endpoint,
    EngineManager,
    model_context,
)
from ..local.models import ModelFile, describe, find_models
from ..paths import bundled_models_dir
from .base import Cancel, ChatRequest, Event, ModelInfo, ProviderConfig
from .errors import ModelNotFound, ProviderUnavailable, StreamBroken
from .openai_compat import OpenAICompatProvider

CRASHED_SENTENCE = (
    "The built-in engine stopped while answering (it may have run out of memory). "
    "Send again to restart it."
)
REPLACED_SENTENCE = (
    "The built-in engine switched to another model for another chat, which ended this reply. "
    "Send again to continue."
)


class LocalProvider:
    def __init__(
        self,
        config: ProviderConfig,
        engine: EngineManager,
        bundled_dir: Path | None = None,
    ) -> None:
        self.config = config
        self._engine = engine
        self._bundled_dir = bundled_dir if bundled_dir is not None else bundled_models_dir()
        self._client: tuple[Endpoint, OpenAICompatProvider] | None = None

    def close(self) -> None:
        if self._client is not None:
            self._client[1].close()
            self._client = None

    def models(self) -> dict[str, ModelFile]:
        return find_models(self._engine.settings.models_dir, self._bundled_dir)

    def model_file(self, name: str) -> ModelFile:
        model = self.models().get(name)
        if model is None:
            raise ModelNotFound(
                f"There is no model file “{name}.gguf” for the built-in engine. Pick another "
                "model, or add the file again."
            )
        return model

    def list_models(self) -> list[ModelInfo]:
        return [self._info(model) for model in self.models().values()]

    def model_info(self, name: str) -> ModelInfo:
        return self._info(self.model_file(name))

    def window(self, name: str) -> int:
        """The context window the engine gives this model."""
        model = self.model_file(name)
        try:
            trained = describe(model).context_length
        except OSError:  # deleted meanwhile: the chat request will say so
            trained = None
        return model_context(self._engine.settings, trained)

    def _info(self, model: ModelFile) -> ModelInfo:
        try:
            described = describe(model)
        except OSError:  # deleted while listing
            return ModelInfo(self.config.id, model.name, details={"bundled": model.bundled})
        details: dict[str, object] = {"size": described.size, **described.details}
        return ModelInfo(
            self.config.id, model.name, context_length=described.context_length, details=details
        )

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]:
        model = self.model_file(request.model)
        with self._engine.use(model, cancel) as endpoint:
            if endpoint is None or (cancel is not None and cancel.cancelled):
                return  # stopped while the model loaded
            try:
                yield from self._client_for(endpoint).stream_chat(request, cancel)
            except (StreamBroken, ProviderUnavailable) as exc:
                # The connection broke: a child gone (crash, out of memory, switched model)
                # is named as such; anything else keeps the transport's sentence.
                reason = endpoint.exit_reason(EXIT_WAIT)
                if reason == CRASHED:
                    raise EngineFailed(CRASHED_SENTENCE, detail=exc.detail) from exc
                if reason == REPLACED:
                    raise EngineFailed(REPLACED_SENTENCE, detail=exc.detail) from exc
                raise

    def _client_for(self, endpoint: Endpoint) -> OpenAICompatProvider:
        """One pooled client per child: its address and key change at every start."""
        current = self._client
        if current is not None and current[0] is endpoint:
            return current[1]
        config = replace(
            self.config, kind="openai", base_url=endpoint.base_url, api_key=endpoint.api_key
        )
        client = OpenAICompatProvider(config)
        self._client = (endpoint, client)
        if current is not None:
            current[1].close()
        return client

    def delete(self, name: str) -> None:
        """Delete the person's own model file; a bundled one stays."""
        model = self.model_file(name)
        if model.bundled:
            raise BundledModel(
                f"“{name}” came with OpenChat and cannot be deleted. Models you add can be."
            )
        self._engine.stop_model(model)
        try:
            model.path.unlink()
        except FileNotFoundError:
            pass  # deleted meanwhile: what was asked is done
        except OSError as exc:
            raise Conflict(
                f"“{name}.gguf” could not be deleted ({exc.strerror or exc}). Close any "
                "program using it and try again."
            ) from None
