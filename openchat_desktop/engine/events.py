"""What a generation's stream yields, and the names of the events clients receive.

A stream yields the provider's events and, for replies made of several steps, generic
markers: `Phase` (a named step starts, with its model), `NamedText` (text of a stream of
its own, sent to clients as events of that name) and `DataEvent` (a named JSON event beside
the text streams, kept in order with the reply). What the steps mean is the caller's
business; the engine times them and logs their text. The router's `Retrying` marker (a wait
before asking the provider again) goes to clients as a `retry` event, its `FallingBack` marker
(another model asked instead) as a `fallback` event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..providers.base import Cancel, Event, FallingBack, Retrying

# Event names of the reply's own streams and its rendering.
CONTENT = "delta"  # the answer's text
REASONING = "reasoning"  # the model's thinking
RENDER = "render"  # the answer as HTML: a patch, see `rendering.RenderUpdate`
RETRY = "retry"  # a wait before the provider is asked again: {"attempt", "seconds", "reason"}
FALLBACK = "fallback"  # another model asked instead: {"from", "to", "reason"}


@dataclass(frozen=True, slots=True)
class Phase:
    """A step of the reply starts with this model. The reply's `meta` then holds each phase's
    model, duration and how it ended. With `stream`, the phase writes that named text stream,
    which exists (empty) from here on."""

    name: str
    model: str
    stream: str | None = None


@dataclass(frozen=True, slots=True)
class NamedText:
    """Text of the stream `stream`, sent to clients as `stream` events."""

    stream: str
    text: str


@dataclass(frozen=True, slots=True)
class DataEvent:
    """A named JSON event: sent to clients as a `kind` event with `data`, never joined into a
    text stream, and handed to the recorder (in order, with the others of the reply) with each
    checkpoint and the end, so a reply's structured steps are saved as they happen."""

    kind: str
    data: dict[str, Any]


StreamEvent = Event | Phase | NamedText | DataEvent | Retrying | FallingBack
StreamFactory = Callable[[Cancel], Iterator[StreamEvent]]
