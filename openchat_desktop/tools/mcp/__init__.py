"""MCP servers as tool sources, through the official SDK (`mcp`).

`McpServers` keeps one connection per `[[mcp_servers]]` entry: a stdio server is a child
process started the first time a chat needs its tools, kept running, started again on the
next use after it stopped, and stopped with the app; a streamable HTTP server is a session
opened the same way. The SDK is asyncio: it runs on one event loop in a thread of its own
(`loop.EventLoopThread`) and the rest of the app sees blocking calls. The SDK is imported only
when a server is first started, so an app without MCP servers never loads it.
"""

from __future__ import annotations

from .config import McpServerConfig
from .connection import RemoteTool
from .errors import McpServerError, UnknownToolServer
from .servers import McpServers
from .source import McpSource, McpTool

__all__ = ["McpServerConfig", "McpServerError", "McpServers", "McpSource", "McpTool", "RemoteTool",
           "UnknownToolServer"]
