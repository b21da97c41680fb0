"""A small MCP server written with the official SDK, for the tests: run as a stdio child
(`python tests/mcp_server.py`) or served over streamable HTTP (`python tests/mcp_server.py
http <port> [<token>]`, a token making it answer 401 to requests without it)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ImageContent, TextContent

server = MCPServer("test-tools")


@server.tool()
def add(a: float, b: float) -> str:
    """Add two numbers."""
    total = a + b
    return str(int(total) if total == int(total) else total)


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ToolError("the tool broke on purpose")


@server.tool()
def slow(seconds: float) -> str:
    """Wait, then answer."""
    time.sleep(seconds)
    return f"waited {seconds} s"


@server.tool()
def crash() -> str:
    """End the server's process at once."""
    os._exit(3)


@server.tool()
def picture() -> list[TextContent | ImageContent]:
    """Some text and an image."""
    return [
        TextContent(text="a red dot"),
        ImageContent(data="iVBORw0KGgo=", mime_type="image/png"),
    ]


@server.tool()
def secret() -> str:
    """The value of the SECRET_TOKEN variable the server was started with."""
    return os.environ.get("SECRET_TOKEN", "unset")


def serve_http(port: int, token: str | None) -> None:
    import uvicorn
    from starlette.responses import PlainTextResponse

    app = server.streamable_http_app()
    if token is not None:
        inner = app

        async def app(scope, receive, send):  # type: ignore[no-redef]
            sent = dict(scope.get("headers") or []).get(b"authorization")
            if scope["type"] == "http" and sent != f"Bearer {token}".encode():
                await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                return
            await inner(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if os.environ.get("PID_FILE"):  # where the tests learn which process to watch
        Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))
    if sys.argv[1:2] == ["http"]:
        serve_http(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        server.run("stdio")
