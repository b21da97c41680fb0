"""One `[[mcp_servers]]` entry as the app runs it. Plain values only: reading the settings must
not load the MCP SDK."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ...providers.redaction import is_secret_header
from ..base import Approval

DEFAULT_CALL_TIMEOUT = 120.0  # seconds a tool call may take unless the entry says otherwise


@dataclass(frozen=True, repr=False)
class McpServerConfig:
    """How to reach a server (a command run on this machine, or a streamable HTTP address)
    and the approval policy of its tools. Exactly one of `command` and `url` is set."""

    id: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    enabled: bool = True
    approval: Approval = "ask"
    tools: Mapping[str, Approval] = field(default_factory=dict)  # per-tool overrides
    timeout: float = DEFAULT_CALL_TIMEOUT

    @property
    def transport(self) -> str:
        """"stdio" for a command, "http" for an address."""
        return "stdio" if self.command is not None else "http"

    def approval_of(self, tool_name: str) -> Approval:
        """The policy for one of the server's tools: its override, else the server's."""
        return self.tools.get(tool_name, self.approval)

    def connection(self) -> tuple[object, ...]:
        """What a running connection depends on: a change here restarts the server, a change
        of approval or `enabled` does not."""
        return (self.command, self.args, self.env, self.url, self.headers)

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: secret-looking env and header values stay out.
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("env", "headers"):
                value = tuple((k, "…" if is_secret_header(k) else v) for k, v in value)
            parts.append(f"{item.name}={value!r}")
        return f"McpServerConfig({', '.join(parts)})"
