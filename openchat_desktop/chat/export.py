"""A chat as a file to keep: Markdown to read, JSON to process. Only the branch on screen."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from ..errors import InvalidRequest
from ..store import MessageRecord, SessionRecord

FORMATS = {"markdown": ("md", "text/markdown"), "json": ("json", "application/json")}
SPEAKERS = {"user": "You", "assistant": "Assistant", "system": "System"}
STATUS_NOTES = {
    "stopped": "stopped before the end",
    "error": "cut off by an error",
    "interrupted": "cut off when OpenChat stopped",
    "streaming": "still being written",
}


def file_name(session: SessionRecord, fmt: str) -> str:
    """A file name from the title that every file system accepts."""
    title = unicodedata.normalize("NFC", session.title)
    title = re.sub(r'[\x00-\x1f<>:"/\\|?*]+', " ", title)
    title = re.sub(r"\s+", " ", title).strip(" .") or "chat"
    return f"{title[:80].strip()}.{FORMATS[fmt][0]}"


def to_markdown(session: SessionRecord, messages: list[MessageRecord]) -> str:
    parts = [f"# {session.title}", ""]
    if session.system_prompt:
        parts += ["> **System prompt:** " + session.system_prompt.replace("\n", "\n> "), ""]
    for message in messages:
        heading = SPEAKERS.get(message.role, message.role)
        details = [d for d in (message.model, STATUS_NOTES.get(message.status)) if d]
        if details:
            heading += f" ({', '.join(details)})"
        parts += [f"## {heading}", ""]
        if message.reasoning:
            parts += ["<details><summary>Thinking</summary>", "", message.reasoning, "",
                      "</details>", ""]
        parts += [message.content, ""]
    return "\n".join(parts).rstrip() + "\n"


def to_json(session: SessionRecord, messages: list[MessageRecord]) -> str:
    data = {
        "title": session.title,
        "model": session.model,
        "system_prompt": session.system_prompt,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "reasoning": m.reasoning or None,
                "model": m.model,
                "status": m.status,
                "created_at": m.created_at,
            }
            for m in messages
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str  # a file name every file system accepts
    mime: str
    text: str


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidRequest("`format` must be `markdown` or `json`.")


def export_file(session: SessionRecord, messages: list[MessageRecord], fmt: str) -> ExportFile:
    text = to_markdown(session, messages) if fmt == "markdown" else to_json(session, messages)
    return ExportFile(file_name(session, fmt), FORMATS[fmt][1], text)
