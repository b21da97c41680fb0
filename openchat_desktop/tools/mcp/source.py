"""An MCP server as a tool source: its tools as the model is offered them, run through its
connection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...providers.base import Cancel
from ..base import Tool, ToolContext, ToolOutcome, ToolSpec
from ..registry import SourceState
from .connection import RemoteTool, ServerConnection
from .errors import McpServerError

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 64  # the longest function name the model servers accept


def model_name(name: str) -> str:
    """A tool's name as models may spell it: letters, digits, "_" and "-", at most 64."""
    return _NOT_IN_NAMES.sub("_", name)[:MAX_NAME] or "tool"


class McpTool:
    """One of a server's tools; `spec.name` may differ from the server's own name."""

    def __init__(self, spec: ToolSpec, remote_name: str, connection: ServerConnection) -> None:
        self.spec = spec
        self.remote_name = remote_name
        self._connection = connection

    def run(self, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
        return self._connection.call(self.remote_name, arguments, cancel)


class McpSource:
    """A configured server. Asking for its tools starts it (once; a server that stopped starts
    again); a disabled server, or one that cannot start, offers none and says why in its
    state."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.id = connection.config.id

    def tools(self, context: ToolContext) -> list[Tool]:
        if not self.connection.config.enabled:
            return []
        self.connection.check_alive()
        try:
            listed = self.connection.start()
        except McpServerError:
            return []
        return [self._tool(remote) for remote in listed]

    def state(self) -> SourceState:
        """What the Settings panel shows: no server is started to say it."""
        connection = self.connection
        config = connection.config
        return SourceState(
            id=self.id,
            kind=config.transport,
            enabled=config.enabled,
            status=connection.status,
            message=connection.message,
            tools=tuple(self._tool(remote).spec for remote in connection.tools),
        )

    def _tool(self, remote: RemoteTool) -> McpTool:
        config = self.connection.config
        spec = ToolSpec(
            name=model_name(remote.name),
            description=remote.description,
            parameters=remote.parameters,
            source=self.id,
            approval=config.approval_of(remote.name),
            network=config.url is not None,
        )
        return McpTool(spec, remote.name, self.connection)
