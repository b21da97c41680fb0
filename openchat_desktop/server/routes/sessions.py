"""Sessions (chats) and their messages."""

from __future__ import annotations

from flask import Blueprint, request

from ...capabilities import check_think
from ...chat import DEFAULT_TITLE, session_view
from ...errors import InvalidRequest
from ...planning import check_plan
from .. import services
from ..validation import field, int_arg, json_body, only_fields

bp = Blueprint("sessions", __name__)

EDITABLE = {
    "title", "model", "role_id", "system_prompt", "pinned", "draft", "plan_mode", "think",
}
TEXT_LIMIT = 200_000


def _session_fields(body: dict) -> dict:
    values: dict = {}
    if "title" in body:
        title = field(body, "title", str, nullable=False, max_length=500)
        if not title.strip():
            raise InvalidRequest("`title` must not be empty.")
        values["title"] = title.strip()
    if "model" in body:
        model = field(body, "model", str, max_length=500)
        if model is not None:
            services().router().resolve(model)
        values["model"] = model
    if "role_id" in body:
        role_id = field(body, "role_id", str)
        services().chat.check_role(role_id)
        values["role_id"] = role_id
    if "system_prompt" in body:
        values["system_prompt"] = field(body, "system_prompt", str, max_length=TEXT_LIMIT)
    if "pinned" in body:
        values["pinned"] = field(body, "pinned", bool, nullable=False)
    if "plan_mode" in body:
        models = check_plan(body["plan_mode"], services().router(), name="plan_mode")
        values["plan_mode"] = models.to_json() if models else None
    if "draft" in body:
        values["draft"] = field(body, "draft", str, nullable=False, max_length=TEXT_LIMIT * 5)
    if "think" in body:
        values["think"] = check_think(body["think"])
    return values


@bp.get("/api/sessions")
def list_sessions():
    q = request.args.get("q") or None
    limit = int_arg("limit", low=1, high=10_000)
    records = services().chat.store.list_sessions(q=q, limit=limit)
    return {"sessions": [session_view(r) for r in records]}


@bp.post("/api/sessions")
def create_session():
    body = json_body(required=False)
    only_fields(body, EDITABLE - {"draft", "pinned", "think"})
    values = _session_fields(body)
    values.setdefault("title", DEFAULT_TITLE)
    record = services().chat.store.create_session(**values)
    return session_view(record), 201


@bp.get("/api/sessions/<session_id>")
def get_session(session_id: str):
    return session_view(services().chat.session(session_id))


@bp.patch("/api/sessions/<session_id>")
def patch_session(session_id: str):
    chat = services().chat
    chat.session(session_id)
    body = json_body()
    only_fields(body, EDITABLE)
    record = chat.store.update_session(session_id, **_session_fields(body))
    return session_view(record or chat.session(session_id))


@bp.delete("/api/sessions/<session_id>")
def delete_session(session_id: str):
    chat = services().chat
    chat.session(session_id)
    for generation in chat.engine.running():
        if generation.session_id == session_id:
            chat.engine.stop(generation.message_id)
    chat.attachments.delete_session(session_id)  # with the files no other chat uses
    return "", 204


@bp.get("/api/sessions/<session_id>/messages")
def list_messages(session_id: str):
    limit = int_arg("limit", low=1, high=10_000)
    before = request.args.get("before") or None
    messages, has_more = services().chat.messages(session_id, limit=limit, before=before)
    return {"messages": messages, "has_more": has_more}
