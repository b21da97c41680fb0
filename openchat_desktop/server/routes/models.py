"""GET /api/models: every provider's models, and each provider's status."""

from __future__ import annotations

from flask import Blueprint

from ...capabilities import REPORTING_KINDS, think_levels
from .. import services

bp = Blueprint("models", __name__)


@bp.get("/api/models")
def list_models():
    models, statuses = services().router().list_all()
    kinds = {s.id: s.kind for s in statuses}
    return {
        "models": [
            {
                "id": m.id,
                "provider": m.provider,
                "name": m.name,
                "capabilities": list(m.capabilities),
                "context_length": m.context_length,
                # False: the provider does not say what its models can do (not "nothing").
                "capabilities_known": kinds.get(m.provider) in REPORTING_KINDS,
                "think_levels": list(think_levels(m.name)) if "thinking" in m.capabilities
                else [],
            }
            for m in models
        ],
        "providers": [
            {"id": s.id, "kind": s.kind, "status": s.status, "message": s.message}
            for s in statuses
        ],
        "default_model": services().settings.current.default_model,
    }
