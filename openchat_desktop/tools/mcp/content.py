"""A tool's result as the model reads it: MCP content items turned into text."""

from __future__ import annotations

import json
from typing import Any

from ..base import ToolOutcome


def outcome_text(result: Any) -> ToolOutcome:
    """Text items joined; an image, a sound or a resource named rather than dropped silently,
    so the model knows the tool gave more than it can read; structured content when that is
    all there is."""
    parts: list[str] = []
    for item in result.content:
        kind = getattr(item, "type", None)
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{'an image' if kind == 'image' else 'a sound'} ({item.mime_type})]")
        elif kind == "resource":
            resource = item.resource
            text = getattr(resource, "text", None)
            parts.append(text if text is not None else f"[a file: {resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[a link to {item.name}: {item.uri}]")
        else:
            parts.append(f"[an item of type {kind}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return ToolOutcome("\n".join(parts), is_error=bool(result.is_error))
