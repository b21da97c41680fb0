"""GET /api/openapi.json: the description of every route, loaded when first asked for.

The description (server/openapi.py) is over a thousand lines of schemas that stay in memory
once built; scripts and tests ask for it, the window never does, so an idle server does not
hold it.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("openapi", __name__)


@bp.get("/api/openapi.json")
def openapi() -> dict:
    from ..openapi import document

    return document()
