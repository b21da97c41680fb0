"""The built-in engine: its state and settings, and adding a model file the person already
has (from a path, or uploaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from werkzeug.formparser import FormDataParser
from werkzeug.wsgi import get_input_stream

from ...chat.views import model_view
from ...errors import NoWindow
from ...local.adding import Added, ModelFolder
from ...local_models import LOCAL_PROVIDER_ID
from ...providers.local import LocalProvider
from .. import services
from ..validation import json_body, only_fields, present

bp = Blueprint("local", __name__)

# What of an upload is in memory at once: its small text fields besides the file, and the
# parser's buffer while it reads the body (a read is 64 KiB, plus what waits for a boundary).
FORM_MEMORY_BYTES = 1024 * 1024
FORM_PARTS = 10
MAX_PATH_CHARS = 4096


@bp.get("/api/local/engine")
def engine_state() -> ResponseReturnValue:
    engine = services().local_engine
    settings = engine.settings
    return {
        **engine.state(),
        "settings": {
            "models_dir": str(settings.models_dir),
            "threads": settings.threads,
            "context_size": settings.context_size,
            "batch_size": settings.batch_size,
            "gpu_layers": settings.gpu_layers,
            "idle_unload": settings.idle_unload,
        },
    }


@bp.post("/api/local/models")
def add_model() -> ResponseReturnValue:
    """JSON `{"path", "mode"}`, or a multipart upload in the field `file`. An upload has no
    size limit of its own (model files are GBs): it is streamed to the models folder's disk,
    whose free space is checked against its length first."""
    folder = ModelFolder(services().local_engine.settings.models_dir)
    if request.mimetype == "multipart/form-data":
        added = folder.add_upload(receive_upload, expected_size=request.content_length)
    else:
        body = json_body()
        only_fields(body, {"path", "mode"})
        path = present(body, "path", str, max_length=MAX_PATH_CHARS)
        mode = present(body, "mode", str, max_length=10)
        added = folder.add_path(Path(path), mode)
    services().chat.capabilities.forget()
    return {"model": added_model(added), "note": added.note}, 201


def receive_upload(open_file: Callable[[str], BinaryIO]) -> None:
    """Stream the multipart body's file part into the file `open_file` gives for its name;
    nothing of it is kept in memory."""

    def stream_factory(
        total_content_length: int | None, content_type: str | None, filename: str | None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return open_file(filename or "")

    parser = FormDataParser(stream_factory=stream_factory,
                            max_form_memory_size=FORM_MEMORY_BYTES, max_form_parts=FORM_PARTS)
    # The body read without the request size limit (`request.stream` applies it): this
    # route's own rule is the disk's free space, checked against the length first.
    body = get_input_stream(request.environ, max_content_length=None)
    parser.parse(body, request.mimetype, request.content_length, request.mimetype_params)


def added_model(added: Added) -> dict | None:
    """The model as `GET /api/models` lists it; None for a vision projector, or when the
    built-in engine is turned off in the settings."""
    provider = services().router().providers.get(LOCAL_PROVIDER_ID)
    if added.projector or not isinstance(provider, LocalProvider):
        return None
    return model_view(provider.model_info(added.path.stem), capabilities_known=False)


@bp.post("/api/local/models/pick")
def pick_model_file() -> ResponseReturnValue:
    """The desktop window's Open dialog, for a `.gguf` file: its path, or null when the person
    cancelled. The page cannot open it itself (see `saving`)."""
    window = services().window
    if window is None:
        raise NoWindow("Picking a file through a dialog needs the desktop window; upload the "
                       "file instead.")
    return {"path": window.ask_open_path(("GGUF model files (*.gguf)",))}
