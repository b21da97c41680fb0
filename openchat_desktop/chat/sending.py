"""A message to send, as the client asked for it: one request object; and a reply ready to
start, every check done and nothing written yet.

Some fields of a request may be left out, which is not the same as null: `UNSET` stands for
"not given", and the chat's own setting applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..engine import StreamFactory
from ..providers.router import ResolvedModel
from .planning import PlanModels, ResolvedPlan


class Unset(Enum):
    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class SendRequest:
    """`parent_id`: the message the new one answers (an edit; null: a new first message);
    UNSET continues the branch on screen. `think`: this reply's Think setting; UNSET: the
    chat's. `plan`: Plan Mode for this reply (null: none); UNSET: the chat's `plan_mode`.
    `options`: this reply's model options, checked, over the chat's (see chat/options.py).
    Shapes are checked when the request is built; rules that need the chat (the model
    exists, the parent is in this chat, the text fits the limit) when it is sent."""

    session_id: str
    text: str
    model: str | None = None
    parent_id: str | None | Unset = UNSET
    think: bool | str | None | Unset = UNSET
    plan: PlanModels | None | Unset = UNSET
    attachment_ids: tuple[str, ...] = ()
    ignore_vision_warning: bool = False
    options: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PreparedReply:
    """A send or regenerate that passed every check that can refuse it, with nothing written
    yet: the rows to write (`Store.start_reply`'s arguments) and the stream that will produce
    the reply. Building one may read the database, the files and the model's facts; only
    starting it writes."""

    session_id: str
    parent_id: str | None
    user_content: str | None  # None: a regenerate, answering `parent_id` again
    attachment_ids: tuple[str, ...]
    session_changes: dict[str, str]
    answering: ResolvedModel  # the model that writes the answer (Plan Mode: the executor)
    plan: ResolvedPlan | None
    stream: StreamFactory
    meta: dict[str, Any] = field(default_factory=dict)  # the reply's facts known before it starts
