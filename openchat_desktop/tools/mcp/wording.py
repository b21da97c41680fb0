"""Why a server failed, as a sentence a person can act on: the command is missing, it stopped
at once, it is not an MCP server, the address refused us. Never an exception's repr."""

from __future__ import annotations

from dataclasses import dataclass

from ...outbound.errors import LocalOnlyRefused
from ...providers.redaction import excerpt
from .config import McpServerConfig
from .errors import ServerGone


@dataclass(frozen=True)
class Detail:
    """What the server left behind: the last line it wrote on stderr (a command), or the HTTP
    status it refused the last request with (an address)."""

    last_line: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Failure:
    sentence: str
    lost: bool = False  # the connection is gone: the server starts again on next use


def failure_sentence(config: McpServerConfig, error: BaseException, detail: Detail) -> Failure:
    """The sentence for a failure to start or to call a server."""
    from mcp import MCPError
    from mcp_types import CONNECTION_CLOSED

    if isinstance(error, LocalOnlyRefused):
        return Failure(error.message)
    name = f'The server "{config.id}"'
    if isinstance(error, ServerGone) or (
        isinstance(error, MCPError) and error.code == CONNECTION_CLOSED
    ):
        if config.command is not None:
            said = f': "{detail.last_line}"' if detail.last_line else ""
            return Failure(
                f"{name} stopped{said}; check its command and arguments, and that it is an "
                "MCP server.",
                lost=True,
            )
        return Failure(f"{name} at {config.url} closed the connection.", lost=True)
    if detail.http_status is not None and config.url is not None:
        return Failure(_http_refusal(config.url, detail.http_status))
    if isinstance(error, MCPError):
        return Failure(f"{name} answered with an error: {excerpt(error.message, 300)}.")
    if isinstance(error, FileNotFoundError) and config.command is not None:
        return Failure(
            f'The command "{config.command}" was not found; install it, or give its full path.'
        )
    if isinstance(error, PermissionError) and config.command is not None:
        return Failure(f'The command "{config.command}" may not be run (permission denied).')
    if isinstance(error, OSError) and config.command is not None:
        reason = error.strerror or "the system refused"
        return Failure(f'The command "{config.command}" could not be started: {reason}.')
    if config.url is not None:
        import httpx2

        if isinstance(error, httpx2.ConnectError):
            return Failure(
                f"Nothing answers at {config.url}; check the address and that the server runs."
            )
        if isinstance(error, httpx2.TimeoutException):
            return Failure(f"The server at {config.url} did not answer in time.")
        if isinstance(error, httpx2.HTTPError):
            return Failure(f"The server at {config.url} could not be reached.")
    return Failure(
        f"{name} failed and does not seem to be an MCP server "
        f"({excerpt(str(error) or type(error).__name__, 200)})."
    )


def _http_refusal(url: str, status: int) -> str:
    if status in (401, 403):
        return (
            f"The server at {url} refused OpenChat (HTTP {status}); check its headers, e.g. "
            "the Authorization token."
        )
    if status in (404, 405):
        return (
            f"Nothing at {url} speaks MCP (HTTP {status}); check the address, which often "
            "ends in /mcp."
        )
    return f"The server at {url} answered with an error (HTTP {status})."
