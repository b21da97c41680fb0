"""Managing an Ollama provider's models: list installed ones, pull (streamed progress,
cancel), delete."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from .. import services
from ..streaming import event_stream
from ..validation import json_body, only_fields

bp = Blueprint("ollama", __name__)


@bp.get("/api/providers/<provider_id>/models")
def installed(provider_id: str) -> ResponseReturnValue:
    return {"models": services().local_models.installed(provider_id)}


@bp.post("/api/providers/<provider_id>/models/pull")
def pull(provider_id: str) -> ResponseReturnValue:
    body = json_body()
    only_fields(body, {"name"})
    job = services().local_models.pull(provider_id, body.get("name"))
    return event_stream(job.follow())


@bp.delete("/api/providers/<provider_id>/models/<path:name>")
def delete(provider_id: str, name: str) -> ResponseReturnValue:
    services().local_models.delete(provider_id, name)
    return "", 204


@bp.get("/api/pulls")
def pulls() -> ResponseReturnValue:
    return {"pulls": [job.view() for job in services().local_models.pulls()]}


@bp.get("/api/pulls/<pull_id>/events")
def pull_events(pull_id: str) -> ResponseReturnValue:
    return event_stream(services().local_models.get(pull_id).follow())


@bp.post("/api/pulls/<pull_id>/cancel")
def cancel(pull_id: str) -> ResponseReturnValue:
    return {"pull": services().local_models.cancel(pull_id).view()}
