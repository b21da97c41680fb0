"""GET /api/options: the model options a chat can set, with the presets and defaults."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.views import option_choices_view
from .. import services

bp = Blueprint("options", __name__)


@bp.get("/api/options")
def option_choices() -> ResponseReturnValue:
    return option_choices_view(services().settings.current)
