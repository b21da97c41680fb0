"""Continuing a reply cut short: which replies can be, and what the model is sent.

A reply that ended by its length limit (`usage.finish_reason` "length"), by Stop, by an error
or by a crash is continued into the same message: its text stays as it is and the new text
is appended. Where the provider's server continues a final assistant message
(`providers.kinds.continues_prefill`), the partial reply is sent as that message; elsewhere
it is sent as an earlier turn, followed by an instruction to go on.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..providers.base import ChatMessage
from ..store import MessageRecord
from .errors import ReplyNotContinuable

CONTINUE_INSTRUCTION = "Continue exactly where you left off, without repeating anything."
CUT_SHORT = frozenset({"stopped", "error", "interrupted"})
LENGTH = "length"  # the finish reason of a reply that reached its token limit


def check_continuable(reply: MessageRecord) -> str:
    """Refuse, with a sentence, a message that is not a reply cut short; else the id of the
    message it answers."""
    if reply.role != "assistant" or reply.parent_id is None:
        raise InvalidRequest("Only a reply can be continued.")
    answered = reply.parent_id
    if reply.status == "streaming":
        raise ReplyNotContinuable(
            "This reply is still being written. Wait for it to end, or stop it, then continue "
            "it."
        )
    if reply.status not in CUT_SHORT and (reply.usage or {}).get("finish_reason") != LENGTH:
        raise ReplyNotContinuable(
            "This reply is complete: the model ended it itself. Regenerate it for another "
            "answer, or send a message to go on."
        )
    return answered


def continuation(
    context: list[ChatMessage], partial: str, *, prefill: bool
) -> list[ChatMessage]:
    """What the model is sent to continue `partial`, the reply so far, after `context` (the
    branch up to the message it answers). A reply with no text yet is asked for afresh."""
    if not partial:
        return context
    messages = [*context, ChatMessage("assistant", partial)]
    if not prefill:
        messages.append(ChatMessage("user", CONTINUE_INSTRUCTION))
    return messages
