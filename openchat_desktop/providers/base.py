"""The provider contract: configuration, requests, normalized stream events, model info."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from ..outbound.gate import Gate

# What a request body may hold: whatever json.dumps writes. The containers are the read-only
# kinds, so a body built as `dict[str, str]` or `list[dict[str, JSONValue]]` fits as it is.
JSONValue: TypeAlias = (
    None | bool | int | float | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"]
)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One `[[providers]]` entry of the settings file, with the API key already resolved."""

    id: str
    kind: str  # "ollama" | "openai" | "anthropic" | "gemini" | "local"
    base_url: str
    api_key: str | None = field(default=None, repr=False)  # never in logs
    models: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold secrets
    connect_timeout: float = 5.0
    first_byte_timeout: float = 300.0
    idle_timeout: float = 120.0
    # Model-name patterns (fnmatch, case-insensitive) whose chat template opens `<think>` in
    # the prompt, so the reply starts inside reasoning and a bare `</think>` ends it.
    bare_think_models: tuple[str, ...] = ()
    # OpenRouter's attribution headers (the app's name and site) on requests to openrouter.ai.
    attribution: bool = True
    # Set by the app, not the file: what every request to another host passes (local-only
    # mode and the outbound log). None: nothing checked, nothing logged.
    outbound: Gate | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool as the model is offered it: each dialect wraps it its own way."""

    name: str
    description: str
    parameters: Mapping[str, JSONValue]  # a JSON Schema object


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    images: tuple[bytes, ...] = ()  # raw image bytes; each provider encodes them its own way
    # An assistant turn that asked for tools: its calls, as the model sent them.
    tool_calls: tuple[ToolCall, ...] = ()
    # A "tool" turn: the result of the call `tool_call_id`, to the tool `tool_name`.
    tool_call_id: str | None = None
    tool_name: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str  # the provider's own model name, without the "<provider id>/" prefix
    messages: tuple[ChatMessage, ...]
    think: bool | str | None = None  # None: leave the server's default
    options: dict[str, JSONValue] = field(default_factory=dict)
    tools: tuple[ToolDefinition, ...] = ()  # none: nothing about tools is sent


@dataclass(frozen=True, slots=True)
class ModelInfo:
    provider: str
    name: str
    capabilities: tuple[str, ...] = ("completion",)
    context_length: int | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"


# --- normalized stream events -------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    raw: dict[str, object]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    generation_seconds: float | None = None  # server-measured decode time, when it says


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str | None


@dataclass(frozen=True, slots=True)
class Waiting:
    """The provider has handed on everything it has received and reads again, which may wait
    for the network. Whoever relays the events sends what it holds now, not after the wait:
    one send per read of the model server, however many tokens the read carried."""


WAITING = Waiting()

Event = TextDelta | ReasoningDelta | ToolCall | Usage | Finish | Waiting


@dataclass(frozen=True, slots=True)
class Retrying:
    """Not from a provider: the router is about to wait `seconds` before asking again (try
    number `attempt` + 1) because of `reason`, a sentence a person can read."""

    attempt: int
    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class FallingBack:
    """Not from a provider: the model `failed` could not answer (`reason`, a sentence a person
    can read) before it delivered anything, so the router asks the model `next` instead, with
    the same request. Both are model ids ("<provider id>/<model name>")."""

    failed: str
    next: str
    reason: str


class Cancel:
    """Lets another thread abort a running stream at once (Stop, shutdown).

    A generator blocked in a socket read cannot be `close()`d from another thread, so the
    provider registers a callback (e.g. shutting the socket down) that unblocks the read.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except OSError:
                pass  # the socket may already be closed; cancelling is best effort

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` on cancel (now, if already cancelled); returns an unregister function."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        callback()
        return lambda: None

    def _discard(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True if cancelled meanwhile (interruptible backoff)."""
        return self._event.wait(timeout)


class Provider(Protocol):
    """What the router needs from a provider. `stream_chat` is a generator:
    closing it closes the upstream HTTP response; `cancel` does the same from another thread.
    `close` releases the pooled connections once the provider is no longer used."""

    config: ProviderConfig

    def list_models(self) -> list[ModelInfo]: ...

    def model_info(self, name: str) -> ModelInfo: ...

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]: ...

    def close(self) -> None: ...
