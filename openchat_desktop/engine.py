"""The generation engine: replies run detached from the HTTP request that asked for them.

A `Generation` pulls provider events in a worker thread, appends them to an in-memory,
sequence-numbered event log (each event formatted as SSE bytes once, however many clients
read it), and lets any number of clients attach and replay from a sequence number. The
engine's checkpoint thread saves every reply that changed at most every `CHECKPOINT_INTERVAL`
seconds — also when the provider goes quiet — in one transaction for all of them, and the
worker saves the end. Only Stop
or shutdown ends a generation early; a client going away never does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .providers.base import Cancel, Event, Finish, ReasoningDelta, TextDelta, Usage
from .providers.errors import ProviderError
from .rendering import RENDER_VERSION, RenderUpdate, StreamRenderer
from .store import MessageRecord, Store

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 0.25  # seconds: at most ~4 database writes per second per reply
KEEPALIVE_INTERVAL = 15.0  # seconds of silence before an SSE comment keeps clients awake
FINISHED_GRACE = 120.0  # seconds a finished generation's log stays replayable from memory

StreamFactory = Callable[[Cancel], Iterator[Event]]
MessageView = Callable[[MessageRecord], dict]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    seq: int
    type: str
    data: dict
    wire: bytes


def sse_bytes(seq: int, event_type: str, data: dict) -> bytes:
    """One Server-Sent Event: `id`, `event` and a single `data:` line of JSON."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {seq}\nevent: {event_type}\ndata: {payload}\n\n".encode()


@dataclass(slots=True)
class _Progress:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    first_token_at: float | None = None


