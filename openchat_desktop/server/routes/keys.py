"""API keys for scripts and teammates: list, create (the key is in the answer once), revoke."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...access.keys import DEFAULT_SCOPE
from ...chat.views import api_key_view
from ...errors import InvalidRequest
from .. import services
from ..validation import json_body, only_fields

bp = Blueprint("keys", __name__)


@bp.get("/api/keys")
def list_keys() -> ResponseReturnValue:
    return {"keys": [api_key_view(record) for record in services().api_keys.all_keys()]}


@bp.post("/api/keys")
def create_key() -> ResponseReturnValue:
    body = json_body()
    only_fields(body, {"name", "scope", "rpm", "tpm", "record"})
    if "name" not in body:
        raise InvalidRequest("`name` is required: what the key is for, e.g. “ci-script”.")
    record, key = services().api_keys.create(
        body["name"],
        scope=body.get("scope", DEFAULT_SCOPE),
        rpm=body.get("rpm"),
        tpm=body.get("tpm"),
        record=body.get("record", True),
    )
    return {"key": key, "api_key": api_key_view(record)}, 201


@bp.delete("/api/keys/<name>")
def revoke_key(name: str) -> ResponseReturnValue:
    services().api_keys.revoke(name)
    return "", 204
