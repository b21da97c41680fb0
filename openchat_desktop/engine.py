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
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .providers.base import Cancel, Event, Finish, ReasoningDelta, TextDelta, Usage
from .providers.errors import ProviderError
from .rendering import RENDER_VERSION, RenderUpdate, StreamRenderer
from .store import MessageRecord, Store

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 0.25  # seconds: at most ~4 database writes per second per reply
KEEPALIVE_INTERVAL = 15.0  # seconds of silence before an SSE comment keeps clients awake
FINISHED_GRACE = 120.0  # seconds a finished generation's log stays replayable from memory
COMPACT_AFTER = 5.0  # seconds after its end a reply's per-token log is folded (see _FinishedLog)

MessageView = Callable[[MessageRecord], dict]


@dataclass(frozen=True, slots=True)
class Phase:
    """A stream starts a named phase (Plan Mode: "plan", then "executor") with this model;
    the reply's `meta` then holds each phase's model, duration and how it ended."""

    name: str
    model: str


@dataclass(frozen=True, slots=True)
class PlanDelta:
    """Text of the plan (Plan Mode's first phase), sent to clients as `plan` events."""

    text: str


TEXT_KINDS = ("delta", "reasoning", "plan")  # event types whose data is one text delta
StreamFactory = Callable[[Cancel], Iterator[Event | Phase | PlanDelta]]


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


class _TextTrack:
    """Where each delta of one kind (reply text or reasoning) ended, so the text after any
    sequence number can be cut from the whole without keeping one event per token."""

    def __init__(self, events: list[LoggedEvent], kind: str) -> None:
        self.seqs = array("q")
        self.ends = array("q")
        pieces = []
        end = 0
        for event in events:
            if event.type == kind:
                pieces.append(event.data["text"])
                end += len(pieces[-1])
                self.seqs.append(event.seq)
                self.ends.append(end)
        self.text = "".join(pieces)

    def after(self, seq: int) -> tuple[int, str] | None:
        """(sequence number of the last delta, all text after `seq`), or None."""
        index = bisect_right(self.seqs, seq)
        if index == len(self.seqs):
            return None
        start = self.ends[index - 1] if index else 0
        return self.seqs[-1], self.text[start:]


class _FinishedLog:
    """A finished reply's log in a few kilobytes instead of ~500 bytes per token.

    Replaying after any sequence number stays exact: the deltas after it arrive as one
    `delta` (and one `reasoning`) carrying the last delta's sequence number, and the render
    updates as one snapshot, so concatenated text has no gap and no repeat."""

    def __init__(self, events: list[LoggedEvent], render_state: RenderUpdate | None) -> None:
        self.length = len(events)
        self.tracks = {kind: _TextTrack(events, kind) for kind in TEXT_KINDS}
        self.others = [e for e in events if e.type not in (*TEXT_KINDS, "render")]
        renders = [e.seq for e in events if e.type == "render"]
        self.render_seq = renders[-1] if renders else None
        self.render = render_state.to_json() if render_state is not None else None

    def replay(self, after: int) -> bytes:
        items = [(e.seq, e.wire) for e in self.others if e.seq > after]
        for kind, track in self.tracks.items():
            found = track.after(after)
            if found is not None:
                items.append((found[0], sse_bytes(found[0], kind, {"text": found[1]})))
        if self.render_seq is not None and self.render_seq > after and self.render is not None:
            items.append((self.render_seq, sse_bytes(self.render_seq, "render", self.render)))
        items.sort(key=lambda item: item[0])
        return b"".join(wire for _, wire in items)


