"""Roles: reusable system prompts; a session's `role_id` selects at most one."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.views import role_view
from ...errors import InvalidRequest
from .. import services
from ..validation import json_body, only_fields, present

bp = Blueprint("roles", __name__)

LIMITS = {"name": 200, "instructions": 200_000}


def _role_fields(body: dict, *, partial: bool) -> dict[str, str]:
    only_fields(body, set(LIMITS))
    values = {}
    for name, limit in LIMITS.items():
        if name not in body:
            if not partial:
                raise InvalidRequest(f"`{name}` is required.")
            continue
        value = present(body, name, str, max_length=limit)
        if name == "name" and not value.strip():
            raise InvalidRequest("`name` must not be empty.")
        values[name] = value.strip() if name == "name" else value
    return values


@bp.get("/api/roles")
def list_roles() -> ResponseReturnValue:
    return {"roles": [role_view(r) for r in services().chat.roles()]}


@bp.post("/api/roles")
def create_role() -> ResponseReturnValue:
    values = _role_fields(json_body(), partial=False)
    record = services().chat.create_role(name=values["name"],
                                         instructions=values["instructions"])
    return role_view(record), 201


@bp.get("/api/roles/<role_id>")
def get_role(role_id: str) -> ResponseReturnValue:
    return role_view(services().chat.role(role_id))


@bp.put("/api/roles/<role_id>")
def update_role(role_id: str) -> ResponseReturnValue:
    chat = services().chat
    chat.role(role_id)
    return role_view(chat.update_role(role_id, _role_fields(json_body(), partial=True)))


@bp.delete("/api/roles/<role_id>")
def delete_role(role_id: str) -> ResponseReturnValue:
    services().chat.delete_role(role_id)
    return "", 204
