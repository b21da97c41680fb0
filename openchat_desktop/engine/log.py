"""An append-only, sequence-numbered event log that any number of clients replay and follow.

Each event is encoded as SSE once, however many clients read it. A replay after a sequence
number sends what happened since in compact form, and stays exact from any point:

- text events (`add_text`): each run of adjacent events of one kind becomes one event with the
  run's text and its last sequence number, so concatenated text has no gap and no repeat;
- state events (`add_state`): only the newest state of each kind, at its last event's place;
- other events (`add`) as they are.

A closed log nobody follows can be folded (`fold`) from one event per token into a few
kilobytes; it replays exactly as before.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from .sse import KEEPALIVE, sse_event, text_event

KEEPALIVE_INTERVAL = 15.0  # seconds of silence before a follower gets a keep-alive comment

# How a replay treats an event.
KEEP = 0  # sent as it is
JOIN = 1  # text: adjacent events of its kind are joined into one
LATEST = 2  # state: only the newest state of its kind is sent

State = Callable[[], dict]  # the whole state of a kind whose events are patches to it


class LoggedEvent(NamedTuple):
    """A tuple: made once per token, and a tuple is the cheapest thing to make."""

    seq: int
    kind: str
    data: dict
    wire: bytes  # the event as SSE, encoded once
    fold: int  # KEEP, JOIN or LATEST


@dataclass(frozen=True, slots=True)
class LogSnapshot:
    """The last sequence number and each text stream's text up to it, read together."""

    seq: int
    texts: dict[str, str]


class EventLog:
    """Safe to use from any thread. Writers either call `append*` (one event, one wake-up) or
    hold `lock` around several `add*` calls and then `lock.notify_all()`, so followers see
    those events together."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.closed = False  # no event comes after this
        self._events: list[LoggedEvent] = []
        self._seq = 0
        self._gapless = True  # event n is at index n - 1: no state event was replaced
        self._texts: dict[str, list[str]] = {}
        self._states: dict[str, tuple[LoggedEvent, State | None]] = {}
        self._folded: FoldedLog | None = None
        self._followers = 0

    @property
    def last_seq(self) -> int:
        return self._seq

    # --- writing (`add*` with `lock` held) --------------------------------------------------

    def add(self, kind: str, data: dict) -> None:
        seq = self._seq = self._seq + 1
        self._events.append(LoggedEvent(seq, kind, data, sse_event(seq, kind, data), KEEP))

    def add_text(self, kind: str, text: str) -> None:
        """Text of the stream `kind`, sent as `{"text": ...}`."""
        seq = self._seq = self._seq + 1
        self._events.append(LoggedEvent(seq, kind, {"text": text}, text_event(seq, kind, text),
                                        JOIN))
        pieces = self._texts.get(kind)
        if pieces is None:
            self._texts[kind] = [text]
        else:
            pieces.append(text)

    def seed_text(self, kind: str, text: str) -> None:
        """The text the stream `kind` starts with, sent as no event (a client has it from
        elsewhere): `texts()` includes it, replays do not. Before any text of `kind`."""
        if self._texts.get(kind):
            raise RuntimeError(f"the text stream {kind} already has text")
        self._texts[kind] = [text]

    def open_text(self, kind: str) -> None:
        """The text stream `kind` exists (empty) before its first text."""
        with self.lock:
            self._texts.setdefault(kind, [])

    def add_state(self, kind: str, data: dict, state: State | None = None) -> None:
        """A change of the state `kind`. With `state`, events are patches and `state()` is the
        whole, sent by a replay. Without, each event is the whole state, and one that directly
        follows another of its kind replaces it: a follower that fell behind gets the newest
        state, never a backlog."""
        events = self._events
        if state is None and events and events[-1].kind == kind and events[-1].fold == LATEST:
            events.pop()
            self._gapless = False
        seq = self._seq = self._seq + 1
        event = LoggedEvent(seq, kind, data, sse_event(seq, kind, data), LATEST)
        events.append(event)
        self._states[kind] = (event, state)

    def append(self, kind: str, data: dict) -> None:
        with self.lock:
            self.add(kind, data)
            self.lock.notify_all()

    def append_text(self, kind: str, text: str) -> None:
        with self.lock:
            self.add_text(kind, text)
            self.lock.notify_all()

    def append_state(self, kind: str, data: dict, state: State | None = None) -> None:
        with self.lock:
            self.add_state(kind, data, state)
            self.lock.notify_all()

    def close(self) -> None:
        """No more events: followers end once they have sent everything."""
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def wait_closed(self, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.closed, timeout)

    # --- reading ----------------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        """Each text stream's whole text."""
        with self.lock:
            return {kind: "".join(pieces) for kind, pieces in self._texts.items()}

    def snapshot(self) -> LogSnapshot:
        with self.lock:
            return LogSnapshot(self._seq, self.texts())

    def since(self, after: int) -> tuple[bytes, int]:
        """The events after `after` as they were sent live, and the last sequence number."""
        with self.lock:
            return b"".join(event.wire for event in self._pending(after)), self._seq

    def replay(self, after: int) -> bytes:
        """The events after `after`, compacted (see the module's description)."""
        with self.lock:
            return self._replay_locked(after)

    def follow(self, after: int = 0) -> Iterator[bytes]:
        """SSE bytes: the replay after `after`, then events as they come until the log closes,
        with a keep-alive comment after each quiet `KEEPALIVE_INTERVAL`."""
        with self.lock:
            after = max(0, min(after, self._seq))
            chunk = self._replay_locked(after)
            position = self._seq
            ended = self.closed
            self.join()
        try:
            if chunk:
                yield chunk
            while not ended:
                with self.lock:
                    if position == self._seq and not self.closed:
                        self.lock.wait(KEEPALIVE_INTERVAL)
                    batch = self._pending(position)
                    position = self._seq
                    ended = self.closed
                if batch:
                    yield b"".join(event.wire for event in batch)
                elif not ended:
                    yield KEEPALIVE
        finally:
            self.leave()

    def join(self) -> None:
        """Someone reads this log as it grows (`follow`, a relay): it is not folded meanwhile."""
        with self.lock:
            self._followers += 1

    def leave(self) -> None:
        with self.lock:
            self._followers -= 1

    def fold(self) -> bool:
        """Fold a closed log nobody follows into its compact form; True if it was folded."""
        with self.lock:
            if not self.closed or self._followers or self._folded is not None:
                return False
            self._folded = FoldedLog(self._events, self._states)
            self._texts = {kind: ["".join(pieces)] for kind, pieces in self._texts.items()}
            self._events = []
            self._states = {}
            return True

    def _pending(self, after: int) -> list[LoggedEvent]:
        """The events after sequence number `after`."""
        events = self._events
        if self._gapless:
            return events[after:]
        index = len(events)
        while index and events[index - 1].seq > after:
            index -= 1
        return events[index:]

    def _replay_locked(self, after: int) -> bytes:
        if self._folded is not None:
            return self._folded.replay(after)
        parts: list[bytes] = []
        run: list[LoggedEvent] = []

        def close_run() -> None:
            if len(run) == 1:
                parts.append(run[0].wire)
            elif run:
                last = run[-1]
                text = "".join(event.data["text"] for event in run)
                parts.append(sse_event(last.seq, last.kind, {"text": text}))
            run.clear()

        for event in self._pending(after):
            if event.fold == JOIN:
                if run and run[-1].kind != event.kind:
                    close_run()
                run.append(event)
            elif event.fold == KEEP:
                close_run()
                parts.append(event.wire)
            else:
                newest, state = self._states[event.kind]
                if event is newest:
                    close_run()
                    parts.append(event.wire if state is None
                                 else sse_event(event.seq, event.kind, state()))
        close_run()
        return b"".join(parts)


