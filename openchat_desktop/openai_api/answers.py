"""Where a call's answer comes from, and how it goes out.

A recorded call is a reply like any other: the engine's worker pulls the provider's stream,
saves it as it grows and ends it however it ends; the request reads the same events from a
queue the stream feeds, so tool calls and usage reach the client as the provider sent them.
A client that goes away stops the reply, which is saved `stopped`.

A call not recorded is streamed from the router in the request thread, and nothing is
written anywhere; a client that goes away closes the provider's socket at once.

Either way the first event is awaited before the response starts, so a failure before any
text (the provider down, an unknown model) is a plain HTTP error; a failure later ends the
stream with an error chunk.
"""

from __future__ import annotations

import itertools
import logging
import queue
from collections.abc import Generator, Iterator
from typing import Any, Protocol

from ..access.limits import Metered
from ..chat import ChatService
from ..chat.capabilities import think_parameter
from ..chat.options import Options
from ..chat.recorded import recordable
from ..engine import Generation, StreamFactory
from ..engine.generation import worker_failed
from ..errors import AppError
from ..providers.base import Cancel, ChatRequest, Event, FallingBack, Retrying, Waiting
from ..providers.router import ResolvedModel, Router
from .requests import CompletionRequest
from .responses import Completion, error_body, sse

log = logging.getLogger(__name__)

END = object()  # the recorded stream ended, however it did
QUEUE_POLL = 1.0  # seconds between looks at a reply that may have been ended without its stream


class Answer(Protocol):
    completion: Completion

    @property
    def metered(self) -> Generation | Metered:
        """What counts toward the caller's tokens per minute."""

    def events(self) -> Iterator[Event]: ...

    def close(self) -> None: ...


def start_answer(chat: ChatService, router: Router, asked: CompletionRequest, *,
                 record: bool) -> Answer:
    """The answer to a checked call: recorded as a chat when the call and the caller allow it
    (`record`: the caller's key keeps chats) and its last message can be answered in one,
    otherwise streamed straight from the provider."""
    # The settings' fallbacks answer here too; a call has no chat of its own to set others.
    model = router.model(asked.model, chat.fallbacks_for(None, asked.model))
    think = asked.think
    if think is not None:
        think = think_parameter(think, chat.capabilities.facts(model), model.name)
    request = ChatRequest(model=model.name, messages=asked.messages, think=think,
                          options=dict(asked.options), tools=asked.tools)
    completion = Completion(asked.model, asked.messages)
    if record and asked.store and recordable(asked.messages):
        return RecordedAnswer(chat, router, model, request, asked.options, completion)
    return DirectAnswer(router, model, request, completion)


class DirectAnswer:
    """A call not recorded. It is its own `Metered`: its tokens count toward the caller's
    budget as they arrive."""

    def __init__(self, router: Router, model: ResolvedModel, request: ChatRequest,
                 completion: Completion) -> None:
        self.completion = completion
        self._cancel = Cancel()
        self._stream = router.stream_chat(model, request, self._cancel)
        self._finished = False
        self._events = opened(self._stream, completion)

    @property
    def finished(self) -> bool:
        return self._finished

    def tokens_used(self) -> int:
        return self.completion.tokens_used()

    @property
    def metered(self) -> Metered:
        return self  # its tokens count as they arrive

    def events(self) -> Iterator[Event]:
        try:
            yield from self._events
        finally:
            self._finished = True

    def close(self) -> None:
        self._finished = True
        self._cancel.cancel()
        self._stream.close()


class RecordedAnswer:
    """A call kept as a chat: `generation` is its reply."""

    def __init__(self, chat: ChatService, router: Router, model: ResolvedModel,
                 request: ChatRequest, options: Options, completion: Completion) -> None:
        self.completion = completion
        self._chat = chat
        self._messages = request.messages
        self._heard: queue.Queue[Any] = queue.Queue()
        self.generation = chat.recorded.start(
            request.messages, model, teed(router, model, request, self._heard), options)
        completion.id = f"chatcmpl-{self.generation.message_id}"

    @property
    def metered(self) -> Generation:
        return self.generation

    def events(self) -> Iterator[Event]:
        """The stream's events as the worker pulls them; when it ends complete, the
        conversation is remembered so the client's next call continues this chat."""
        while True:
            try:
                item = self._heard.get(timeout=QUEUE_POLL)
            except queue.Empty:
                if self.generation.finished and self._heard.empty():
                    return  # ended without its stream (Stop while the provider hung)
                continue
            if item is END:
                break
            if isinstance(item, AppError):
                raise item
            if isinstance(item, FallingBack):
                self.completion.model = item.next
                continue
            yield item
        if not self.generation.cancel.cancelled:
            self._chat.recorded.remember(self._messages, self.completion.answer(),
                                         self.generation)

    def close(self) -> None:
        if not self.generation.finished:
            self._chat.stop(self.generation.message_id)


def teed(router: Router, model: ResolvedModel, request: ChatRequest,
         heard: queue.Queue[Any]) -> StreamFactory:
    """The reply's stream, each provider event (and each fallback) also put in `heard`, then
    how it ended: a failure (none for a Stop) and `END`."""

    def stream(cancel: Cancel) -> Generator[Event | Retrying | FallingBack, None, None]:
        try:
            for event in router.stream_chat(model, request, cancel):
                if not isinstance(event, Retrying | Waiting):
                    heard.put(event)
                yield event
        except AppError as exc:
            if not cancel.cancelled:
                heard.put(exc)
            raise
        except Exception:
            if not cancel.cancelled:
                heard.put(worker_failed())
            raise
        finally:
            heard.put(END)

    return stream


def opened(stream: Iterator[Event | Retrying | FallingBack],
           completion: Completion) -> Iterator[Event]:
    """The provider's events, the first one awaited now (a failure before it is raised
    here); waits before asking again are the server's business, not the client's. A fallback
    that answers is named as the completion's model."""

    def provider_events() -> Iterator[Event]:
        for event in stream:
            if isinstance(event, FallingBack):
                completion.model = event.next
            elif not isinstance(event, Retrying | Waiting):
                yield event

    events = provider_events()
    first = next(events, None)
    return iter(()) if first is None else itertools.chain([first], events)


def streamed(answer: Answer, include_usage: bool) -> Iterator[bytes]:
    """The answer as `chat.completion.chunk` events, ending with `[DONE]`, or with an error
    chunk when it fails midway. Closed early (the client went away), it stops the answer."""
    completion = answer.completion
    try:
        try:
            for event in answer.events():
                for chunk in completion.chunks(event):
                    yield sse(chunk)
        except AppError as exc:
            yield sse(error_body(exc))
            return
        except Exception as exc:  # a bug must still end the stream with a sentence
            log.exception("answer %s failed", completion.id)
            yield sse(error_body(worker_failed(detail=repr(exc))))
            return
        for chunk in completion.end(include_usage):
            yield sse(chunk)
        yield sse("[DONE]")
    finally:
        answer.close()


def whole(answer: Answer) -> dict[str, Any]:
    """The answer as one `chat.completion`, once it ended; a failure midway is the call's."""
    completion = answer.completion
    try:
        for event in answer.events():
            completion.chunks(event)
    finally:
        answer.close()
    return completion.whole()
