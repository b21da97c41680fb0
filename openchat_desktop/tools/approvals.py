"""Approval: which policy a tool's calls follow, and the questions replies wait on.

A call whose policy is `ask` waits here until the person answers through the API, the reply
is stopped, or the time limit passes (which counts as Deny). The question belongs to the reply
whose Stop would cancel it: an answer is taken only for the reply it names, so no page can
answer for another reply. "Always allow" writes the tool's policy to the settings before the
call goes on, so a failure to save is the answer's error, and the question stays open.

    AppError (openchat_desktop.errors)
    └── Conflict
        └── NoToolQuestion         409 no_tool_question: the reply is not waiting on that call
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from ..errors import Conflict
from ..providers.base import Cancel
from ..settings import SettingsStore
from .base import APPROVALS, Approval, ToolSpec

Verdict = Literal["allow", "deny", "timeout", "stopped"]


class NoToolQuestion(Conflict):
    code = "no_tool_question"


def policy_key(spec: ToolSpec) -> str:
    """How the settings name a tool: "<source>/<tool name>"."""
    return f"{spec.source}/{spec.name}"


@dataclass(slots=True)
class Question:
    owner: Cancel  # the reply's cancel: its Stop ends the wait
    spec: ToolSpec
    answered: threading.Event = field(default_factory=threading.Event)
    allowed: bool = False


class Approvals:
    """Safe to use from any thread."""

    def __init__(self, settings: SettingsStore) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._questions: dict[str, Question] = {}  # by call id (unique per reply and app)

    def policy(self, spec: ToolSpec) -> Approval:
        """The settings' policy for the tool, else its source's."""
        chosen = self._settings.current.tools.approval.get(policy_key(spec))
        return next((approval for approval in APPROVALS if approval == chosen), spec.approval)

    def ask(self, owner: Cancel, call_id: str, spec: ToolSpec, timeout: float) -> Verdict:
        """Wait for the person's answer to the call `call_id` (its event is already sent)."""
        question = Question(owner, spec)
        with self._lock:
            self._questions[call_id] = question
        forget = owner.on_cancel(question.answered.set)
        try:
            answered = question.answered.wait(timeout)
        finally:
            forget()
            with self._lock:
                self._questions.pop(call_id, None)
        if owner.cancelled:
            return "stopped"
        if not answered:
            return "timeout"
        return "allow" if question.allowed else "deny"

    def answer(self, owner: Cancel | None, call_id: str, *, approve: bool,
               always: bool = False) -> None:
        """The person's answer for the reply whose cancel is `owner` (None: the reply is not
        running). NoToolQuestion when that reply is not waiting on the call."""
        with self._lock:
            question = self._questions.get(call_id)
        if question is None or owner is None or question.owner is not owner:
            raise NoToolQuestion(
                "This reply is not waiting for an answer about that tool call: it was already "
                "answered, the time to answer ran out, or the reply ended."
            )
        if approve and always:
            key = policy_key(question.spec)
            approval = {**self._settings.current.tools.approval, key: "always"}
            self._settings.update({"tools": {"approval": approval}})
        question.allowed = approve
        question.answered.set()