class TextTrack:
    """Where each event of one text stream ended, so the text after any sequence number can be
    cut from the whole without keeping one event per token."""

    def __init__(self, events: list[LoggedEvent], kind: str) -> None:
        self.seqs = array("q")
        self.ends = array("q")
        pieces = []
        end = 0
        for event in events:
            if event.kind == kind and event.fold == JOIN:
                pieces.append(event.data["text"])
                end += len(pieces[-1])
                self.seqs.append(event.seq)
                self.ends.append(end)
        self.text = "".join(pieces)

    def after(self, seq: int) -> tuple[int, str] | None:
        """(sequence number of the last event, all text after `seq`), or None."""
        index = bisect_right(self.seqs, seq)
        if index == len(self.seqs):
            return None
        start = self.ends[index - 1] if index else 0
        return self.seqs[-1], self.text[start:]


class FoldedLog:
    """A closed log in compact form: each text stream as one string with where its events
    ended, each state as its newest whole, and the other events. A replay after any sequence
    number sends the text after it as one event with the stream's last sequence number."""

    def __init__(
        self, events: list[LoggedEvent], states: dict[str, tuple[LoggedEvent, State | None]]
    ) -> None:
        kinds = dict.fromkeys(event.kind for event in events if event.fold == JOIN)
        self.tracks = {kind: TextTrack(events, kind) for kind in kinds}
        self.kept = [event for event in events if event.fold == KEEP]
        self.states = [
            (event.seq, event.wire if state is None else sse_event(event.seq, kind, state()))
            for kind, (event, state) in states.items()
        ]

    def replay(self, after: int) -> bytes:
        items = [(event.seq, event.wire) for event in self.kept if event.seq > after]
        for kind, track in self.tracks.items():
            found = track.after(after)
            if found is not None:
                items.append((found[0], sse_event(found[0], kind, {"text": found[1]})))
        items.extend((seq, wire) for seq, wire in self.states if seq > after)
        items.sort(key=lambda item: item[0])
        return b"".join(wire for _, wire in items)
