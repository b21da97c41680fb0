"""GET /api/outbound: what OpenChat sent (or refused to send) to other hosts, newest first;
DELETE /api/outbound empties the log."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint
from flask.typing import ResponseReturnValue

from .. import services
from ..validation import int_arg

bp = Blueprint("outbound", __name__)


@bp.get("/api/outbound")
def list_outbound() -> ResponseReturnValue:
    limit = int_arg("limit", default=100, low=1, high=1000) or 100
    before = int_arg("before", default=None, low=1, high=2**62)
    app = services()
    app.outbound_log.flush()  # a request refused a moment ago is in the answer
    rows = app.store.outbound_page(before=before, limit=limit)
    return {
        "local_only": app.settings.current.local_only,
        "requests": [asdict(row) for row in rows],
        "next": rows[-1].seq if len(rows) == limit else None,
    }


@bp.delete("/api/outbound")
def clear_outbound() -> ResponseReturnValue:
    services().outbound_log.clear()
    return "", 204
