"""Streamed chat: send, follow (re-attach), stop, regenerate, continue, and branch switching."""

from __future__ import annotations

import re

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from ...chat import UNSET, SendRequest
from ...chat.capabilities import check_think
from ...chat.options import check_options
from ...chat.planning import parse_plan
from ...chat.views import session_view
from ...engine import Generation
from ...errors import InvalidRequest
from .. import services
from ..access import check_tokens, meter
from ..streaming import event_stream
from ..validation import field, int_arg, json_body, only_fields, present

bp = Blueprint("chat", __name__)

REPLY_WAIT = 60.0  # seconds between looks at a reply being waited for; it ends when it ends

SEND_FIELDS = {"message", "model", "think", "parent_id", "plan", "attachments",
               "ignore_vision_warning", "options"}


def send_request(session_id: str, body: dict) -> SendRequest:
    """The body of a send, shapes checked; a field left out stays UNSET where that differs
    from null (see `SendRequest`)."""
    only_fields(body, SEND_FIELDS)
    if "message" not in body:
        raise InvalidRequest("`message` is required: the text to send.")
    text = body["message"]
    if not isinstance(text, str):
        raise InvalidRequest("`message` must be a string of text.")
    return SendRequest(
        session_id=session_id,
        text=text,
        model=field(body, "model", str, max_length=500),
        parent_id=field(body, "parent_id", str) if "parent_id" in body else UNSET,
        think=check_think(body["think"]) if "think" in body else UNSET,
        plan=parse_plan(body["plan"]) if "plan" in body else UNSET,
        attachment_ids=attachment_ids(body),
        ignore_vision_warning=bool(field(body, "ignore_vision_warning", bool)),
        options=reply_options(body),
    )


def reply_options(body: dict) -> dict | None:
    """This reply's options: null or left out, the chat's."""
    return None if body.get("options") is None else check_options(body["options"])


def attachment_ids(body: dict) -> tuple[str, ...]:
    ids = field(body, "attachments", list) or []
    if not all(isinstance(i, str) and 0 < len(i) <= 100 for i in ids):
        raise InvalidRequest("`attachments` must be a list of attachment ids.")
    if len(set(ids)) != len(ids):
        raise InvalidRequest("`attachments` lists the same file twice.")
    return tuple(ids)


def start_send(session_id: str, body: dict) -> Generation:
    """Send `body` to the chat and start the reply: the stream, the JSON call and the
    WebSocket all start theirs here, within the caller's tokens per minute."""
    check_tokens()
    generation = services().chat.send(send_request(session_id, body))
    meter(generation)
    return generation


@bp.post("/api/sessions/<session_id>/chat/stream")
def chat_stream(session_id: str) -> ResponseReturnValue:
    return event_stream(start_send(session_id, json_body()).relay())


@bp.post("/api/sessions/<session_id>/chat")
def chat_json(session_id: str) -> ResponseReturnValue:
    """The reply as one JSON answer once it ends. Like the stream's, it goes on when the
    client leaves, and a tool call waiting for approval waits here too. A reply that fails
    after it started answers with its error's status, the error, and the partial reply as
    saved: nothing the model wrote is lost."""
    generation = start_send(session_id, json_body())
    while not generation.wait_finished(REPLY_WAIT):
        continue  # a reply ends by itself, by Stop, or at shutdown
    message = generation.final_message
    error = generation.error
    if error is None:
        return {"message": message}
    return {"error": {**error.public(), "message_id": generation.message_id},
            "message": message}, error.status


@bp.get("/api/messages/<message_id>")
def get_message(message_id: str) -> ResponseReturnValue:
    chat = services().chat
    return chat.message_view(chat.message(message_id))


@bp.get("/api/messages/<message_id>/events")
def message_events(message_id: str) -> ResponseReturnValue:
    after = int_arg("after", high=10**9)
    if after is None:
        # Browsers send back the last `id:` they saw; anything else replays from the start.
        # ("²".isdigit() is true, and int() of thousands of digits raises, hence the pattern.)
        last = request.headers.get("Last-Event-ID", "").strip()
        after = int(last) if re.fullmatch(r"[0-9]{1,10}", last) else 0
    return event_stream(services().chat.attach(message_id, after))


@bp.post("/api/messages/<message_id>/stop")
def stop_message(message_id: str) -> ResponseReturnValue:
    return {"message": services().chat.stop(message_id)}


@bp.post("/api/messages/<message_id>/regenerate")
def regenerate(message_id: str) -> ResponseReturnValue:
    body = json_body(required=False)
    only_fields(body, {"model", "options"})
    check_tokens()
    generation = services().chat.regenerate(
        message_id,
        model=field(body, "model", str, max_length=500),
        options=reply_options(body),
    )
    meter(generation)
    return event_stream(generation.relay())


@bp.post("/api/messages/<message_id>/continue")
def continue_message(message_id: str) -> ResponseReturnValue:
    only_fields(json_body(required=False), set())
    check_tokens()
    generation = services().chat.continue_reply(message_id)
    meter(generation)
    return event_stream(generation.relay())


@bp.post("/api/messages/<message_id>/tool-calls/<call_id>")
def answer_tool_call(message_id: str, call_id: str) -> ResponseReturnValue:
    body = json_body()
    only_fields(body, {"approve", "always"})
    services().chat.answer_tool_call(
        message_id, call_id, approve=present(body, "approve", bool),
        always=field(body, "always", bool) or False,
    )
    return {"ok": True}


@bp.get("/api/messages/<message_id>/siblings")
def siblings(message_id: str) -> ResponseReturnValue:
    return {"messages": services().chat.siblings(message_id)}


@bp.post("/api/messages/<message_id>/select")
def select_branch(message_id: str) -> ResponseReturnValue:
    chat = services().chat
    session = chat.select(message_id)
    messages, has_more = chat.messages(session.id, limit=int_arg("limit", low=1, high=10_000))
    return {"session": session_view(session), "messages": messages, "has_more": has_more}
