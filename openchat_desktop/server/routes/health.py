"""GET /api/health: open to all, so launchers and scripts can wait for the server."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ... import __version__

bp = Blueprint("health", __name__)


@bp.get("/api/health")
def health() -> ResponseReturnValue:
    return {"status": "ok", "version": __version__}
