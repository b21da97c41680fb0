"""GET /api/search: full-text search over finished messages."""

from __future__ import annotations

from flask import Blueprint, request

from ...errors import InvalidRequest
from .. import services
from ..validation import int_arg

bp = Blueprint("search", __name__)


@bp.get("/api/search")
def search():
    q = (request.args.get("q") or "").strip()
    if not q:
        raise InvalidRequest("`q` is required: the words to search for.")
    limit = int_arg("limit", default=50, low=1, high=500)
    chat = services().chat
    results = []
    for record, snippet in chat.store.search(q, limit=limit):
        session = chat.store.get_session(record.session_id)
        results.append(
            {
                "message_id": record.id,
                "session_id": record.session_id,
                "session_title": session.title if session else None,
                "role": record.role,
                "snippet": snippet,
                "created_at": record.created_at,
            }
        )
    return {"results": results}
