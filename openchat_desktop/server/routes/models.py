"""GET /api/models: every provider's models, and each provider's status."""

from __future__ import annotations

from flask import Blueprint

from .. import services

bp = Blueprint("models", __name__)


@bp.get("/api/models")
def list_models():
    models, statuses = services().router().list_all()
    return {
        "models": [
            {
                "id": m.id,
                "provider": m.provider,
                "name": m.name,
                "capabilities": list(m.capabilities),
                "context_length": m.context_length,
            }
            for m in models
        ],
        "providers": [
            {"id": s.id, "kind": s.kind, "status": s.status, "message": s.message}
            for s in statuses
        ],
        "default_model": services().settings.current.default_model,
    }
