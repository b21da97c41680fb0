"""GET /api/search: full-text search over finished messages."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from ...errors import InvalidRequest
from .. import services
from ..validation import int_arg

bp = Blueprint("search", __name__)


@bp.get("/api/search")
def search() -> ResponseReturnValue:
    q = (request.args.get("q") or "").strip()
    if not q:
        raise InvalidRequest("`q` is required: the words to search for.")
    limit = int_arg("limit", default=50, low=1, high=500) or 50
    return {"results": services().chat.search(q, limit=limit)}
