"""Conversations other programs send whole, kept as chats: their messages become rows, and the
reply goes through the engine like any other, saved as it streams.

Such a client sends the whole conversation with every call. A recorded reply is remembered
by the fingerprint of the conversation up to and including it, so a call that repeats that
conversation and adds to it continues the same chat, under that reply; any other call starts
a chat of its own with all its messages (its system messages as the chat's system prompt).

The messages table has no tool rows: a tool's result is kept as a user message that says
which tool it came from, so the chat still reads in order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Generation, StreamFactory
from ..providers.base import ChatMessage
from ..providers.router import ResolvedModel
from ..store import Store
from .options import Options
from .sending import PreparedReply

ANSWERED_ROLES = ("user", "tool")  # a reply is recorded only when it answers one of these


def fingerprint(messages: Sequence[ChatMessage]) -> str:
    """What identifies a conversation: its messages' roles, texts, images and tool calls."""
    shape = [
        [message.role, message.content,
         [[call.id, call.name, call.arguments] for call in message.tool_calls],
         message.tool_call_id, [hashlib.sha256(image).hexdigest() for image in message.images]]
        for message in messages
    ]
    text = json.dumps(shape, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def recordable(messages: Sequence[ChatMessage]) -> bool:
    """Whether a reply to these messages can be kept: it must answer a user or a tool."""
    return bool(messages) and messages[-1].role in ANSWERED_ROLES


def row_text(message: ChatMessage) -> str:
    if message.role == "tool":
        return f"Result of {message.tool_name or 'a tool'}:\n{message.content}"
    return message.content


class RecordedCalls:
    """Starts recorded replies. `start_reply` starts a prepared reply (ChatService's one
    place for it); `title` makes a chat's title from its first message."""

    def __init__(self, store: Store, start_reply: Callable[[PreparedReply], Generation],
                 title: Callable[[str], str]) -> None:
        self._store = store
        self._start_reply = start_reply
        self._title = title

    def start(self, messages: Sequence[ChatMessage], model: ResolvedModel,
              stream: StreamFactory, options: Options) -> Generation:
        """Write the messages the chat does not have yet, then start the reply to the last
        one with `stream`. The caller checked `recordable(messages)`."""
        session_id, parent_id, new = self._place(messages, model)
        for message in new[:-1]:
            row = self._store.add_message(
                session_id=session_id, parent_id=parent_id,
                role="assistant" if message.role == "assistant" else "user",
                content=row_text(message),
                model=model.id if message.role == "assistant" else None,
            )
            parent_id = row.id
        meta: dict[str, Any] = {"options": dict(options)} if options else {}
        return self._start_reply(PreparedReply(
            session_id=session_id, parent_id=parent_id, user_content=row_text(new[-1]),
            attachment_ids=(), session_changes={"model": model.id}, answering=model,
            plan=None, stream=stream, meta=meta,
        ))

    def remember(self, messages: Sequence[ChatMessage], answer: ChatMessage,
                 generation: Generation) -> None:
        """The conversation now ends at this reply: the next call that repeats it continues
        here."""
        self._store.save_thread(fingerprint([*messages, answer]),
                                session_id=generation.session_id,
                                message_id=generation.message_id)

    def _place(self, messages: Sequence[ChatMessage], model: ResolvedModel
               ) -> tuple[str, str | None, list[ChatMessage]]:
        """(chat id, parent id, the messages to write): under the reply that ends the
        conversation so far if it was recorded, else in a new chat."""
        last_reply = max((i for i, m in enumerate(messages) if m.role == "assistant"),
                         default=None)
        if last_reply is not None:
            found = self._store.find_thread(fingerprint(messages[:last_reply + 1]))
            if found is not None:
                later = [m for m in messages[last_reply + 1:] if m.role != "system"]
                return found[0], found[1], later
        system = "\n\n".join(m.content for m in messages if m.role == "system") or None
        first = next((m.content for m in messages if m.role == "user"), "")
        session = self._store.create_session(title=self._title(first), model=model.id,
                                             system_prompt=system)
        return session.id, None, [m for m in messages if m.role != "system"]
