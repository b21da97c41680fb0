"""One reply being produced: the worker that pulls a stream's events into the reply's log,
times it, renders it as it streams and saves its end.

Only Stop or shutdown ends a generation early; a client going away never does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import AppError
from ..providers.base import (
    FallingBack,
    Finish,
    ReasoningDelta,
    Retrying,
    TextDelta,
    Usage,
    Waiting,
)
from ..providers.errors import InternalError, ProviderError
from ..rendering import RenderUpdate, StreamRenderer
from .events import (
    CONTENT,
    FALLBACK,
    REASONING,
    RENDER,
    RETRY,
    DataEvent,
    NamedText,
    Phase,
    StreamEvent,
    StreamFactory,
)
from .job import Job
from .log import KEEPALIVE_INTERVAL
from .recording import Checkpoint, Ending, Recorder
from .sse import KEEPALIVE

log = logging.getLogger(__name__)

# A wait before the provider is asked again that opens the stream to clients, so they can show
# it counting down. Shorter ones (a refused local connection is retried after 0.2 s, the first
# backoffs) pass unseen: the request still waits for the provider, and a failure after them is
# an HTTP error rather than an `error` event.
SHOWN_WAIT = 1.0  # seconds

# Who pulls a reply's stream (see `Generation.relay`).
WORKER = "worker"  # a worker thread
PARKED = "parked"  # nobody: the worker stopped where the relay can go on
RELAY = "relay"  # the thread of the client that asked for the reply
ENDED = "ended"  # the stream is over

# Events a relay may gather before it sends: the text of one read of the model server.
TEXT_EVENTS = (TextDelta, ReasoningDelta, NamedText)

EndHook = Callable[[str], Callable[[], None] | None]


def nothing() -> None:
    """What follows an end that nothing follows."""


def run_here(work: Callable[[], None]) -> None:
    work()


@dataclass(frozen=True, slots=True)
class LiveReply:
    """A running reply as far as it got: the sequence number a client passes as `after` to
    continue without a gap or a repeat, each text stream, and the answer's HTML so far."""

    seq: int
    texts: dict[str, str]
    html: str


