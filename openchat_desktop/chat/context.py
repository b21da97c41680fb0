"""What a model receives for a normal reply: one system message (the role's instructions,
a blank line, then the chat's own prompt; either left out when empty), then the branch, each
user message with its files' text before what was typed and its images beside it.
Plan Mode builds on this (see `planning.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..providers.base import ChatMessage
from ..store import AttachmentRecord, MessageRecord, RoleRecord, SessionRecord
from .attachments import message_content


def system_prompt(session: SessionRecord, role: RoleRecord | None) -> str:
    """The one system message's text; empty when the chat has neither role nor prompt."""
    parts = []
    if role is not None and role.instructions.strip():
        parts.append(role.instructions.strip())
    if session.system_prompt and session.system_prompt.strip():
        parts.append(session.system_prompt.strip())
    return "\n\n".join(parts)


def context(
    system: str,
    history: Sequence[MessageRecord],
    attached: Mapping[str, Sequence[AttachmentRecord]],
    images: Callable[[Sequence[AttachmentRecord]], tuple[bytes, ...]],
) -> list[ChatMessage]:
    """`attached`: the files of each user message, by message id; `images(files)`: the bytes
    of the images among them."""
    messages = [ChatMessage("system", system)] if system else []
    for record in history:
        files = attached.get(record.id, ())
        if record.role not in ("user", "assistant") or not (record.content.strip() or files):
            continue
        if files:
            messages.append(ChatMessage(
                record.role, message_content(record.content, files), images(files)
            ))
        else:
            messages.append(ChatMessage(record.role, record.content))
    return messages
