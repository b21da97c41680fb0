"""Attachments: upload one file, fetch it back (the page's thumbnails), remove an unsent one."""

from __future__ import annotations

import select
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, request, send_file
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from ...chat import attachments
from ...chat.errors import AttachmentNotFound
from ...chat.views import attachment_limits_view, attachment_view
from ...errors import InvalidRequest
from ...saving import save_with_dialog
from ...store import AttachmentRecord
from .. import services

bp = Blueprint("attachments", __name__)

# Room for the multipart envelope (boundaries, part headers) around a file at the limit.
ENVELOPE_BYTES = 64 * 1024
# The images the page shows inline. Nothing else is ever served as a type a browser renders
# or runs: an SVG or HTML file is a document that can carry script.
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@bp.post("/api/attachments")
def upload() -> ResponseReturnValue:
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
    uploaded = services().attachments.upload(file.filename, file.stream, client_left_check())
    return {**attachment_view(uploaded.record), "note": uploaded.note}, 201


def client_left_check() -> Callable[[], bool]:
    """A check of whether the client of this request has closed its connection: its socket
    reads as ended (a client still there sends nothing before the answer, or a next request)."""
    connection = request.environ.get("werkzeug.socket")
    if not isinstance(connection, socket.socket):
        return lambda: False

    def left() -> bool:
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            return bool(readable) and not connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):  # reset, or already closed
            return True

    return left


@bp.get("/api/attachments/limits")
def limits() -> ResponseReturnValue:
    return attachment_limits_view()


def _stored(attachment_id: str) -> tuple[AttachmentRecord, Path]:
    service = services().attachments
    record = service.get(attachment_id)
    path = service.path(record)
    if not path.is_file():
        raise AttachmentNotFound("This attachment's file is missing from the data folder.")
    return record, path


@bp.get("/api/attachments/<attachment_id>")
def download(attachment_id: str) -> ResponseReturnValue:
    record, path = _stored(attachment_id)
    # Images show inline (thumbnails); anything else downloads, as a type that never renders
    # or runs, whatever its bytes say (the app's responses all carry nosniff).
    inline = record.kind == "image" and record.mime in INLINE_IMAGES
    if inline:
        mime = record.mime
    elif record.kind == "text":
        mime = "text/plain"  # werkzeug adds the charset, utf-8
    else:
        mime = "application/octet-stream"
    return send_file(
        path, mimetype=mime, as_attachment=not inline, download_name=record.name,
        conditional=True,
    )


@bp.post("/api/attachments/<attachment_id>/save")
def save(attachment_id: str) -> ResponseReturnValue:
    """In the desktop window: save a copy where the user picks (a browser downloads)."""
    record, path = _stored(attachment_id)

    def write(to: Path) -> None:
        shutil.copyfile(path, to)

    return {"saved": save_with_dialog(services().window, record.name, write)}


@bp.delete("/api/attachments/<attachment_id>")
def delete_unsent(attachment_id: str) -> ResponseReturnValue:
    services().attachments.delete_unsent(attachment_id)
    return "", 204
