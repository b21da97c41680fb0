"""POST /api/providers/test: try a provider entry before saving it (the settings page's
"Test connection"), by listing its models once with a provider built just for that, and
saying where the server answered when that is not the entry's address."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.views import provider_check_view
from ...errors import InvalidRequest
from ...providers.openai_compat import working_address
from ...providers.router import Router
from ...settings import SettingsError, provider_from_entry
from .. import services
from ..validation import json_body

bp = Blueprint("providers", __name__)


@bp.post("/api/providers/test")
def test_provider() -> ResponseReturnValue:
    try:
        config, note = provider_from_entry(json_body(), services().settings.current)
    except SettingsError as exc:
        raise InvalidRequest(exc.message) from None
    with Router([config], factory=services().build_provider) as router:
        models, statuses = router.list_all()
        address = working_address(router.providers[config.id])
    # `note`: the stored secrets left out because the entry names another address.
    return {**provider_check_view(statuses[0], models, address), "note": note}
