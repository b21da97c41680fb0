"""GET /api/sessions/<id>/export: the chat as a Markdown or JSON file to download."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, request

from ... import export
from ...errors import InvalidRequest
from ...saving import save_with_dialog
from .. import services
from ..validation import field, json_body, only_fields

bp = Blueprint("export", __name__)


@bp.get("/api/sessions/<session_id>/export")
def export_session(session_id: str):
    fmt = request.args.get("format", "markdown")
    if fmt not in export.FORMATS:
        raise InvalidRequest("`format` must be `markdown` or `json`.")
    chat = services().chat
    session = chat.session(session_id)
    text = export.export(session, chat.store.branch(session.id), fmt)
    name = export.file_name(session, fmt)
    response = Response(text, mimetype=export.FORMATS[fmt][1])
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{name.encode('ascii', 'replace').decode().replace('?', '_')}\";"
        f" filename*=UTF-8''{quote(name)}"
    )
    return response


@bp.post("/api/sessions/<session_id>/export/save")
def save_session(session_id: str):
    """In the desktop window: ask where to save through the system's Save dialog, then write
    the file. (A browser downloads the GET above instead.)"""
    body = json_body(required=False)
    only_fields(body, {"format"})
    fmt = field(body, "format", str) or "markdown"
    if fmt not in export.FORMATS:
        raise InvalidRequest("`format` must be `markdown` or `json`.")
    app = services()
    session = app.chat.session(session_id)
    text = export.export(session, app.chat.store.branch(session.id), fmt)
    saved = save_with_dialog(app.window, export.file_name(session, fmt),
                             lambda path: path.write_text(text, encoding="utf-8"))
    return {"saved": saved}
