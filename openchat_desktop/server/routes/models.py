"""GET /api/models: every provider's models, and each provider's status."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.capabilities import REPORTING_KINDS
from ...chat.views import model_view, provider_status_view
from .. import services

bp = Blueprint("models", __name__)


@bp.get("/api/models")
def list_models() -> ResponseReturnValue:
    models, listed = services().router().list_all()
    # A key the keychain would not give is why a provider fails, whatever its server said.
    problems = {
        provider_id: source.problem
        for provider_id, source in services().settings.key_sources().items()
        if source.problem
    }
    statuses = [
        replace(s, status="unauthorized", message=problems[s.id]) if s.id in problems else s
        for s in listed
    ]
    kinds = {s.id: s.kind for s in statuses}
    return {
        "models": [
            model_view(m, capabilities_known=kinds.get(m.provider) in REPORTING_KINDS)
            for m in models
        ],
        "providers": [provider_status_view(s) for s in statuses],
        "default_model": services().settings.current.default_model,
    }
