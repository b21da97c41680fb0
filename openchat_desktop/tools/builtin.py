"""The app's own tools (source `builtin`): the date and time, a calculator, a search of this
app's chats and the text of a file attached to the chat. None of them reaches the network;
what they read (the chats' index, the files' extracted text) is handed to the source as
callables, so it needs no database of its own."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..providers.base import Cancel
from ..store import AttachmentRecord, MessageRecord
from .base import BUILTIN, Tool, ToolContext, ToolOutcome, ToolSpec
from .calculator import CalculationRefused, calculate, shown

SEARCH_LIMIT = 10  # results a search gives the model, at most
FILE_CHARS = 100_000  # characters of a file's text the model gets, at most
_TAG = re.compile(r"<[^>]*>")

Search = Callable[..., list[tuple[MessageRecord, str]]]  # Store.search(query, limit=…)
Files = Callable[[Sequence[str]], list[AttachmentRecord]]  # Store.get_attachments(ids)

NO_ARGUMENTS: Mapping[str, Any] = {"type": "object", "properties": {}}


@dataclass(slots=True)  # not frozen: the Tool protocol's `spec` is a plain attribute
class BuiltinTool:
    spec: ToolSpec
    action: Callable[[Mapping[str, Any]], ToolOutcome]

    def run(self, arguments: Mapping[str, Any], cancel: Cancel) -> ToolOutcome:
        return self.action(arguments)


class BuiltinTools:
    """The `builtin` tool source."""

    id = BUILTIN

    def __init__(self, *, search: Search, files: Files) -> None:
        self._search = search
        self._files = files

    def tools(self, context: ToolContext) -> list[Tool]:
        def spec(name: str, description: str, parameters: Mapping[str, Any]) -> ToolSpec:
            return ToolSpec(name, description, parameters, BUILTIN)

        return [
            BuiltinTool(spec(
                "current_time",
                "The current date, time and time zone of the person's computer.",
                NO_ARGUMENTS,
            ), lambda arguments: current_time()),
            BuiltinTool(spec(
                "calculator",
                "Computes an arithmetic expression: numbers, + - * / // % ** and parentheses, "
                "the constants pi, e, tau and the functions " + ", ".join(
                    ["sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "asin",
                     "acos", "atan", "floor", "ceil", "abs", "round", "min", "max"]) + ".",
                {"type": "object", "properties": {"expression": {
                    "type": "string", "description": "For example (2 + 3) * 4 ** 2"}},
                 "required": ["expression"]},
            ), calculator),
            BuiltinTool(spec(
                "search_chats",
                "Searches the person's saved chats in this app for messages containing every "
                "word of the query; gives the best matches with a short excerpt each.",
                {"type": "object", "properties": {"query": {"type": "string"}},
                 "required": ["query"]},
            ), lambda arguments: self.search_chats(arguments)),
            BuiltinTool(spec(
                "read_file",
                "Reads the text of a file attached to this chat, by its file name. Files "
                "attached here: " + (", ".join(self._names(context)) or "none") + ".",
                {"type": "object", "properties": {"name": {"type": "string"}},
                 "required": ["name"]},
            ), lambda arguments: self.read_file(context, arguments)),
        ]

    def _files_of(self, context: ToolContext) -> list[AttachmentRecord]:
        """The chat's files in the order it got them, so the tool's description (part of
        every request) stays the same from one reply to the next."""
        order = {file_id: index for index, file_id in enumerate(context.attachment_ids)}
        return sorted(self._files(context.attachment_ids), key=lambda f: order.get(f.id, 0))

    def _names(self, context: ToolContext) -> list[str]:
        return list(dict.fromkeys(f.name for f in self._files_of(context)))

    def search_chats(self, arguments: Mapping[str, Any]) -> ToolOutcome:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            return ToolOutcome("Give the words to search for as `query`.", is_error=True)
        found = self._search(query, limit=SEARCH_LIMIT)
        if not found:
            return ToolOutcome(f"No saved message matches “{query}”.")
        lines = [f"{len(found)} message(s) match “{query}”:"]
        for record, snippet in found:
            text = html.unescape(_TAG.sub("", snippet)).strip()
            lines.append(f"- {record.role}, {record.created_at[:10]} (chat {record.session_id}):"
                         f" {text}")
        return ToolOutcome("\n".join(lines))

    def read_file(self, context: ToolContext, arguments: Mapping[str, Any]) -> ToolOutcome:
        name = arguments.get("name")
        if not isinstance(name, str) or not name.strip():
            return ToolOutcome("Give the file's name as `name`.", is_error=True)
        files = self._files_of(context)
        match = next((f for f in files if f.name == name.strip()), None)
        if match is None:
            match = next((f for f in files if f.name.casefold() == name.strip().casefold()),
                         None)
        if match is None:
            known = ", ".join(dict.fromkeys(f.name for f in files)) or "none"
            return ToolOutcome(f"No file named “{name}” is attached to this chat. Attached: "
                               f"{known}.", is_error=True)
        if match.text is None:
            return ToolOutcome(f"“{match.name}” has no text to read (it is an image).",
                               is_error=True)
        text = match.text
        if len(text) > FILE_CHARS:
            text = text[:FILE_CHARS] + f"\n[… cut: the first {FILE_CHARS:,} characters only]"
        return ToolOutcome(text)


def current_time() -> ToolOutcome:
    now = datetime.now().astimezone()
    zone = now.tzname() or "local time"
    return ToolOutcome(f"{now:%A %d %B %Y, %H:%M:%S} ({zone}, UTC{now:%z}); ISO 8601: "
                       f"{now.isoformat(timespec='seconds')}")


def calculator(arguments: Mapping[str, Any]) -> ToolOutcome:
    expression = arguments.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        return ToolOutcome("Give the expression as `expression`, e.g. \"2 * (3 + 4)\".",
                           is_error=True)
    try:
        return ToolOutcome(shown(calculate(expression)))
    except CalculationRefused as exc:
        return ToolOutcome(exc.message, is_error=True)