class Generation(Job):
    """Safe to read from any thread."""

    def __init__(
        self,
        *,
        message_id: str,
        session_id: str,
        start: dict,
        stream: StreamFactory,
        recorder: Recorder,
        describe: Callable[[], dict | None],
        seed: Mapping[str, str] | None = None,
        on_end: EndHook | None = None,
        continue_elsewhere: Callable[[Callable[[], None]], object] | None = None,
        streaming: Callable[[], int] | None = None,
    ) -> None:
        """`seed`: the texts the reply already has, by stream (a reply being continued): kept,
        and the stream's text is appended to them. `on_end(status)` runs once the end is
        saved, before clients hear of it, and must return quickly; what it returns runs once
        they have. `continue_elsewhere(work)` runs `work` on a worker thread: the pulling a
        relay held when its client went away. `streaming()` counts the replies streaming
        now, whose live renders share the interpreter (see `StreamRenderer`)."""
        super().__init__()
        self.message_id = message_id
        self.session_id = session_id
        self._stream = stream
        self._recorder = recorder
        self._describe = describe  # the saved reply as clients see it, for `done`
        self._seed = dict(seed or {})
        self._on_end = on_end
        self._continue_elsewhere = continue_elsewhere or run_here
        self._pulling = self._pull()
        # How the stream ended, once it has: (status, error). A pulling that dies without
        # saying (an exception no handler expects) ends the reply as this error.
        self._outcome: tuple[str, ProviderError | None] = ("error", worker_failed())
        self._puller = WORKER  # who pulls the stream; changed with `log.lock` held
        self._relay_waits = False  # the relay of the client that asked waits to pull
        self._renderer = StreamRenderer(sharing=streaming or (lambda: 1))
        self._render_state: RenderUpdate | None = None
        self._usage_event: Usage | None = None
        self._finish_reason: str | None = None
        self._first_token_at: float | None = None
        self._first_text_at: float | None = None  # the answer began: thinking (if any) ended
        self._phases: list[tuple[str, str, float]] = []  # (name, model, start)
        # Each model that could not answer, with the index of the phase it was asked in
        # (-1: the reply has no phases).
        self._fallbacks: list[tuple[int, FallingBack]] = []
        self._end_status: str | None = None  # set by stop()/shutdown before cancelling
        self._claimed = False  # the first ending (worker, stop fallback) wins
        self._dirty = False  # text or a data event arrived since the last checkpoint
        self._data: list[DataEvent] = []  # the reply's data events, in order
        self.started_at = time.monotonic()
        self.accepted = threading.Event()  # first provider event, or the end
        self.early_error: AppError | None = None  # failed before any text arrived
        self.error: AppError | None = None  # how it failed, once it has
        self.final_message: dict | None = None
        self.log.append("start", start)
        if seed is not None:
            self._start_from(self._seed)

    def _start_from(self, seed: dict[str, str]) -> None:
        """The texts so far, without an event each: clients have them in `start`. One render
        of the whole answer follows `start`, so the patches after it apply to what a client
        shows, and the final HTML is still a full render of old and new text together."""
        events = self.log
        with events.lock:
            for kind, text in seed.items():
                events.seed_text(kind, text)
            self._add_render(self._renderer.seed(seed.get(CONTENT, "")))
            events.lock.notify_all()

    # --- life cycle -------------------------------------------------------------------------

    def stop(self, status: str = "stopped") -> None:
        """Close the upstream request; the partial reply is saved with `status`."""
        with self.log.lock:
            if self._end_status is None:
                self._end_status = status
        self.cancel.cancel()

    def force_end(self) -> None:
        """Save and close the reply even though the worker is still blocked somewhere."""
        self._finalize(self._end_status or "stopped", None)()

    def fail(self, error: AppError) -> None:
        """End the reply with `error` without a worker (none could be given to it)."""
        self.cancel.cancel()
        self._finalize("error", error)()

    # --- pulling: on a worker, or on the thread of the client that asked -------------------

    def run(self) -> None:
        """The worker: pull the stream until the reply ends (then save its end) or until the
        client that asked for the reply takes the pulling over (see `relay`)."""
        self._drive()

    def _drive(self) -> None:
        """Pull on this thread from where the stream is. The end is saved whatever happens
        here, even for an exception no handler expects: a worker that dies must not leave its
        reply `streaming` and its followers waiting."""
        parked = False
        try:
            while True:
                at_read_end = next(self._pulling)
                if at_read_end and self._relay_waits and self._park():
                    parked = True
                    return
        except StopIteration:
            pass  # the outcome is kept (see `_pull`)
        finally:
            if not parked:
                self._end_pulling()()

    def _park(self) -> bool:
        """At a point where everything pulled is in the log: leave the pulling to the relay
        that waits for it. False when it no longer waits."""
        with self.log.lock:
            if not self._relay_waits:
                return False
            self._puller = PARKED
            self.log.lock.notify_all()
            return True

    def _end_pulling(self) -> Callable[[], None]:
        """Save the end as the pulling left it; returns what follows it, to run once clients
        have heard of it."""
        with self.log.lock:
            self._puller = ENDED
        return self._finalize(*self._outcome)

    def relay(self) -> Iterator[bytes]:
        """SSE bytes for the client that asked for the reply: what happened so far, then each
        event as it comes. Once the worker ends a read of the model server, this thread pulls
        the stream itself and sends what each read brought as soon as it is applied: no
        hand-off between threads per token. Anything but text (a tool call, a wait) hands the
        pulling back to a worker until text flows again, so this thread is free to send
        keep-alives meanwhile. When the client goes away, a worker takes the pulling back: a
        client leaving never ends a reply. A second relay of the same reply only follows."""
        events = self.log
        with events.lock:
            chunk = events.replay(0)
            position = events.last_seq
            ended = events.closed
            mine = not ended and not self._relay_waits and self._puller == WORKER
            if mine:
                self._relay_waits = True
            events.join()
        pulling = False
        after: Callable[[], None] | None = None
        try:
            if chunk:
                yield chunk
            while not ended:
                if pulling:
                    try:
                        if not next(self._pulling):
                            # Not text: what follows may be a tool at work or a wait. A
                            # worker pulls through it while this thread follows, sending
                            # keep-alives, and parks again at the next read's end.
                            pulling = False
                            self._give_back()
                    except StopIteration:
                        # The last words go out now, not after the end is saved; should the
                        # client be gone, leaving the relay saves the end.
                        chunk, position = events.since(position)
                        if chunk:
                            yield chunk
                        pulling = False
                        after = self._end_pulling()
                waited = False
                with events.lock:
                    if not pulling:
                        pulling = self._take_pulling(mine)
                        if not (pulling or events.closed) and position == events.last_seq:
                            events.lock.wait(KEEPALIVE_INTERVAL)
                            waited = True
                            pulling = self._take_pulling(mine)
                    chunk, position = events.since(position)
                    ended = events.closed
                if chunk:
                    yield chunk
                elif waited and not ended and not pulling:
                    yield KEEPALIVE
        finally:
            events.leave()
            if after is not None:
                after()
            self._leave_relay(mine)

    def _give_back(self) -> None:
        """The relay hands the pulling to a worker and waits to take it again."""
        with self.log.lock:
            self._puller = WORKER
        self._continue_elsewhere(self._drive)

    def _take_pulling(self, mine: bool) -> bool:
        """With `log.lock` held: whether the worker parked for this relay, now taken over."""
        if mine and self._puller == PARKED:
            self._puller = RELAY
            return True
        return False

    def _leave_relay(self, mine: bool) -> None:
        """The relay's client went away (or the reply ended): a worker goes on pulling if the
        relay held the pulling, or was about to be given it."""
        if not mine:
            return
        with self.log.lock:
            self._relay_waits = False
            resume = self._puller in (PARKED, RELAY)
            if resume:
                self._puller = WORKER
        if resume:
            self._continue_elsewhere(self._drive)

    def _pull(self) -> Generator[bool, None, tuple[str, ProviderError | None]]:
        """Apply the stream's events, pausing at each point where all that was pulled is in
        the log: True where a read of the model server ended and the next one may wait for
        the network; False after an event other than text (a tool call, a phase, a wait
        before a retry), which may be followed by a long wait of another kind. Returns how
        the stream ended: (status, error)."""
        error: ProviderError | None = None
        try:
            # Stopped while it waited for a worker: the provider is never asked.
            if not self.cancel.cancelled:
                for event in self._stream(self.cancel):
                    if self._claimed:
                        break
                    if isinstance(event, Waiting):
                        yield True
                        continue
                    self._apply(event)
                    if not isinstance(event, TEXT_EVENTS):
                        yield False
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # a bug or an unexpected transport failure: keep the text
            log.exception("generation %s failed", self.message_id)
            error = worker_failed(detail=repr(exc))
        if self.cancel.cancelled:
            self._outcome = (self._end_status or "stopped", None)
        elif error is not None:
            self._outcome = ("error", error)
        else:
            self._outcome = ("complete", None)
        return self._outcome

    def _apply(self, event: StreamEvent) -> None:
        # The per-token path: one lock, one log event (and a render patch now and then).
        if isinstance(event, TextDelta):
            text = event.text
            if not text:
                return
            if self._first_text_at is None:
                self._first_text_at = time.monotonic()
                if self._first_token_at is None:
                    self._first_token_at = self._first_text_at
            self._dirty = True
            update = self._renderer.feed(text)
            events = self.log
            with events.lock:
                events.add_text(CONTENT, text)
                if update is not None:
                    self._add_render(update)
                events.lock.notify_all()
        elif isinstance(event, ReasoningDelta):
            if not event.text:
                return
            if self._first_token_at is None:
                self._first_token_at = time.monotonic()
            self._dirty = True
            self.log.append_text(REASONING, event.text)
        elif isinstance(event, NamedText):
            # Text of an earlier step, written before the answer: not its first token.
            if not event.text:
                return
            self._dirty = True
            self.log.append_text(event.stream, event.text)
        elif isinstance(event, DataEvent):
            with self.log.lock:
                self._data.append(event)
                self._dirty = True
                self.log.add(event.kind, event.data)
                self.log.lock.notify_all()
        elif isinstance(event, Phase):
            if event.stream is not None:
                self.log.open_text(event.stream)
            self._phases.append((event.name, event.model, time.monotonic()))
            return  # a marker: not yet a sign of life from the provider
        elif isinstance(event, Usage):
            self._usage_event = event
        elif isinstance(event, Finish):
            self._finish_reason = event.reason
        elif isinstance(event, FallingBack):
            self._fall_back(event)
            # Not a sign of life: the request waits for the next model's first event, so a
            # reply no model can give is still a plain HTTP error.
            return
        elif isinstance(event, Retrying):
            self.log.append(RETRY, {"attempt": event.attempt, "seconds": event.seconds,
                                    "reason": event.reason})
            if event.seconds < SHOWN_WAIT:
                return  # not worth opening the stream for (see SHOWN_WAIT)
        if not self.accepted.is_set():
            self.accepted.set()
            # Hand the GIL to the request thread waiting for this event now: left to the
            # interpreter, it may wait a whole switch interval (5 ms) while this thread parses.
            time.sleep(0)

    def _fall_back(self, event: FallingBack) -> None:
        """Another model answers instead: clients hear it at once, the running phase takes
        its model, and the end records why each earlier model did not answer."""
        with self.log.lock:
            self._fallbacks.append((len(self._phases) - 1, event))
            if self._phases:
                name, _, started = self._phases[-1]
                self._phases[-1] = (name, event.next, started)
            self._dirty = True
            self.log.add(FALLBACK, {"from": event.failed, "to": event.next,
                                    "reason": event.reason})
            self.log.lock.notify_all()

    def _add_render(self, update: RenderUpdate) -> None:
        """With `log.lock` held: the patch goes to clients, the merged whole to replays."""
        state = update if self._render_state is None else self._render_state.merge(update)
        self._render_state = state
        self.log.add_state(RENDER, update.to_json(), state.to_json)

    # --- saving -----------------------------------------------------------------------------

    def take_checkpoint(self) -> Checkpoint | None:
        """The text so far, if it changed since the last checkpoint."""
        if self._claimed or not self._dirty:
            return None
        self._dirty = False
        with self.log.lock:
            return Checkpoint(self.message_id, self.log.texts(), tuple(self._data))

    def checkpoint_failed(self) -> None:
        self._dirty = True

    def reported_tokens(self) -> int | None:
        """Prompt and answer tokens as the model reported them (its last report), if it has."""
        usage = self._usage_event
        if usage is None or (usage.prompt_tokens is None and usage.completion_tokens is None):
            return None
        return (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)

    def snapshot(self) -> LiveReply:
        with self.log.lock:
            seen = self.log.snapshot()
            state = self._render_state
            html = "".join(state.blocks) + state.tail if state else ""
        return LiveReply(seen.seq, seen.texts, html)

    def _phase_meta(self, status: str, ended_at: float) -> dict[str, dict[str, Any]] | None:
        """{phase name: {"model", "ms", "status"}}: earlier phases completed, the last one
        ended the way the reply did."""
        phases = self._phases
        meta = {}
        for index, (name, model, started) in enumerate(phases):
            last = index == len(phases) - 1
            end = ended_at if last else phases[index + 1][2]
            meta[name] = {
                "model": model,
                "ms": round((end - started) * 1000, 1),
                "status": status if last else "complete",
            }
            record = fallback_record([f for at, f in self._fallbacks if at == index], True)
            if record is not None:
                meta[name]["fallback"] = record
        return meta or None

    def _answer_fallback(self, answered: bool) -> dict[str, Any] | None:
        """How the answer's model was chosen, when it was not the one asked: the answer is
        the last phase, or the whole reply when it has none."""
        answer = len(self._phases) - 1
        return fallback_record([f for at, f in self._fallbacks if at == answer], answered)

    def _usage(self, ended_at: float, thought: bool) -> dict[str, Any] | None:
        usage = self._usage_event
        prompt = usage.prompt_tokens if usage else None
        completion = usage.completion_tokens if usage else None
        first = self._first_token_at
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
                round(((self._first_text_at or ended_at) - first) * 1000, 1)
                if thought and first is not None else None
            ),
            "finish_reason": self._finish_reason,
        }

    def _finalize(self, status: str, error: AppError | None) -> Callable[[], None]:
        """Save the reply's end once, then send its last event and close its log. The log
        closes even when saving or rendering fails, so no follower waits forever."""
        with self.log.lock:
            if self._claimed:
                return nothing
            self._claimed = True
        texts = self.log.texts()
        update: RenderUpdate | None = None
        message: dict | None = None
        after: Callable[[], None] = nothing
        try:
            update, saved = self._save_end(texts, status, error)
            if saved:
                message = self._describe()
                after = self._ended(status)
            elif error is None:
                error = unsaved()
        except Exception:
            log.exception("the end of %s could not be described", self.message_id)
        finally:
            self.error = error
            if error is not None and not self._grew(texts):
                self.early_error = error
            with self.log.lock:
                if update is not None:
                    try:
                        self._add_render(update)
                    except Exception:
                        log.exception("the last render patch of %s failed", self.message_id)
                if error is not None:
                    self.log.add("error", {"code": error.code, "message": error.message,
                                           "message_id": self.message_id})
                else:
                    self.log.add("done", {"message": message})
                self.final_message = message
                self.finish()
            self.accepted.set()
        return after

    def _grew(self, texts: dict[str, str]) -> bool:
        """Whether any text arrived beyond the seed."""
        return any(text != self._seed.get(kind, "") for kind, text in texts.items())

    def _ended(self, status: str) -> Callable[[], None]:
        """Run `on_end`; what it returns, guarded the same way, to run once clients know."""
        if self._on_end is None:
            return nothing
        try:
            follow_up = self._on_end(status)
        except Exception:  # whatever follows a reply must not keep its end from its clients
            log.exception("what follows the end of %s failed", self.message_id)
            return nothing
        if follow_up is None:
            return nothing

        def guarded() -> None:
            try:
                follow_up()
            except Exception:
                log.exception("what follows the end of %s failed", self.message_id)

        return guarded

    def _save_end(
        self, texts: dict[str, str], status: str, error: AppError | None
    ) -> tuple[RenderUpdate | None, bool]:
        """Hand the end to the recorder: (the last render patch, whether it was saved). What
        fails to render or to measure is left out rather than losing the end; a save that
        fails is tried once more with only the text, the status and the error."""
        ended_at = time.monotonic()
        update: RenderUpdate | None = None
        html: str | None = None
        try:
            update = self._renderer.finish()  # its html equals a full render of the text
            html = self._renderer.html
        except Exception:
            log.exception("the final render of %s failed", self.message_id)
        try:
            usage = self._usage(ended_at, bool(texts.get(REASONING)))
            phases = self._phase_meta(status, ended_at)
        except Exception:
            log.exception("the measures of %s failed", self.message_id)
            usage = phases = None
        # A fallback that failed too before writing anything did not answer.
        fallback = self._answer_fallback(error is None or self._grew(texts))
        ending = Ending(
            message_id=self.message_id,
            texts=texts,
            status=status,
            error={"code": error.code, "message": error.message} if error else None,
            usage=usage,
            phases=phases,
            html=html,
            data=tuple(self._data),
            model=fallback.get("answered") if fallback else None,
            fallback=fallback,
        )
        for attempt in (ending, replace(ending, usage=None, phases=None, html=None)):
            try:
                self._recorder.save_end(attempt)
                return update, True
            except Exception:
                log.exception("final save of %s failed", self.message_id)
        return update, False


def fallback_record(fallbacks: list[FallingBack], answered: bool) -> dict[str, Any] | None:
    """{"asked", "answered", "failures": [{"model", "reason"}]} for models that fell back in
    turn; without "answered" when the last one failed too."""
    if not fallbacks:
        return None
    record: dict[str, Any] = {
        "asked": fallbacks[0].failed,
        "failures": [{"model": f.failed, "reason": f.reason} for f in fallbacks],
    }
    if answered:
        record["answered"] = fallbacks[-1].next
    return record


def worker_failed(detail: str | None = None) -> InternalError:
    return InternalError(
        "Something went wrong while receiving the reply. The partial reply is saved; try "
        "again.",
        detail=detail,
    )


def unsaved() -> InternalError:
    return InternalError(
        "The reply could not be saved to the chat's database. Check that the disk has free "
        "space, then try again."
    )