@dataclass(slots=True)
class _Progress:
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    first_token_at: float | None = None
    plan: list[str] | None = None  # None: this reply has no plan phase
    phases: list[tuple[str, str, float]] = field(default_factory=list)  # (name, model, start)
    first_text_at: float | None = None  # the answer began: thinking (if any) ended


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
        self._folded: _FinishedLog | None = None  # replaces _events once finished and idle
        self._followers = 0
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

    # --- life cycle -------------------------------------------------------------------------


    @property
    def finished(self) -> bool:
        return self._finalized

    def stop(self, status: str = "stopped") -> None:
        """Close the upstream request; the partial reply is saved with `status`."""
        with self._cond:
            if self._end_status is None:
                self._end_status = status
        self.cancel.cancel()

    def wait_finished(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._finalized, timeout)

    def force_end(self) -> None:
        """Save and close the reply even though the worker is still blocked somewhere."""
        self._finalize(self._end_status or "stopped", None)

    # --- the worker -------------------------------------------------------------------------

    def run(self) -> None:
        """The worker: pull provider events until the reply ends, then save its end."""
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
            if not (progress.content or progress.reasoning or progress.plan):
                self.early_error = error
            self._finalize("error", error)
        else:
            self._finalize("complete", None)

    def _apply(self, event: Event) -> None:
        progress = self._progress
        if isinstance(event, TextDelta):
            if not event.text:
                return
            if progress.first_text_at is None:
                progress.first_text_at = time.monotonic()
                if progress.first_token_at is None:
                    progress.first_token_at = progress.first_text_at
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
        elif isinstance(event, PlanDelta):
            if not event.text:
                return
            if progress.plan is None:
                progress.plan = []
            progress.plan.append(event.text)
            self._dirty = True
            self._append("plan", {"text": event.text})
        elif isinstance(event, Phase):
            if event.name == "plan" and progress.plan is None:
                progress.plan = []
            progress.phases.append((event.name, event.model, time.monotonic()))
            return  # a marker: not yet a sign of life from the provider
        elif isinstance(event, Usage):
            progress.usage = event
        elif isinstance(event, Finish):
            progress.finish_reason = event.reason
        if not self.accepted.is_set():
            self.accepted.set()
            # Hand the GIL to the request thread waiting for this event now: left to the
            # interpreter, it may wait a whole switch interval (5 ms) while this thread parses.
            time.sleep(0)

    def take_checkpoint(self) -> tuple[str, str, str, str | None] | None:
        """(id, content, reasoning, plan) if the text changed since the last checkpoint.

        The store writes checkpoints only while the row is still 'streaming', so one that
        lands after the final save cannot overwrite it."""
        if self._claimed or not self._dirty:
            return None
        self._dirty = False
        return (
            self.message_id,
            "".join(self._progress.content),
            "".join(self._progress.reasoning),
            self._plan_text(),
        )

    def _plan_text(self) -> str | None:
        plan = self._progress.plan
        return None if plan is None else "".join(plan)

    def _phase_meta(self, status: str, ended_at: float) -> dict | None:
        """{phase name: {"model", "ms", "status"}}: earlier phases completed, the last one
        ended the way the reply did."""
        phases = self._progress.phases
        meta = {}
        for index, (name, model, started) in enumerate(phases):
            last = index == len(phases) - 1
            end = ended_at if last else phases[index + 1][2]
            meta[name] = {
                "model": model,
                "ms": round((end - started) * 1000, 1),
                "status": status if last else "complete",
            }
        return meta or None

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
            # How long the model thought: from its first reasoning to its first answer text.
            "thinking_ms": (
                round(((progress.first_text_at or ended_at) - first) * 1000, 1)
                if progress.reasoning and first is not None else None
            ),
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
                plan=self._plan_text(),
                meta=self._phase_meta(status, ended_at),
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
        return self._folded.length if self._folded is not None else len(self._events)

    def compact(self) -> bool:
        """Fold the finished log when nobody follows it any more; True if it was folded."""
        with self._cond:
            if not self._finalized or self._followers or self._folded is not None:
                return False
            self._folded = _FinishedLog(self._events, self._render_state)
            self._events = []
            return True

    def snapshot(self) -> tuple[str, str, int, str, str | None]:
        """(content, reasoning, last sequence number, html so far, plan) of the live reply."""
        with self._cond:
            state = self._render_state
            html = "".join(state.blocks) + state.tail if state else ""
            return (
                "".join(self._progress.content),
                "".join(self._progress.reasoning),
                self.last_seq,
                html,
                self._plan_text(),
            )

    def _replay_locked(self, after: int) -> bytes:
        """Events after `after`, compacted: the render updates fold into one full snapshot at
        the last one's place, and each run of adjacent deltas (or reasoning deltas) into one
        event carrying the run's last sequence number (likewise plan deltas) — the text stays
        exact from any point."""
        if self._folded is not None:
            return self._folded.replay(after)
        pending = self._events[after:]
        last_render = max((e.seq for e in pending if e.type == "render"), default=None)
        parts: list[bytes] = []
        run: list[LoggedEvent] = []

        def close_run() -> None:
            if run:
                text = "".join(e.data["text"] for e in run)
                parts.append(sse_bytes(run[-1].seq, run[-1].type, {"text": text}))
                run.clear()

        for event in pending:
            if event.type in TEXT_KINDS:
                if run and run[-1].type != event.type:
                    close_run()
                run.append(event)
            elif event.type != "render":
                close_run()
                parts.append(event.wire)
            elif event.seq == last_render and self._render_state is not None:
                close_run()
                parts.append(sse_bytes(event.seq, "render", self._render_state.to_json()))
        close_run()
        return b"".join(parts)

    def follow(self, after: int = 0) -> Iterator[bytes]:
        """SSE bytes: the replay after `after`, then live events until the generation ends."""
        with self._cond:
            after = max(0, min(after, self.last_seq))
            chunk = self._replay_locked(after)
            position = self.last_seq
            ended = self._finalized
            self._followers += 1
        try:
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
        finally:
            with self._cond:
                self._followers -= 1


class Engine:
    """Runs generations and finds them again by assistant message id."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._generations: dict[str, Generation] = {}
        self._closed = False
        self._wake = threading.Event()
        self._checkpointer: threading.Thread | None = None
        # Reused worker threads: starting a new thread per reply waits for it to be
        # scheduled (~1 ms on a busy machine), straight in the time to first token.
        self._workers = ThreadPoolExecutor(max_workers=64, thread_name_prefix="generation")

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
            self._generations[generation.message_id] = generation
            if self._checkpointer is None:
                self._checkpointer = threading.Thread(
                    target=self._checkpoint_loop, name="checkpoints", daemon=True
                )
                self._checkpointer.start()
        self._workers.submit(generation.run)
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
            if generation.finished_at is None:
                continue
            age = now - generation.finished_at
            if age > FINISHED_GRACE:
                del self._generations[message_id]
            elif age > COMPACT_AFTER:
                generation.compact()

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
        self._workers.shutdown(wait=False, cancel_futures=True)
        return len(running)
