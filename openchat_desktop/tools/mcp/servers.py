"""The MCP servers of the settings, each kept as one connection while its entry stays the same:
an entry that changes how to reach the server restarts it, a removed or disabled one stops."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ...outbound.gate import Gate
from .config import McpServerConfig
from .connection import RemoteTool, ServerConnection
from .errors import UnknownToolServer
from .loop import EventLoopThread
from .source import McpSource


class McpServers:
    """Every configured server as a tool source, and a trial run of an entry not saved."""

    def __init__(
        self,
        configs: Callable[[], tuple[McpServerConfig, ...]],
        log_dir: Path | None = None,
        gate: Gate | None = None,
    ) -> None:
        self._configs = configs
        self._gate = gate
        self._log_dir = log_dir
        self._loop = EventLoopThread("mcp")
        self._lock = threading.Lock()
        self._sources: dict[str, McpSource] = {}
        self._closed = False

    def sources(self) -> list[McpSource]:
        """The sources of the settings in force, in the order the file lists them."""
        configs = self._configs()
        stale: list[ServerConnection] = []
        with self._lock:
            current: dict[str, McpSource] = {}
            for config in configs:
                source = self._sources.pop(config.id, None)
                reached = source.connection.config.connection() if source else None
                if source is not None and reached != config.connection():
                    stale.append(source.connection)
                    source = None
                if source is None:
                    source = McpSource(
                        ServerConnection(config, self._loop, self._log(config.id), self._gate)
                    )
                else:
                    source.connection.config = config  # approval, enabled, timeout
                if not config.enabled and source.connection.running:
                    stale.append(source.connection)
                current[config.id] = source
            stale.extend(source.connection for source in self._sources.values())
            self._sources = current
        for connection in stale:
            connection.stop()
        return list(current.values())

    def source(self, server_id: str) -> McpSource:
        """The configured server with this id. Raises UnknownToolServer."""
        found = next((s for s in self.sources() if s.id == server_id), None)
        if found is None:
            raise UnknownToolServer(f'There is no MCP server "{server_id}" in the settings.')
        return found

    def test(self, config: McpServerConfig) -> tuple[RemoteTool, ...]:
        """Start a server from an entry that is not saved, list its tools and stop it.
        Raises McpServerError with the sentence to show."""
        with tempfile.TemporaryDirectory(prefix="openchat-mcp-") as folder:
            # Its stderr, for the sentence when it fails; a trial keeps no log.
            connection = ServerConnection(
                config, self._loop, Path(folder) / "stderr.log", self._gate
            )
            try:
                return connection.start()
            finally:
                connection.stop()

    def _log(self, server_id: str) -> Path | None:
        return self._log_dir / f"mcp-{server_id}.log" if self._log_dir is not None else None

    def shutdown(self) -> None:
        """Stop every server (their child processes end) and the loop they run on."""
        with self._lock:
            self._closed = True
            sources, self._sources = list(self._sources.values()), {}
        for source in sources:
            source.connection.stop(closing=True)
        self._loop.stop()
