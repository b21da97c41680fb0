"""Models as OpenAI lists them: the ids of `/api/models`, owned by their provider."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..providers.base import ModelInfo


def model_object(model: ModelInfo) -> dict[str, Any]:
    # No provider says when a model was made in a way all of them share; 0 is "unknown".
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider}


def model_list(models: Iterable[ModelInfo]) -> dict[str, Any]:
    return {"object": "list", "data": [model_object(model) for model in models]}
