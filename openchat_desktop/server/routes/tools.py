"""The tools chats may use: every source's state for the Settings panel, and a trial run of an
MCP server entry before it is saved (the panel's "Test")."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.views import tool_source_view, tool_view
from ...errors import InvalidRequest
from ...settings import SettingsError, mcp_server_from_entry
from ...tools.mcp import McpServerError
from .. import services
from ..validation import json_body

bp = Blueprint("tools", __name__)


@bp.get("/api/tools")
def list_tools() -> ResponseReturnValue:
    """Reports only: no server is started to answer."""
    return {"sources": [tool_source_view(state) for state in services().tool_sources.states()]}


@bp.post("/api/tools/servers/<server_id>/start")
def start_server(server_id: str) -> ResponseReturnValue:
    """Start a configured server now (the panel's "Start"; one that failed is tried again) to
    see its tools; a failure is in the state's message."""
    source = services().mcp_servers.source(server_id)
    try:
        source.connection.start()
    except McpServerError:
        pass  # the state says why
    return tool_source_view(source.state())


@bp.post("/api/tools/servers/test")
def test_server() -> ResponseReturnValue:
    try:
        config = mcp_server_from_entry(json_body(), services().settings.current)
    except SettingsError as exc:
        raise InvalidRequest(exc.message) from None
    try:
        tools = services().mcp_servers.test(config)
    except McpServerError as error:
        return {"ok": False, "tools": [], "message": str(error)}
    return {
        "ok": True,
        "tools": [
            tool_view(tool.name, tool.description, config.approval_of(tool.name))
            for tool in tools
        ],
        "message": None,
    }
