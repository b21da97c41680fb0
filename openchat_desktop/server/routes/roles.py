"""Roles: reusable system prompts; a session's `role_id` selects at most one."""

from __future__ import annotations

from flask import Blueprint

from ...chat import role_view
from ...errors import Conflict, InvalidRequest, NotFound
from ...store import RoleNameTaken
from .. import services
from ..validation import field, json_body, only_fields

bp = Blueprint("roles", __name__)


def _role_fields(body: dict, *, partial: bool) -> dict:
    only_fields(body, {"name", "instructions"})
    values = {}
    for name, limit in (("name", 200), ("instructions", 200_000)):
        if name not in body:
            if not partial:
                raise InvalidRequest(f"`{name}` is required.")
            continue
        value = field(body, name, str, nullable=False, max_length=limit)
        if name == "name" and not value.strip():
            raise InvalidRequest("`name` must not be empty.")
        values[name] = value.strip() if name == "name" else value
    return values


def _taken(name: str) -> Conflict:
    return Conflict(f"A role named “{name}” already exists. Pick another name.",
                    code="role_name_taken")


@bp.get("/api/roles")
def list_roles():
    return {"roles": [role_view(r) for r in services().chat.store.list_roles()]}


@bp.post("/api/roles")
def create_role():
    values = _role_fields(json_body(), partial=False)
    try:
        record = services().chat.store.create_role(**values)
    except RoleNameTaken:
        raise _taken(values["name"]) from None
    return role_view(record), 201


def _role(role_id: str):
    record = services().chat.store.get_role(role_id)
    if record is None:
        raise NotFound("That role does not exist.", code="role_not_found")
    return record


@bp.get("/api/roles/<role_id>")
def get_role(role_id: str):
    return role_view(_role(role_id))


@bp.put("/api/roles/<role_id>")
def update_role(role_id: str):
    _role(role_id)
    values = _role_fields(json_body(), partial=True)
    try:
        record = services().chat.store.update_role(role_id, **values)
    except RoleNameTaken:
        raise _taken(values.get("name", "")) from None
    return role_view(record or _role(role_id))


@bp.delete("/api/roles/<role_id>")
def delete_role(role_id: str):
    _role(role_id)
    services().chat.store.delete_role(role_id)
    return "", 204
