"""Streamed chat: send, follow (re-attach), stop, regenerate, and branch switching."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, request

from ...chat import session_view
from ...errors import InvalidRequest
from .. import services
from ..validation import field, int_arg, json_body, only_fields

bp = Blueprint("chat", __name__)


def event_stream(chunks: Iterator[bytes]) -> Response:
    return Response(
        chunks,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@bp.post("/api/sessions/<session_id>/chat/stream")
def chat_stream(session_id: str):
    chat = services().chat
    body = json_body()
    only_fields(
        body,
        {"message", "model", "think", "parent_id", "plan", "attachments",
         "ignore_vision_warning"},
    )
    if "message" not in body:
        raise InvalidRequest("`message` is required: the text to send.")
    generation = chat.send(
        session_id,
        body["message"],
        model=field(body, "model", str, max_length=500),
        parent_id=field(body, "parent_id", str),
        parent_given="parent_id" in body,
        think=body.get("think"),
        think_given="think" in body,
        plan=body.get("plan"),
        plan_given="plan" in body,
        attachment_ids=attachment_ids(body),
        ignore_vision_warning=bool(field(body, "ignore_vision_warning", bool)),
    )
    return event_stream(generation.follow(0))


def attachment_ids(body: dict) -> list[str]:
    ids = field(body, "attachments", list) or []
    if not all(isinstance(i, str) and 0 < len(i) <= 100 for i in ids):
        raise InvalidRequest("`attachments` must be a list of attachment ids.")
    if len(set(ids)) != len(ids):
        raise InvalidRequest("`attachments` lists the same file twice.")
    return ids


@bp.get("/api/messages/<message_id>")
def get_message(message_id: str):
    chat = services().chat
    return chat.message_view(chat.message(message_id))


@bp.get("/api/messages/<message_id>/events")
def message_events(message_id: str):
    after = int_arg("after", high=10**9)
    if after is None:
        last = request.headers.get("Last-Event-ID", "").strip()
        after = int(last) if last.isdigit() else 0
    return event_stream(services().chat.attach(message_id, after))


@bp.post("/api/messages/<message_id>/stop")
def stop_message(message_id: str):
    return {"message": services().chat.stop(message_id)}


@bp.post("/api/messages/<message_id>/regenerate")
def regenerate(message_id: str):
    body = json_body(required=False)
    only_fields(body, {"model"})
    generation = services().chat.regenerate(
        message_id, model=field(body, "model", str, max_length=500)
    )
    return event_stream(generation.follow(0))


@bp.get("/api/messages/<message_id>/siblings")
def siblings(message_id: str):
    return {"messages": services().chat.siblings(message_id)}


@bp.post("/api/messages/<message_id>/select")
def select_branch(message_id: str):
    chat = services().chat
    session = chat.select(message_id)
    messages, has_more = chat.messages(session.id, limit=int_arg("limit", low=1, high=10_000))
    return {"session": session_view(session), "messages": messages, "has_more": has_more}
