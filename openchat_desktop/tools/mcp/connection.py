"""One MCP server as the app keeps it: started on first use, its tools listed once per start,
kept running, restarted on the next use after it stopped, stopped on request.

The SDK's client is an async context manager whose task groups must be left by the task that
entered them, so one task per server (`_hold`) enters it, reports the listed tools and waits
to be told to stop; calls come from other tasks on the same loop. Everything here that reaches
the SDK runs on the loop of `EventLoopThread`; the public methods block the calling thread.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ...outbound.gate import Gate, Requester
from ...providers.base import Cancel
from ...providers.redaction import excerpt, remember_credentials
from ..base import ToolOutcome
from .config import McpServerConfig
from .content import outcome_text
from .errors import CallStopped, McpServerError, ServerGone
from .loop import EventLoopThread
from .wording import Detail, failure_sentence

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds a server has to start and list its tools (npx may download)
STOPPED, STARTING, OK, ERROR = "stopped", "starting", "ok", "error"


@dataclass(frozen=True)
class RemoteTool:
    """A tool as the server lists it."""

    name: str
    description: str
    parameters: Mapping[str, Any]


class ServerConnection:
    """A server's connection and what the Settings panel shows of it (`status`, `message`)."""

    def __init__(
        self,
        config: McpServerConfig,
        loop: EventLoopThread,
        log_path: Path | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.config = config
        self._gate = gate  # local-only mode and the outbound log, for a server at an address
        self._loop = loop
        self._log_path = log_path  # where a command's stderr goes
        self._lock = threading.Lock()  # one start or stop at a time
        self.status = STOPPED
        self.message: str | None = None
        self.tools: tuple[RemoteTool, ...] = ()  # as listed at the last start
        self._client: Any = None  # the SDK's Client while the server runs
        self._stop_event: asyncio.Event | None = None
        self._holder: asyncio.Task[None] | None = None
        self._closed = False
        self._http_status: int | None = None  # the last refusal of an HTTP server
        remember_credentials(None, [*config.headers, *config.env])

    @property
    def running(self) -> bool:
        return self.status == OK and self._client is not None

    def start(self) -> tuple[RemoteTool, ...]:
        """The server's tools, starting it first if it is not running. Raises McpServerError."""
        with self._lock:
            if self._closed:
                raise McpServerError("OpenChat is closing; the server was not started.")
            if self.running:
                return self.tools
            self._wind_down()  # what is left of a server that stopped by itself
            self.status, self.message = STARTING, None
            try:
                self.tools = self._loop.run(self._start())
            except Exception as error:
                self.status, self.message = ERROR, self._start_failure(error)
                self._wind_down()
                raise McpServerError(self.message) from None
            self.status = OK
            return self.tools

    def call(
        self, name: str, arguments: Mapping[str, Any], cancel: Cancel, timeout: float | None = None
    ) -> ToolOutcome:
        """Call one of the server's tools; every failure is an error outcome with a sentence."""
        try:
            self.start()
        except McpServerError as error:
            return ToolOutcome(str(error), is_error=True)
        limit = self.config.timeout if timeout is None else timeout
        try:
            result = self._loop.run(self._call(name, dict(arguments), limit), cancel)
        except CallStopped:
            return ToolOutcome(f"The call to {name} was stopped.", is_error=True)
        except TimeoutError:
            return ToolOutcome(
                f'The tool {name} of the server "{self.config.id}" gave no answer within '
                f"{limit:g} seconds.",
                is_error=True,
            )
        except Exception as error:
            failure = failure_sentence(self.config, error, self._detail())
            if failure.lost:
                self._lost(f'The server "{self.config.id}" stopped during a call to {name}.')
                return ToolOutcome(
                    f'The server "{self.config.id}" stopped during the call to {name}; it '
                    "starts again on the next call.",
                    is_error=True,
                )
            return ToolOutcome(failure.sentence, is_error=True)
        return outcome_text(result)

    def check_alive(self) -> None:
        """Ask a running server whether it is still there; one that stopped while idle
        is marked so and starts again when next needed."""
        if not self.running:
            return
        try:
            self._loop.run(self._ping())
        except Exception as error:
            # Any answer, even an error, proves the server is there; only a closed connection
            # says it is gone.
            if failure_sentence(self.config, error, Detail()).lost:
                self._lost(f'The server "{self.config.id}" stopped while idle.')

    def stop(self, *, closing: bool = False) -> None:
        """Stop the server (its child process ends); it starts again when next needed unless
        the app is closing."""
        with self._lock:
            self._closed = self._closed or closing
            self._wind_down()
            if self.status != ERROR:
                self.status, self.message = STOPPED, None

    def _lost(self, sentence: str) -> None:
        with self._lock:
            self._wind_down()
            self.status, self.message = ERROR, sentence
        log.warning("%s", sentence)

    def _wind_down(self) -> None:
        """End the task holding the connection, if there is one: a server never started needs
        no loop (an app whose servers were never used does not start one to close)."""
        if self._holder is not None:
            self._loop.run(self._stop())

    def _start_failure(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError):
            return (
                f'The server "{self.config.id}" did not answer within {START_TIMEOUT:g} seconds; '
                "check that it is an MCP server."
            )
        return failure_sentence(self.config, error, self._detail()).sentence

    # On the loop.

    async def _start(self) -> tuple[RemoteTool, ...]:
        ready: asyncio.Future[tuple[RemoteTool, ...]] = asyncio.get_running_loop().create_future()
        self._stop_event = asyncio.Event()
        self._holder = asyncio.create_task(self._hold(ready, self._stop_event))
        return await asyncio.wait_for(asyncio.shield(ready), START_TIMEOUT)

    async def _hold(
        self, ready: asyncio.Future[tuple[RemoteTool, ...]], stop: asyncio.Event
    ) -> None:
        """Enter the client, list the tools, and keep the connection until told to stop."""
        errlog = self._open_log()
        try:
            async with self._connect(errlog) as client:
                tools = await _list_tools(client)
                self._client = client
                ready.set_result(tools)
                await stop.wait()
        except BaseException as error:  # noqa: BLE001 - reported to whoever waits on `ready`
            if not ready.done():
                ready.set_exception(_leaf(error))
            if isinstance(error, asyncio.CancelledError):
                raise
        finally:
            self._client = None
            if errlog is not None:
                errlog.close()

    def _connect(self, errlog: TextIO | None) -> Any:
        from mcp import Client, StdioServerParameters, stdio_client

        config = self.config
        if config.command is not None:
            parameters = StdioServerParameters(
                command=shutil.which(config.command) or config.command,
                args=list(config.args),
                env=dict(config.env) or None,
            )
            return Client(stdio_client(parameters, errlog=errlog) if errlog else parameters)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        assert config.url is not None
        hooks: dict[str, list[Any]] = {"request": [], "response": [self._note_status]}
        if self._gate is not None:
            from ...outbound.hooks import GatedHooks

            gated = GatedHooks(self._gate, Requester.tool_server(config.id)).event_hooks()
            hooks = {"request": gated["request"], "response": gated["response"] + hooks["response"]}
        http = httpx2.AsyncClient(
            headers=dict(config.headers),
            timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks=hooks,
        )
        url = config.url

        @asynccontextmanager
        async def transport() -> AsyncIterator[Any]:
            # The SDK leaves a client it was given open: this one is closed with the session.
            async with http, streamable_http_client(url, http_client=http) as streams:
                yield streams

        return Client(transport())

    async def _note_status(self, response: Any) -> None:
        """Keep the last refusal's HTTP status: the SDK reports it only as "an error"."""
        if response.status_code >= 400:
            self._http_status = response.status_code

    async def _call(self, name: str, arguments: dict[str, Any], timeout: float) -> Any:
        client = self._client
        if client is None:
            raise ServerGone("The server is not running.")
        async with asyncio.timeout(timeout):
            return await client.call_tool(name, arguments)

    async def _ping(self) -> None:
        client = self._client
        if client is None:
            raise ServerGone("The server is not running.")
        # Protocol 2026-07-28 dropped ping: the cheapest request every version answers.
        async with asyncio.timeout(5):
            await client.list_tools(cache_mode="refresh")

    async def _stop(self) -> None:
        holder, self._holder = self._holder, None
        if self._stop_event is not None:
            self._stop_event.set()
        if holder is None:
            return
        try:
            # The SDK closes stdin, then terminates and kills the child within a few seconds.
            await asyncio.wait_for(holder, 10)
        except BaseException:  # noqa: BLE001 - stopping is best effort; failures were reported
            holder.cancel()

    def _open_log(self) -> TextIO | None:
        """The server's own messages (stderr) of its last start: what to read when it fails."""
        self._http_status = None
        if self._log_path is None or self.config.command is None:
            return None
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        return self._log_path.open("w", encoding="utf-8", errors="replace")

    def _detail(self) -> Detail:
        return Detail(self._stderr_tail(), self._http_status)

    def _stderr_tail(self) -> str | None:
        if self._log_path is None or self.config.command is None:
            return None
        time.sleep(0.05)  # the child's last words may still be on their way to the file
        try:
            lines = self._log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        last = next((line.strip() for line in reversed(lines) if line.strip()), None)
        return excerpt(last, 200) if last else None


async def _list_tools(client: Any) -> tuple[RemoteTool, ...]:
    tools: list[RemoteTool] = []
    cursor: str | None = None
    for _ in range(100):  # a server that pages forever gets a bound
        page = await client.list_tools(cursor=cursor)
        tools.extend(
            RemoteTool(tool.name, tool.description or "", dict(tool.input_schema))
            for tool in page.tools
        )
        cursor = page.next_cursor
        if not cursor:
            break
    return tuple(tools)


def _leaf(error: BaseException) -> BaseException:
    """The first real error inside the exception groups anyio wraps failures in."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
