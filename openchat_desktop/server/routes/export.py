"""GET /api/sessions/<id>/export: the chat as a Markdown or JSON file to download."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from ...saving import save_with_dialog
from .. import services
from ..validation import field, json_body, only_fields

bp = Blueprint("export", __name__)


@bp.get("/api/sessions/<session_id>/export")
def export_session(session_id: str) -> ResponseReturnValue:
    file = services().chat.export(session_id, request.args.get("format", "markdown"))
    response = Response(file.text, mimetype=file.mime)
    ascii_name = file.name.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file.name)}"
    )
    return response


@bp.post("/api/sessions/<session_id>/export/save")
def save_session(session_id: str) -> ResponseReturnValue:
    """In the desktop window: ask where to save through the system's Save dialog, then write
    the file. (A browser downloads the GET above instead.)"""
    body = json_body(required=False)
    only_fields(body, {"format"})
    app = services()
    file = app.chat.export(session_id, field(body, "format", str) or "markdown")

    def write(path: Path) -> None:
        path.write_text(file.text, encoding="utf-8")

    return {"saved": save_with_dialog(app.window, file.name, write)}
