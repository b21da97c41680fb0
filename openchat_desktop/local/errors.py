"""Failures of the built-in engine, each a sentence a person can act on.

    ProviderError (providers.errors)
    └── EngineFailed        502 engine_failed: the engine could not load a model, or stopped
    Conflict (openchat_desktop.errors)
    └── BundledModel        409 bundled_model: a model that came with the app cannot be deleted
"""

from __future__ import annotations

from ..errors import Conflict
from ..providers.errors import ProviderError


class EngineFailed(ProviderError):
    code = "engine_failed"


class BundledModel(Conflict):
    code = "bundled_model"
