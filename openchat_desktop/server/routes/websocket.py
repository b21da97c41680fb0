"""The chat WebSocket, `/ws/chat/<session id>`: many turns on one connection (the protocol is
in `server.websocket`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from ...access.errors import KeyRefused
from ...errors import AppError, InvalidRequest
from ...store.errors import MessageNotFound, SessionNotFound
from .. import services
from ..access import spend_request
from ..security import check_again
from ..websocket import (
    GOING_AWAY,
    KEY_REFUSED,
    UNKNOWN_SESSION,
    Connection,
    UpgradeRequired,
    error_frame,
    open_sockets,
    parse_after,
    parse_frame,
)
from .chat import start_send

bp = Blueprint("websocket", __name__)


class Hijacked(Response):
    """What a WebSocket's request returns: the socket was the WebSocket's, and is closed, so
    werkzeug must write nothing more on it. A dropped connection is what tells it so."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise ConnectionAbortedError("the connection was a WebSocket")


@bp.get("/ws/chat/<session_id>")
def chat_socket_plain(session_id: str) -> ResponseReturnValue:
    """The same address asked without an upgrade (werkzeug routes WebSockets apart)."""
    raise UpgradeRequired(
        "This address is a WebSocket: open it with a WebSocket client (ws://…), not a plain "
        "request."
    )


@bp.route("/ws/chat/<session_id>", websocket=True)
def chat_socket(session_id: str) -> ResponseReturnValue:
    limit = services().settings.current.limits.max_request_bytes
    connection = Connection.accept(request.environ, limit)
    sockets = open_sockets(current_app)
    if not sockets.add(connection):
        connection.close(GOING_AWAY, "OpenChat is shutting down.")
        return Hijacked()
    try:
        try:
            services().chat.session(session_id)
        except SessionNotFound as exc:
            connection.close(UNKNOWN_SESSION, exc.message)
        else:
            serve(connection, session_id)
    finally:
        sockets.remove(connection)
    return Hijacked()


def serve(connection: Connection, session_id: str) -> None:
    """Answer the client's frames until it closes the connection. Each frame checks the key
    again (a revoked key closes the connection) and counts as a request against the caller's
    requests per minute, except a stop: a reply can always be stopped."""
    while (frame := connection.receive()) is not None:
        try:
            check_again()
        except KeyRefused as exc:
            connection.close(KEY_REFUSED, exc.message)
            return
        try:
            body = parse_frame(frame)
            if body != {"stop": True}:
                spend_request()
            act(connection, session_id, body)
        except AppError as exc:
            try:
                connection.send(error_frame(exc))
            except ConnectionError:
                return


def act(connection: Connection, session_id: str, body: dict[str, Any]) -> None:
    chat = services().chat
    if "message" in body:
        connection.check_free()
        generation = start_send(session_id, body)
        connection.follow(generation.message_id, generation.follow(0),
                          partial(chat.stop, generation.message_id))
    elif "stop" in body:
        if body != {"stop": True}:
            raise InvalidRequest("To stop the reply, send {\"stop\": true} and nothing else.")
        connection.stop()
    elif "after" in body:
        after, message_id = parse_after(body)
        reply = chat.message(message_id or latest_reply(session_id))
        if reply.session_id != session_id or reply.role != "assistant":
            raise MessageNotFound("That message is not a reply of this chat.")
        connection.check_free()
        connection.follow(reply.id, chat.attach(reply.id, after), partial(chat.stop, reply.id))
    else:
        raise InvalidRequest(
            "Send {\"message\": \"…\"} to chat, {\"stop\": true} to stop the reply, or "
            "{\"after\": <event id>} to re-attach to it."
        )


def latest_reply(session_id: str) -> str:
    """The chat's newest reply on its current branch."""
    chat = services().chat
    leaf = chat.session(session_id).leaf_id
    if leaf is None:
        raise MessageNotFound("This chat has no reply yet.")
    return leaf