class Generation:
    """One assistant reply being produced; safe to read from any thread."""

    def __init__(
        self,
        *,
        store: Store,
        user_message: MessageRecord,
        assistant_message: MessageRecord,
        stream: StreamFactory,
        message_view: MessageView,
        extra_start: dict | None = None,
    ) -> None:
        self.message_id = assistant_message.id
        self.session_id = assistant_message.session_id
        self._store = store
        self._stream = stream
        self._view = message_view
        self.cancel = Cancel()
        self._cond = threading.Condition()
        self._events: list[LoggedEvent] = []
        self._render_state: RenderUpdate | None = None
        self._progress = _Progress()
        self._renderer = StreamRenderer()
        self._end_status: str | None = None  # set by stop()/shutdown before cancelling
        self._claimed = False  # the first ending (worker, stop fallback) wins
        self._dirty = False  # text arrived since the last checkpoint
        self._finalized = False  # the final events are in the log
        self.finished_at: float | None = None
        self.started_at = time.monotonic()
        self.accepted = threading.Event()  # first provider event, or the end
        self.early_error: ProviderError | None = None  # failed before any event arrived
        self.final_message: dict | None = None
        start = {
            "user_message": message_view(user_message),
            "assistant_message": message_view(assistant_message),
        }
        if extra_start:
            start.update(extra_start)
        self._append("start", start)
        self._thread = threading.Thread(
            target=self._run, name=f"generation-{self.message_id[:8]}", daemon=True
        )

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def finished(self) -> bool:
        return self._finalized

    def stop(self, status: str = "stopped") -> None:
        """Close the upstream request; the partial reply is saved with `status`."""
        with self._cond:
            if self._end_status is None:
                self._end_status = status
        self.cancel.cancel()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def wait_finished(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._finalized, timeout)

    def force_end(self) -> None:
        """Save and close the reply even though the worker is still blocked somewhere."""
        self._finalize(self._end_status or "stopped", None)

    # --- the worker -------------------------------------------------------------------------

    def _run(self) -> None:
        progress = self._progress
        error: ProviderError | None = None
        try:
            for event in self._stream(self.cancel):
                if self._claimed:
                    return
                self._apply(event)
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # a bug or an unexpected transport failure: keep the text
            log.exception("generation %s failed", self.message_id)
            error = ProviderError(
                "Something went wrong while receiving the reply. The partial reply is saved; "
                "try again.",
                detail=repr(exc),
            )
            error.code = "internal_error"
        if self.cancel.cancelled:
            self._finalize(self._end_status or "stopped", None)
        elif error is not None:
            if not (progress.content or progress.reasoning):
                self.early_error = error
            self._finalize("error", error)
        else:
            self._finalize("complete", None)

    def _apply(self, event: Event) -> None:
        progress = self._progress
        if isinstance(event, TextDelta):
            if not event.text:
                return
            if progress.first_token_at is None:
                progress.first_token_at = time.monotonic()
            progress.content.append(event.text)
            self._dirty = True
            update = self._renderer.feed(event.text)
            with self._cond:
                self._append_locked("delta", {"text": event.text})
                if update is not None:
                    self._append_render_locked(update)
                self._cond.notify_all()
        elif isinstance(event, ReasoningDelta):
            if not event.text:
                return
            if progress.first_token_at is None:
                progress.first_token_at = time.monotonic()
            progress.reasoning.append(event.text)
            self._dirty = True
            self._append("reasoning", {"text": event.text})
        elif isinstance(event, Usage):
            progress.usage = event
        elif isinstance(event, Finish):
            progress.finish_reason = event.reason
        self.accepted.set()

    def take_checkpoint(self) -> tuple[str, str, str] | None:
        """(id, content, reasoning) if the text changed since the last checkpoint.

        The store writes checkpoints only while the row is still 'streaming', so one that
        lands after the final save cannot overwrite it."""
        if self._claimed or not self._dirty:
            return None
        self._dirty = False
        return (
            self.message_id,
            "".join(self._progress.content),
            "".join(self._progress.reasoning),
        )

    def checkpoint_failed(self) -> None:
        self._dirty = True

    def _usage(self, ended_at: float) -> dict | None:
        progress = self._progress
        usage = progress.usage
        prompt = usage.prompt_tokens if usage else None
        completion = usage.completion_tokens if usage else None
        first = progress.first_token_at
        speed = None
        if completion:
            seconds = usage.generation_seconds if usage else None
            if not seconds and first is not None:
                seconds = ended_at - first
            if seconds and seconds > 0:
                speed = round(completion / seconds, 2)
        if prompt is None and completion is None and first is None:
            return None
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "tokens_per_second": speed,
            "time_to_first_token_ms": (
                round((first - self.started_at) * 1000, 1) if first is not None else None
            ),
            "duration_ms": round((ended_at - self.started_at) * 1000, 1),
            "finish_reason": progress.finish_reason,
        }

    def _finalize(self, status: str, error: ProviderError | None) -> None:
        with self._cond:
            if self._claimed:
                return
            self._claimed = True
        ended_at = time.monotonic()
        content = "".join(self._progress.content)
        error_dict = {"code": error.code, "message": error.message} if error else None
        update = self._renderer.finish()  # its html equals a full render of the final text
        try:
            self._store.save_progress(
                self.message_id,
                content=content,
                reasoning="".join(self._progress.reasoning),
                status=status,
                error=error_dict,
                usage=self._usage(ended_at),
            )
            self._store.set_html(self.message_id, self._renderer.html, RENDER_VERSION)
            record = self._store.get_message(self.message_id)
            message = self._view(record) if record else None
        except Exception:
            log.exception("final save of %s failed", self.message_id)
            message = None
        with self._cond:
            self._append_render_locked(update)
            if error is not None:
                self._append_locked(
                    "error",
                    {"code": error.code, "message": error.message, "message_id": self.message_id},
                )
            else:
                self._append_locked("done", {"message": message})
            self.final_message = message
            self.finished_at = time.monotonic()
            self._finalized = True
            self._cond.notify_all()
        self.accepted.set()

    # --- the event log ----------------------------------------------------------------------

    def _append(self, event_type: str, data: dict) -> None:
        with self._cond:
            self._append_locked(event_type, data)
            self._cond.notify_all()

    def _append_locked(self, event_type: str, data: dict) -> LoggedEvent:
        seq = len(self._events) + 1
        event = LoggedEvent(seq, event_type, data, sse_bytes(seq, event_type, data))
        self._events.append(event)
        return event

    def _append_render_locked(self, update: RenderUpdate) -> None:
        self._render_state = (
            update if self._render_state is None else self._render_state.merge(update)
        )
        self._append_locked("render", update.to_json())

    @property
    def last_seq(self) -> int:
        return len(self._events)

    def snapshot(self) -> tuple[str, str, int, str]:
        """(content, reasoning, last sequence number, html so far) of the live reply."""
        with self._cond:
            state = self._render_state
            html = "".join(state.blocks) + state.tail if state else ""
            return (
                "".join(self._progress.content),
                "".join(self._progress.reasoning),
                len(self._events),
                html,
            )

    def _replay_locked(self, after: int) -> bytes:
        """Events after `after`; the render updates among them fold into one full snapshot."""
        pending = self._events[after:]
        last_render = max((e.seq for e in pending if e.type == "render"), default=None)
        parts = []
        for event in pending:
            if event.type != "render":
                parts.append(event.wire)
            elif event.seq == last_render and self._render_state is not None:
                parts.append(sse_bytes(event.seq, "render", self._render_state.to_json()))
        return b"".join(parts)

    def follow(self, after: int = 0) -> Iterator[bytes]:
        """SSE bytes: the replay after `after`, then live events until the generation ends."""
        with self._cond:
            after = max(0, min(after, len(self._events)))
            chunk = self._replay_locked(after)
            position = len(self._events)
            ended = self._finalized
        if chunk:
            yield chunk
        while not ended:
            with self._cond:
                if position == len(self._events) and not self._finalized:
                    self._cond.wait(KEEPALIVE_INTERVAL)
                batch = self._events[position:]
                position += len(batch)
                ended = self._finalized and position == len(self._events)
            if batch:
                yield b"".join(event.wire for event in batch)
            elif not ended:
                yield b": keep-alive\n\n"


