"""What goes wrong with MCP servers, each a sentence for people:

    AppError (openchat_desktop.errors)
    ├── NotFound
    │   └── UnknownToolServer  404 unknown_tool_server: no MCP server has that id
    ├── McpServerError         502 mcp_server_failed: a server could not be started or reached
    │   └── ServerGone         502 mcp_server_gone: its process ended or its connection closed
    └── CallStopped            409 tool_call_stopped: Stop (or the app closing) ended a call

A tool call never raises them to the tool loop: it gets an error outcome with the sentence.
"""

from __future__ import annotations

from ...errors import AppError, NotFound


class UnknownToolServer(NotFound):
    code = "unknown_tool_server"
    status = 404


class McpServerError(AppError):
    code = "mcp_server_failed"
    status = 502


class ServerGone(McpServerError):
    code = "mcp_server_gone"
    status = 502


class CallStopped(AppError):
    code = "tool_call_stopped"
    status = 409
