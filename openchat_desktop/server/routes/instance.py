"""This OpenChat itself: whether it has a window, and bringing that window forward."""

from __future__ import annotations

from flask import Blueprint

from .. import services

bp = Blueprint("instance", __name__)


@bp.get("/api/instance")
def describe():
    return {"window": services().window is not None}


@bp.post("/api/instance/show")
def show():
    """A second launch on the same data folder asks this one to come to the front."""
    return {"window": services().bring_forward()}
