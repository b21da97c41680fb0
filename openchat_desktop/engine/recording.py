"""What the engine saves, and the interface of whoever saves it (the chat's store).

The engine hands over each reply's text streams by name; where each one is kept is the
saver's business, so the engine needs no database and no knowledge of what a stream means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .events import DataEvent


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A running reply's text so far, by stream name (see `events`)."""

    message_id: str
    texts: dict[str, str]
    data: tuple[DataEvent, ...] = ()  # the reply's data events so far, in order


@dataclass(frozen=True, slots=True)
class Ending:
    """How a reply ended, with everything to keep of it."""

    message_id: str
    texts: dict[str, str]
    status: str  # complete | stopped | error | interrupted
    error: dict[str, str] | None
    usage: dict[str, Any] | None
    phases: dict[str, dict[str, Any]] | None  # {name: {"model", "ms", "status"}}
    # The answer rendered, equal to a full render of its final text; None when rendering
    # failed (the reply is rendered again when it is next shown).
    html: str | None
    data: tuple[DataEvent, ...] = ()  # every data event of the reply, in order
    # Set when a fallback answered: its model id, and {"asked", "answered", "failures"}.
    model: str | None = None
    fallback: dict[str, Any] | None = None


class Recorder(Protocol):
    def save_checkpoints(self, checkpoints: list[Checkpoint]) -> None:
        """Save running replies, all in one transaction. A checkpoint landing after a reply's
        end must not overwrite it."""

    def save_end(self, ending: Ending) -> None: ...
