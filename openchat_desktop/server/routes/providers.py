"""POST /api/providers/test: try a provider entry before saving it (the settings page's
"Test connection"), by listing its models once with a provider built just for that."""

from __future__ import annotations

from flask import Blueprint

from ...errors import InvalidRequest
from ...providers.router import Router
from ...settings import SettingsError, provider_from_entry
from .. import services
from ..validation import json_body

bp = Blueprint("providers", __name__)


@bp.post("/api/providers/test")
def test_provider():
    try:
        config = provider_from_entry(json_body(), services().settings.current)
    except SettingsError as exc:
        raise InvalidRequest(exc.message) from None
    with Router([config]) as router:
        models, statuses = router.list_all()
    status = statuses[0]
    return {
        "status": status.status,
        "message": status.message,
        # Only what the server itself listed: configured names prove nothing about it.
        "models": [m.name for m in models] if status.status == "ok" else [],
    }
