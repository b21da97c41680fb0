"""Attachments: upload one file, fetch it back (the page's thumbnails), remove an unsent one."""

from __future__ import annotations

import shutil

from flask import Blueprint, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from ... import attachments
from ...attachments import attachment_view
from ...errors import InvalidRequest, NotFound
from ...saving import save_with_dialog
from .. import services

bp = Blueprint("attachments", __name__)

# Room for the multipart envelope (boundaries, part headers) around a file at the limit.
ENVELOPE_BYTES = 64 * 1024


@bp.post("/api/attachments")
def upload():
    limit = attachments.MAX_FILE_BYTES + ENVELOPE_BYTES
    request.max_content_length = limit  # this route's own limit, above the JSON body limit
    if request.content_length is not None and request.content_length > limit:
        raise attachments.too_large("The file")
    try:
        file = request.files.get("file")
    except RequestEntityTooLarge:
        raise attachments.too_large("The file") from None
    if file is None:
        raise InvalidRequest("Send the file as multipart/form-data in a field named `file`.")
    record = services().chat.attachments.upload(file.filename, file.stream)
    return attachment_view(record), 201


@bp.get("/api/attachments/limits")
def limits():
    return attachments.limits()


def _stored(attachment_id: str):
    service = services().chat.attachments
    record = service.get(attachment_id)
    path = service.path(record)
    if not path.is_file():
        raise NotFound("This attachment's file is missing from the data folder.",
                       code="attachment_not_found")
    return record, path


@bp.get("/api/attachments/<attachment_id>")
def download(attachment_id: str):
    record, path = _stored(attachment_id)
    mime = record.mime
    if record.kind == "text" and not mime.startswith("text/"):
        mime += "; charset=utf-8"  # werkzeug adds it to text/* only
    # Images show inline (thumbnails); anything else downloads, never renders in the page.
    return send_file(
        path,
        mimetype=mime,
        as_attachment=record.kind != "image",
        download_name=record.name,
        conditional=True,
    )


@bp.post("/api/attachments/<attachment_id>/save")
def save(attachment_id: str):
    """In the desktop window: save a copy where the user picks (a browser downloads)."""
    record, path = _stored(attachment_id)
    saved = save_with_dialog(services().window, record.name, lambda to: shutil.copyfile(path, to))
    return {"saved": saved}


@bp.delete("/api/attachments/<attachment_id>")
def delete_unsent(attachment_id: str):
    services().chat.attachments.delete_unsent(attachment_id)
    return "", 204
