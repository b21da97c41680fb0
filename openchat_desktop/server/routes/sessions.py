"""Sessions (chats) and their messages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from ...chat.capabilities import check_think
from ...chat.options import chat_options, check_options
from ...chat.planning import parse_plan
from ...chat.views import session_view
from ...chat.window import parse_policy
from ...errors import InvalidRequest
from ...store import SessionRecord
from .. import services
from ..validation import field, int_arg, json_body, only_fields, present

bp = Blueprint("sessions", __name__)

EDITABLE = {
    "title", "model", "role_id", "system_prompt", "pinned", "draft", "plan_mode", "think",
    "options", "context_policy", "tool_servers", "fallbacks",
}
TEXT_LIMIT = 200_000


def _session_fields(body: dict, stored_options: dict | None = None) -> dict[str, Any]:
    """The chat's fields in `body`, checked in this order (the first problem is reported).
    `options` change the chat's `stored_options` key by key (see `chat_options`)."""
    chat = services().chat
    values: dict[str, Any] = {}
    if "title" in body:
        title = present(body, "title", str, max_length=500)
        if not title.strip():
            raise InvalidRequest("`title` must not be empty.")
        values["title"] = title.strip()
    if "model" in body:
        model = field(body, "model", str, max_length=500)
        if model is not None:
            chat.check_model(model)
        values["model"] = model
    if "role_id" in body:
        role_id = field(body, "role_id", str)
        chat.check_role(role_id)
        values["role_id"] = role_id
    if "system_prompt" in body:
        values["system_prompt"] = field(body, "system_prompt", str, max_length=TEXT_LIMIT)
    if "pinned" in body:
        values["pinned"] = present(body, "pinned", bool)
    if "plan_mode" in body:
        models = parse_plan(body["plan_mode"], name="plan_mode")
        if models is not None:
            chat.check_plan(models, name="plan_mode")
        values["plan_mode"] = models.to_json() if models else None
    if "draft" in body:
        values["draft"] = present(body, "draft", str, max_length=TEXT_LIMIT * 5)
    if "think" in body:
        values["think"] = check_think(body["think"])
    if "options" in body:
        change = None if body["options"] is None else check_options(body["options"])
        values["options"] = chat_options(stored_options, change)
    if "context_policy" in body:
        policy = parse_policy(body["context_policy"])
        if policy is not None and policy.model is not None:
            chat.check_model(policy.model)
        values["context_policy"] = policy.to_json() if policy else None
    if "tool_servers" in body:
        values["tool_servers"] = _tool_servers(body["tool_servers"])
    if "fallbacks" in body:
        values["fallbacks"] = chat.check_fallbacks(body["fallbacks"])
    return values


def _tool_servers(value: Any) -> list[str] | None:
    """The tool sources a chat uses: known ids ("builtin" for the app's own), or null for
    every enabled one."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest("`tool_servers` must be a list of tool server ids, or null.")
    known = services().tool_sources.by_id()
    unknown = [item for item in value if item not in known]
    if unknown:
        raise InvalidRequest(
            f"`tool_servers` names {', '.join(repr(i) for i in unknown[:3])}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not a tool server; see GET /api/tools."
        )
    return list(dict.fromkeys(value))


def shown(record: SessionRecord) -> dict[str, Any]:
    """A chat in the list: with `title_pending` while its model writes its title, so the
    list is asked for again until the title is there."""
    return {**session_view(record), "title_pending": services().chat.title_pending(record.id)}


@bp.get("/api/sessions")
def list_sessions() -> ResponseReturnValue:
    records = services().chat.sessions(
        q=request.args.get("q") or None, limit=int_arg("limit", low=1, high=10_000)
    )
    return {"sessions": [shown(r) for r in records]}


@bp.post("/api/sessions")
def create_session() -> ResponseReturnValue:
    body = json_body(required=False)
    only_fields(body, EDITABLE - {"draft", "pinned", "think", "context_policy", "tool_servers",
                                  "fallbacks"})
    return session_view(services().chat.create_session(_session_fields(body))), 201


@bp.get("/api/sessions/<session_id>")
def get_session(session_id: str) -> ResponseReturnValue:
    return session_view(services().chat.session(session_id))


@bp.patch("/api/sessions/<session_id>")
def patch_session(session_id: str) -> ResponseReturnValue:
    chat = services().chat
    session = chat.session(session_id)
    body = json_body()
    only_fields(body, EDITABLE)
    changes = _session_fields(body, session.options)
    if "title" in changes:
        changes["title_by_person"] = True  # a model's title never replaces the person's
    return session_view(chat.update_session(session_id, changes))


@bp.delete("/api/sessions/<session_id>")
def delete_session(session_id: str) -> ResponseReturnValue:
    services().chat.delete_session(session_id)
    return "", 204


@bp.get("/api/sessions/<session_id>/messages")
def list_messages(session_id: str) -> ResponseReturnValue:
    limit = int_arg("limit", low=1, high=10_000)
    before = request.args.get("before") or None
    messages, has_more = services().chat.messages(session_id, limit=limit, before=before)
    return {"messages": messages, "has_more": has_more}


@bp.get("/api/sessions/<session_id>/context")
def context_meter(session_id: str) -> ResponseReturnValue:
    """The composer's meter: the window and what the branch plus the text being typed
    (`chars` characters) would take of it."""
    return services().chat.context_meter(
        session_id,
        chars=int_arg("chars", high=10**9) or 0,
        model=request.args.get("model") or None,
    )


@bp.get("/api/sessions/<session_id>/summaries/<message_id>")
def get_summary(session_id: str, message_id: str) -> ResponseReturnValue:
    return services().chat.summary(session_id, message_id)
