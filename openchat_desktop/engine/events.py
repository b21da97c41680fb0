"""What a generation's stream yields, and the names of the events clients receive.

A stream yields the provider's events and, for replies made of several steps, two generic
markers: `Phase` (a named step starts, with its model) and `NamedText` (text of a stream of
its own, sent to clients as events of that name). What the steps mean is the caller's
business; the engine times them and logs their text. The router's `Retrying` marker (a wait
before asking the provider again) goes to clients as a `retry` event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..providers.base import Cancel, Event, Retrying

# Event names of the reply's own streams and its rendering.
CONTENT = "delta"  # the answer's text
REASONING = "reasoning"  # the model's thinking
RENDER = "render"  # the answer as HTML: a patch, see `rendering.RenderUpdate`
RETRY = "retry"  # a wait before the provider is asked again: {"attempt", "seconds", "reason"}


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


StreamEvent = Event | Phase | NamedText | Retrying
StreamFactory = Callable[[Cancel], Iterator[StreamEvent]]