class Engine:
    """Runs generations and finds them again by assistant message id."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._generations: dict[str, Generation] = {}
        self._closed = False
        self._wake = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def start(
        self,
        *,
        user_message: MessageRecord,
        assistant_message: MessageRecord,
        stream: StreamFactory,
        message_view: MessageView,
        extra_start: dict | None = None,
    ) -> Generation:
        generation = Generation(
            store=self._store,
            user_message=user_message,
            assistant_message=assistant_message,
            stream=stream,
            message_view=message_view,
            extra_start=extra_start,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine is shut down")
            self._prune_locked()
            self._generations[generation.message_id] = generation
            if self._checkpointer is None:
                self._checkpointer = threading.Thread(
                    target=self._checkpoint_loop, name="checkpoints", daemon=True
                )
                self._checkpointer.start()
        generation.start()
        return generation

    def _checkpoint_loop(self) -> None:
        while not self._wake.wait(CHECKPOINT_INTERVAL):
            self.checkpoint()
            with self._lock:
                self._prune_locked()

    def checkpoint(self) -> None:
        """Save every running reply whose text changed, in one transaction."""
        taken = [(g, g.take_checkpoint()) for g in self.running()]
        taken = [(g, saved) for g, saved in taken if saved is not None]
        if not taken:
            return
        try:
            self._store.save_progress_many([saved for _, saved in taken])
        except Exception:  # a busy or full disk must not end the replies; the end saves again
            log.exception("checkpoint failed")
            for generation, _ in taken:
                generation.checkpoint_failed()

    def get(self, message_id: str) -> Generation | None:
        with self._lock:
            return self._generations.get(message_id)

    def running(self) -> list[Generation]:
        with self._lock:
            return [g for g in self._generations.values() if not g.finished]

    def _prune_locked(self) -> None:
        now = time.monotonic()
        for message_id, generation in list(self._generations.items()):
            if generation.finished_at is not None and now - generation.finished_at > FINISHED_GRACE:
                del self._generations[message_id]

    def stop(self, message_id: str, timeout: float = 2.0) -> Generation | None:
        """Stop a running reply and wait (briefly) until it is saved."""
        generation = self.get(message_id)
        if generation is None:
            return None
        generation.stop("stopped")
        if not generation.wait_finished(timeout):
            generation.force_end()
        return generation

    def shutdown(self, timeout: float = 1.5) -> int:
        """Save every running reply as `interrupted`; returns how many were running."""
        with self._lock:
            self._closed = True
            running = [g for g in self._generations.values() if not g.finished]
        self._wake.set()
        for generation in running:
            generation.stop("interrupted")
        deadline = time.monotonic() + timeout
        for generation in running:
            if not generation.wait_finished(max(0.0, deadline - time.monotonic())):
                generation.force_end()
        return len(running)
