"""Split inline `<think>…</think>` reasoning out of streamed content.

Modes:
  "off"        content passes through untouched.
  "explicit"   only a `<think>` at the very start of the content (leading whitespace
               ignored) opens a thinking block; a later `<think>` is ordinary text, so a
               model explaining HTML is not misread.
  "heuristic"  for models whose chat template already put `<think>` in the prompt
               (DeepSeek-R1 distills): the reply starts inside the thinking block, and a
               bare `</think>` ends it. Enable it only for such models.

Reads can cut a tag anywhere, so a suffix that could still become a tag is held back
until the next piece arrives; any other `<` passes straight through.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from .base import ReasoningDelta, TextDelta

OPEN = "<think>"
CLOSE = "</think>"
MODES = ("off", "explicit", "heuristic")

_START, _THINK, _CONTENT = "start", "think", "content"


class ThinkTagSplitter:
    def __init__(self, mode: str = "explicit") -> None:
        if mode not in MODES:
            raise ValueError(f"think-tag mode must be one of {', '.join(MODES)}, not {mode!r}")
        self._state = _CONTENT if mode == "off" else _START
        self._heuristic = mode == "heuristic"
        self._held = ""

    def passthrough(self) -> None:
        """Stop looking for tags if nothing was decided yet: the server separates reasoning
        itself (a structured field arrived), and that takes precedence."""
        if self._state == _START:
            self._state = _CONTENT

    def feed(self, text: str) -> list[TextDelta | ReasoningDelta]:
        out: list[TextDelta | ReasoningDelta] = []
        buf = self._held + text
        self._held = ""
        while buf:
            if self._state == _START:
                stripped = buf.lstrip()
                if stripped.startswith(OPEN):
                    self._state = _THINK
                    buf = stripped[len(OPEN) :]
                elif not stripped or OPEN.startswith(stripped):
                    self._held = buf  # whitespace, or the start of what may be `<think>`
                    break
                else:
                    self._state = _THINK if self._heuristic else _CONTENT
            elif self._state == _THINK:
                end = buf.find(CLOSE)
                if end >= 0:
                    if end:
                        out.append(ReasoningDelta(buf[:end]))
                    buf = buf[end + len(CLOSE) :]
                    self._state = _CONTENT
                    continue
                keep = _partial_suffix(buf, CLOSE)
                if len(buf) > keep:
                    out.append(ReasoningDelta(buf[: len(buf) - keep]))
                self._held = buf[len(buf) - keep :]
                break
            else:
                out.append(TextDelta(buf))
                break
        return out

    def flush(self) -> list[TextDelta | ReasoningDelta]:
        """At the end of the reply, release what was held back as what it turned out to be."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self._state == _THINK:
            return [ReasoningDelta(held)]
        return [TextDelta(held)]


def mode_for(model: str, bare_think_models: Iterable[str]) -> str:
    """Heuristic mode for a model matching one of the settings' patterns, else explicit."""
    lowered = model.lower()
    if any(fnmatchcase(lowered, pattern.lower()) for pattern in bare_think_models):
        return "heuristic"
    return "explicit"


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a proper start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
