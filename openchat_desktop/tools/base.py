"""The tool contract: what a tool is, what running it gives, and where tools come from.

A tool's source (the app's built-in tools, an MCP server) describes each tool with a `ToolSpec`
and runs it; the tool loop (tools/loop.py) asks the sources for the chat's tools, offers them to
the model, enforces approval and runs the calls. Approval is decided here, on the server: the
page only shows the question and sends the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..providers.base import Cancel

Approval = Literal["ask", "always", "never"]
APPROVALS: tuple[Approval, ...] = ("ask", "always", "never")
BUILTIN = "builtin"  # the source id of the app's own tools


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model is offered it. `name` is unique among a chat's tools (sources
    prefix theirs when needed); `source` is the id of where it comes from (BUILTIN or an MCP
    server's id); `approval` the policy in force for it; `network` says it reaches beyond
    this machine (such tools are off unless the person turns them on)."""

    name: str
    description: str
    parameters: Mapping[str, Any]  # a JSON Schema object
    source: str
    approval: Approval = "ask"
    network: bool = False


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a call gave: text for the model, and whether it is an error (which the model is
    told, so it can recover)."""

    content: str
    is_error: bool = False


class Tool(Protocol):
    spec: ToolSpec

    def run(self, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
        """Run the call; `cancel` fires on Stop (a source closes what it waits on). Failures
        come back as an error outcome with a sentence, never as an exception."""
        ...


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a chat's tools may know of it: built-in tools search the chats and read the files
    attached to this one."""

    session_id: str
    attachment_ids: Sequence[str] = field(default_factory=tuple)


class ToolSource(Protocol):
    """Where a set of tools comes from."""

    id: str

    def tools(self, context: ToolContext) -> list[Tool]:
        """The tools on offer now; a source that cannot list them (a server down) returns none
        and reports why through its own status."""
        ...
