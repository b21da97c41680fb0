"""GET/PATCH /api/settings: the settings file, keys masked, its path and any problem."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...settings import SettingsFileInvalid
from .. import services
from ..validation import json_body

bp = Blueprint("settings", __name__)


@bp.get("/api/settings")
def get_settings() -> ResponseReturnValue:
    return services().settings.public()


@bp.patch("/api/settings")
def patch_settings() -> ResponseReturnValue:
    store = services().settings
    body = json_body()
    if store.problem is not None and store.problem.fatal:
        raise SettingsFileInvalid(
            f"{store.problem.message} Fix the file first; the settings were not changed."
        )
    store.update(body)
    return store.public()
