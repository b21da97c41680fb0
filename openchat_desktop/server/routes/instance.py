"""This OpenChat itself: whether it has a window, and bringing that window forward."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from .. import services

bp = Blueprint("instance", __name__)


@bp.get("/api/instance")
def describe() -> ResponseReturnValue:
    return {"window": services().window is not None}


@bp.post("/api/instance/show")
def show() -> ResponseReturnValue:
    """A second launch on the same data folder asks this one to come to the front."""
    return {"window": services().bring_forward()}
