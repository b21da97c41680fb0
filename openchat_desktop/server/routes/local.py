"""GET /api/local/engine: the built-in engine's state and the settings it runs with."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from .. import services

bp = Blueprint("local", __name__)


@bp.get("/api/local/engine")
def engine_state() -> ResponseReturnValue:
    engine = services().local_engine
    settings = engine.settings
    return {
        **engine.state(),
        "settings": {
            "models_dir": str(settings.models_dir),
            "threads": settings.threads,
            "context_size": settings.context_size,
            "batch_size": settings.batch_size,
            "gpu_layers": settings.gpu_layers,
            "idle_unload": settings.idle_unload,
        },
    }
