"""Where a chat's tools come from: every tool source of the app, by id, in one place.

The app's own tools (`builtin`) are always registered; MCP servers add theirs. A chat uses the
sources its `tool_servers` names (null: all of them), so a chat without "builtin" in its list
does without the app's own tools."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from .base import Tool, ToolContext, ToolSource

log = logging.getLogger(__name__)


class ToolSources:
    """Safe to use from any thread."""

    def __init__(self, sources: Sequence[ToolSource] = ()) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, ToolSource] = {source.id: source for source in sources}

    def add(self, source: ToolSource) -> None:
        """Register `source`, replacing one with the same id."""
        with self._lock:
            self._sources[source.id] = source

    def remove(self, source_id: str) -> None:
        with self._lock:
            self._sources.pop(source_id, None)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._sources)

    def tools_for(self, chosen: Sequence[str] | None, context: ToolContext) -> list[Tool]:
        """The tools of the sources `chosen` (None: every one), each name once: of two tools
        with one name, the first source's is kept. A source that fails to list its tools
        offers none this time."""
        with self._lock:
            sources = [s for s in self._sources.values() if chosen is None or s.id in chosen]
        tools: dict[str, Tool] = {}
        for source in sources:
            try:
                offered = source.tools(context)
            except Exception:
                log.exception("the tool source %s could not list its tools", source.id)
                continue
            for tool in offered:
                if tool.spec.name in tools:
                    log.warning("tool %s of %s hidden by another of the same name",
                                tool.spec.name, source.id)
                    continue
                tools[tool.spec.name] = tool
        return list(tools.values())
