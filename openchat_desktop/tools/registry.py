"""Every tool source the app has, by id, and the tools a chat is offered from the ones it uses.

Tool names are unique among a chat's tools: when two sources offer the same name, the built-in
tool keeps it and each other source's tool is called `<source id>__<name>`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..providers.base import Cancel
from .base import BUILTIN, Tool, ToolContext, ToolOutcome, ToolSource, ToolSpec

log = logging.getLogger(__name__)

SEPARATOR = "__"
MAX_NAME = 64


@dataclass(frozen=True)
class SourceState:
    """A source as the Settings panel shows it: `status` is "ok", "stopped", "starting" or
    "error" (with `message`, a sentence); `tools` as last listed."""

    id: str
    kind: str  # "builtin", "stdio" or "http"
    enabled: bool
    status: str
    message: str | None
    tools: tuple[ToolSpec, ...]


class ToolSources:
    """The sources: fixed ones (the built-in tools) and groups that follow the settings (the
    MCP servers), asked for their members each time. Safe to use from any thread."""

    def __init__(self, sources: Sequence[ToolSource] = ()) -> None:
        self._lock = threading.Lock()
        self._fixed: dict[str, ToolSource] = {source.id: source for source in sources}
        self._groups: list[Callable[[], Iterable[ToolSource]]] = []

    def add(self, source: ToolSource) -> None:
        """Register `source`, replacing one with the same id."""
        with self._lock:
            self._fixed[source.id] = source

    def add_group(self, group: Callable[[], Iterable[ToolSource]]) -> None:
        with self._lock:
            self._groups.append(group)

    def by_id(self) -> dict[str, ToolSource]:
        """Every source by id, the fixed ones first."""
        with self._lock:
            sources = dict(self._fixed)
            groups = list(self._groups)
        for group in groups:
            for source in group():
                sources.setdefault(source.id, source)
        return sources

    def states(self) -> list[SourceState]:
        """Each source's state; a source without one of its own (the built-in tools) is
        always ready and says so by listing its tools."""
        states = []
        for source in self.by_id().values():
            state = getattr(source, "state", None)
            if callable(state):
                states.append(state())
                continue
            specs = tuple(tool.spec for tool in source.tools(ToolContext(session_id="")))
            states.append(SourceState(source.id, BUILTIN, True, "ok", None, specs))
        return states

    def tools(self, context: ToolContext, only: Sequence[str] | None = None) -> list[Tool]:
        """The tools of the sources a chat uses (`only`: their ids; None: every source), names
        made unique."""
        offered = [
            (source.id, tool)
            for source in self.by_id().values()
            if only is None or source.id in only
            for tool in _listed(source, context)
        ]
        owners: dict[str, set[str]] = {}
        for source_id, tool in offered:
            owners.setdefault(tool.spec.name, set()).add(source_id)
        return [
            tool
            if len(owners[tool.spec.name]) == 1 or source_id == BUILTIN
            else Renamed(tool, f"{source_id}{SEPARATOR}{tool.spec.name}"[:MAX_NAME])
            for source_id, tool in offered
        ]


def _listed(source: ToolSource, context: ToolContext) -> list[Tool]:
    """A source's tools; one that fails to list them offers none this time (its own state
    says why), so one broken source never takes a reply down with it."""
    try:
        return source.tools(context)
    except Exception:
        log.exception("the tool source %s could not list its tools", source.id)
        return []


class Renamed:
    """A tool offered under another name; it runs as itself."""

    def __init__(self, tool: Tool, name: str) -> None:
        self.spec = replace(tool.spec, name=name)
        self.tool = tool

    def run(self, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
        return self.tool.run(arguments, cancel)
