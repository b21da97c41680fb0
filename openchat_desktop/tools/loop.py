"""The tool loop: a reply that may call tools, run on the server inside one generation.

Each round streams the model's answer as usual (text and thinking go out as they come) and
collects the tools it asks for. Each call is announced (`tool_call`), approved by its policy
(`always` runs, `never` is refused, `ask` waits for the person: `tool_approval`), run, and its
result announced (`tool_result`, see calls.py); then the results go back to the model and the
next round streams. Stop ends whichever step is running. The model is told about every refusal
and failure (an unknown tool, arguments that are not a JSON object, a denial, a tool's error)
so it can recover. A model that still asks for tools after `max_rounds` rounds gets no more:
its reply ends with `ROUND_LIMIT`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..engine import DataEvent, StreamEvent, StreamFactory
from ..providers.base import (
    Cancel,
    ChatMessage,
    ChatRequest,
    FallingBack,
    TextDelta,
    ToolCall,
    ToolDefinition,
)
from ..providers.router import ResolvedModel, Router
from .approvals import Approvals
from .base import Tool, ToolOutcome
from .calls import TOOL_APPROVAL, TOOL_CALL, TOOL_RESULT

ROUND_LIMIT = (
    "\n\n(The reply was ended here: the model kept asking for tools after {rounds} rounds, the "
    "limit set in Settings as [tools] max_rounds.)"
)
DENIED = "The person did not allow this tool call. Do not call it again; answer without it."
TIMED_OUT = ("Nobody answered whether this tool call may run, so it did not run. Answer "
             "without it.")
NEVER = "This tool is turned off in the settings, so the call did not run. Answer without it."


@dataclass(frozen=True, slots=True)
class LoopLimits:
    max_rounds: int
    approval_timeout: float  # seconds


def definitions(tools: Sequence[Tool]) -> tuple[ToolDefinition, ...]:
    return tuple(ToolDefinition(t.spec.name, t.spec.description, t.spec.parameters)
                 for t in tools)


def with_tools(
    router: Router,
    model: ResolvedModel,
    request: ChatRequest,
    tools: Sequence[Tool],
    approvals: Approvals,
    limits: LoopLimits,
) -> StreamFactory:
    """The generation's stream for a reply offered `tools` (none: the plain reply)."""
    if not tools:
        return lambda cancel: router.stream_chat(model, request, cancel)
    offered = definitions(tools)
    by_name = {tool.spec.name: tool for tool in tools}

    def stream(cancel: Cancel) -> Iterator[StreamEvent]:
        messages = list(request.messages)
        written = 0  # characters of the answer so far, where each call is placed
        asked = model
        for round_number in range(limits.max_rounds + 1):
            calls: list[ToolCall] = []
            said: list[str] = []
            answering = asked.id
            asking = replace(request, messages=tuple(messages), tools=offered)
            for event in router.stream_chat(asked, asking, cancel):
                if isinstance(event, FallingBack):
                    answering = event.next
                if isinstance(event, ToolCall):
                    calls.append(event)
                    continue
                if isinstance(event, TextDelta) and event.text:
                    if not said and written:
                        yield TextDelta("\n\n")  # the answer goes on after the results
                        written += 2
                    said.append(event.text)
                    written += len(event.text)
                yield event
            if cancel.cancelled or not calls:
                return
            if round_number == limits.max_rounds:
                yield TextDelta(ROUND_LIMIT.format(rounds=limits.max_rounds))
                return
            # Later rounds go on with the model that answered this one, and without fallbacks:
            # the reply has begun.
            asked = asked.answered_by(answering)
            messages.append(ChatMessage("assistant", "".join(said), tool_calls=tuple(calls)))
            for call in calls:
                outcome = yield from run_call(call, written, by_name, approvals, limits, cancel)
                if outcome is None:  # stopped
                    return
                messages.append(ChatMessage("tool", outcome.content, tool_call_id=call.id,
                                            tool_name=call.name))

    return stream


def run_call(
    call: ToolCall,
    at: int,
    tools: Mapping[str, Tool],
    approvals: Approvals,
    limits: LoopLimits,
    cancel: Cancel,
) -> Generator[StreamEvent, None, ToolOutcome | None]:
    """Announce, approve and run one call; returns its outcome (None when stopped). The call
    gets an id of the app's own: models reuse theirs (Ollama numbers each round's from 0)."""
    call_id = f"call_{uuid.uuid4().hex[:16]}"
    arguments, problem = parse_arguments(call.arguments)
    shown = arguments if problem is None else call.arguments
    yield DataEvent(TOOL_CALL, {"id": call_id, "name": call.name, "arguments": shown, "at": at})
    status = "error"
    started = time.monotonic()
    tool = tools.get(call.name)
    if tool is None:
        outcome = ToolOutcome(
            f"There is no tool named “{call.name}”. The tools available are: "
            f"{', '.join(tools)}.", is_error=True)
    elif problem is not None:
        outcome = ToolOutcome(problem, is_error=True)
    else:
        policy = approvals.policy(tool.spec)
        verdict = "allow" if policy == "always" else "deny" if policy == "never" else None
        if verdict is None:
            deadline = datetime.now(UTC) + timedelta(seconds=limits.approval_timeout)
            yield DataEvent(TOOL_APPROVAL, {
                "id": call_id, "name": call.name, "arguments": shown,
                "deadline": deadline.isoformat(timespec="seconds").replace("+00:00", "Z"),
            })
            verdict = approvals.ask(cancel, call_id, tool.spec, limits.approval_timeout)
            if verdict == "stopped":
                return None
            started = time.monotonic()
        if verdict == "allow":
            outcome = run_tool(tool, arguments, cancel)
            if cancel.cancelled:
                return None
            status = "error" if outcome.is_error else "done"
        else:
            status = "denied"
            reason = NEVER if policy == "never" else TIMED_OUT if verdict == "timeout" else DENIED
            outcome = ToolOutcome(reason, is_error=True)
    yield DataEvent(TOOL_RESULT, {
        "id": call_id, "content": outcome.content, "is_error": outcome.is_error,
        "ms": round((time.monotonic() - started) * 1000, 1), "status": status,
    })
    return outcome


def run_tool(tool: Tool, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
    """A tool's outcome; one that breaks its contract by raising still gives a sentence."""
    try:
        return tool.run(arguments, cancel)
    except Exception as exc:
        return ToolOutcome(f"The tool {tool.spec.name} failed ({type(exc).__name__}).",
                           is_error=True)


def parse_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """(the arguments, None), or ({}, a sentence for the model) when they are not a JSON
    object."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}, ("The arguments are not valid JSON. Call the tool again with its arguments "
                    "as one JSON object.")
    if not isinstance(value, dict):
        return {}, "The arguments must be one JSON object, with a field per parameter."
    return value, None
