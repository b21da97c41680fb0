"""OpenAI-compatible Chat Completions: SSE from {base_url}/chat/completions, models from /models.

One class serves every compatible server (LM Studio, llama.cpp, vLLM, OpenRouter, Ollama /v1…);
each `[[providers]]` entry is one instance. The parser copes with the reasoning variants of
PROTOCOLS §4 and the quirks of §5.

The conventions people expect of such a client are kept here too: an address missing its
`/v1` is found at `/v1` (and the person told), `stream_options` is dropped for a server that
refuses it, and OpenRouter gets the app's attribution headers.
"""

from __future__ import annotations

import importlib.metadata
import ipaddress
import re
import threading
from collections.abc import Collection, Generator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from urllib.parse import urlsplit

from .addresses import with_v1
from .base import (
    Cancel,
    ChatMessage,
    ChatRequest,
    Event,
    JSONValue,
    ModelInfo,
    Provider,
    ProviderConfig,
    ToolCall,
    Usage,
)
from .dialect import DialectParser, as_int, as_list, compact_json, load_json, tool_definitions
from .errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    ProviderError,
    ProviderUnavailable,
    StreamBroken,
)
from .failure import ErrorInfo, error_info, normalize_error
from .images import data_url
from .sse import SSEDecoder, SSEEvent
from .thinktags import mode_for
from .transport import Transport, stream_events

# The request's options (canonical names, see chat/options.py) every Chat Completions server
# takes under the same names. Anything else stays out of the body, because strict servers
# (OpenAI, Mistral, Gemini) answer unknown fields with 400/422.
STANDARD_OPTIONS = ("temperature", "top_p", "seed", "stop", "presence_penalty",
                    "frequency_penalty")
# llama.cpp's samplers, which the servers people run themselves take too (the built-in engine,
# LM Studio, vLLM, Ollama's /v1, koboldcpp); the window is the server's own, set when it starts.
SAMPLER_OPTIONS = ("top_k", "min_p", "repeat_penalty")
OPENAI_HOST = "api.openai.com"  # where `max_tokens` is deprecated, and refused by o-series
# Hosts that rank the apps calling them by the X-Title and HTTP-Referer headers (a subdomain
# counts too).
ATTRIBUTED_HOSTS = frozenset({"openrouter.ai"})
APP_TITLE = "OpenChat Desktop"
DISTRIBUTION = "openchat-desktop"
# The status line every non-2xx error's `detail` starts with (failure.error_for_status).
_STATUS = re.compile(r"(\d{3})\b")


class UsageRefusals:
    """The servers that refused `stream_options`, by provider id and address: remembered for
    the process' life, so a router rebuilt after a settings change does not ask again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: set[tuple[str, str]] = set()

    def add(self, config: ProviderConfig) -> None:
        with self._lock:
            self._refused.add(_usage_key(config))

    def __contains__(self, config: ProviderConfig) -> bool:
        with self._lock:
            return _usage_key(config) in self._refused


USAGE_REFUSALS = UsageRefusals()


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIChatParser(DialectParser):
    """Chat Completions SSE → events. Reasoning comes from `reasoning_content`, else
    `reasoning`, else `reasoning_details` (never more than one: they duplicate each other),
    from Mistral's array content, or from inline `<think>` tags. Tool-call argument pieces
    are joined per `index` and emitted when the finish reason arrives."""

    def __init__(self, *, think_tags: str = "explicit") -> None:
        super().__init__(think_tags=think_tags)
        self._events = SSEDecoder()
        self._calls: dict[int, _PartialCall] = {}

    def _feed(self, data: bytes) -> None:
        for event in self._events.feed(data):
            self._on_event(event)

    def _close(self) -> None:
        for event in self._events.close():
            self._on_event(event)

    def feed_document(self, data: bytes) -> list[Event]:
        """A non-streamed `chat.completion` object, or an error sent with status 200."""
        if self.terminal is None:
            try:
                value = load_json(data.decode("utf-8", "replace"))
            except StreamBroken as exc:
                self._break(exc)
                return self._take()
            if not self._error_in(value) and isinstance(value, dict):
                self._on_chunk(value, key="message")
                if self.terminal is None:
                    self._end("done")
            elif self.terminal is None:
                self._end("eof")
        return self._take()

    def _on_event(self, event: SSEEvent) -> None:
        if self.terminal is not None:
            return
        if "error" in event.fields:
            # Older llama.cpp: a non-standard `error:` field carrying the error object (QK-1).
            text = event.fields["error"]
            self._fail(_error_text(text))
            return
        data = event.data.strip()
        if not data:
            return
        if data == "[DONE]":
            self._end("done")
            return
        value = load_json(data)
        if event.event == "error":
            self._fail(normalize_error(value) or error_info(data))
            return
        if not self._error_in(value) and isinstance(value, dict):
            self._on_chunk(value, key="delta")

    def _error_in(self, value: object) -> bool:
        """An error object ends the stream, even if `[DONE]` follows (vLLM, QK-3)."""
        if isinstance(value, list) or (isinstance(value, dict) and value.get("error")):
            info = normalize_error(value)
            if info is not None:
                if isinstance(value, dict):
                    # OpenRouter sends finish_reason "error" along with it (QK-6).
                    self._note_finish(value, flush=False)
                self._fail(info)
                return True
        return False

    def _on_chunk(self, chunk: dict[str, object], *, key: str) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        for choice in as_list(chunk.get("choices")):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # one reply per request: other choices only appear with n > 1
            delta = choice.get(key)
            if isinstance(delta, dict):
                self._on_delta(delta)
        self._note_finish(chunk)

    def _on_delta(self, delta: dict[str, object]) -> None:
        reasoning = delta.get("reasoning_content")
        if not _text(reasoning):
            reasoning = delta.get("reasoning")
        if not _text(reasoning):
            reasoning = _details_text(delta.get("reasoning_details"))
        self._reasoning(reasoning)
        content = delta.get("content")
        if isinstance(content, list):
            # Mistral Magistral: typed parts, thinking parts hold their own text parts (RS-5).
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "thinking":
                    self._reasoning(_parts_text(part.get("thinking")))
                elif part.get("type") == "text":
                    self._content(part.get("text"))
        else:
            self._content(content)
        for fragment in as_list(delta.get("tool_calls")):
            if isinstance(fragment, dict):
                self._on_tool_fragment(fragment)

    def _on_tool_fragment(self, fragment: dict[str, object]) -> None:
        index = as_int(fragment.get("index"))
        if index is None:
            # Servers that omit `index`: a new id starts a new call, otherwise continue.
            known = {call.id for call in self._calls.values()}
            new = isinstance(fragment.get("id"), str) and fragment["id"] not in known
            index = len(self._calls) if new or not self._calls else max(self._calls)
        call = self._calls.setdefault(index, _PartialCall())
        if isinstance(fragment.get("id"), str) and fragment["id"]:
            call.id = str(fragment["id"])
        function = fragment.get("function")
        if isinstance(function, dict):
            if isinstance(function.get("name"), str) and function["name"]:
                call.name = str(function["name"])
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                call.arguments.append(arguments)
            elif isinstance(arguments, dict):
                call.arguments.append(compact_json(arguments))

    def _note_finish(self, chunk: dict[str, object], *, flush: bool = True) -> None:
        for choice in as_list(chunk.get("choices")):
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                reason = choice.get("finish_reason")
                if isinstance(reason, str) and reason:
                    self.finish_reason = reason
                    if flush:
                        self._flush_pending()  # the argument pieces are complete now

    def _pending_calls(self) -> list[ToolCall]:
        calls = [
            ToolCall(call.id or f"call_{index}", call.name, "".join(call.arguments) or "{}")
            for index, call in sorted(self._calls.items())
        ]
        self._calls.clear()
        return calls

    def _usage(self, raw: dict[str, object]) -> Usage:
        return Usage(
            raw,
            prompt_tokens=as_int(raw.get("prompt_tokens")),
            completion_tokens=as_int(raw.get("completion_tokens")),
        )


class OpenAICompatProvider:
    """A server that speaks OpenAI Chat Completions; `base_url` already ends in /v1 (or the
    vendor's equivalent), so paths are joined without adding another. A server that answers
    404 there but lists its models at `<base_url>/v1` is used at that address from then on,
    and `notice` says so.

    Thinking: Chat Completions has no portable on/off switch, and strict servers reject the
    vendor ones. So `think` as a level string ("low", "medium", "high"…) is sent as
    `reasoning_effort`, which OpenAI, Ollama /v1, Groq, Together and Gemini understand;
    `think=True/False/None` sends nothing and leaves the server's default. The request's
    options go out as `option_fields` says.
    """

    def __init__(
        self,
        config: ProviderConfig,
        *,
        attributed_hosts: Collection[str] = ATTRIBUTED_HOSTS,
        refusals: UsageRefusals = USAGE_REFUSALS,
    ) -> None:
        self.config = config
        self._attributed_hosts = attributed_hosts
        self._refusals = refusals
        self._lock = threading.Lock()
        self._http = self._transport(config.base_url)
        # What the person should know about this provider although it works: a sentence.
        self.notice: str | None = None

    def _transport(self, base_url: str) -> Transport:
        config = replace(self.config, base_url=base_url)
        headers = attribution_headers(config, self._attributed_hosts, project_site())
        return Transport(replace(config, headers=headers))

    @property
    def address(self) -> str:
        """Where the server answers: the settings' address, or that with /v1 appended."""
        return self._http.base_url

    @property
    def moved(self) -> bool:
        return self.address != self.config.base_url.rstrip("/")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenAICompatProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def sends_usage(self) -> bool:
        """Whether to ask for the usage chunk: not of a server that refused `stream_options`."""
        return self.config not in self._refusals

    def chat_body(self, request: ChatRequest) -> dict[str, JSONValue]:
        messages: list[dict[str, JSONValue]] = []
        for message in request.messages:
            content: JSONValue = message.content
            if message.images:
                parts: list[dict[str, JSONValue]] = []
                if message.content:
                    parts.append({"type": "text", "text": message.content})
                for image in message.images:
                    parts.append({"type": "image_url", "image_url": {"url": data_url(image)}})
                content = parts
            messages.append(chat_message(message, content))
        body: dict[str, JSONValue] = {"model": request.model, "messages": messages, "stream": True}
        if self.sends_usage():
            body["stream_options"] = {"include_usage": True}
        if isinstance(request.think, str):
            body["reasoning_effort"] = request.think
        body.update(option_fields(request.options, self.config.base_url))
        if request.tools:
            body["tools"] = tool_definitions(request.tools)
        return body

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]:
        """The reply's events. Refused before its first event, the request is sent again,
        once per cause: at `<address>/v1` when the address has nothing (404) and the server
        lists its models there; without `stream_options` when the server refuses that field
        (Mistral's 422, others' 400 naming it), which is then remembered."""
        include_usage = self.sends_usage()
        while True:
            body = self.chat_body(request)
            if not include_usage:
                body.pop("stream_options", None)  # this server refused it just now
            parser = OpenAIChatParser(
                think_tags=mode_for(request.model, self.config.bare_think_models)
            )
            delivered = False
            try:
                for event in stream_events(
                    self._http,
                    self._http.url("/chat/completions"),
                    body,
                    parser,
                    model=request.model,
                    cancel=cancel,
                ):
                    if not delivered and not include_usage:
                        self._refusals.add(self.config)  # accepted without it
                    delivered = True
                    yield event
                return
            except ProviderError as exc:
                if delivered or (cancel is not None and cancel.cancelled):
                    raise
                if include_usage and refuses_stream_options(exc):
                    include_usage = False
                elif isinstance(exc, ModelNotFound) or not answered(exc, 404):
                    raise
                elif self._find_v1() is None:
                    raise

    def list_models(self) -> list[ModelInfo]:
        """The settings' `models` first, then what GET /models lists. Many servers have no
        usable /models (404, 405, odd JSON): the settings' list is then the answer, and
        `notice` says where to name the models when there is none. Only an unreachable server
        or a rejected key raises."""
        try:
            data = self._http.request_json("GET", self._http.url("/models"))
        except (AuthenticationFailed, ProviderUnavailable):
            raise
        except ProviderError as exc:
            data = self._find_v1() if answered(exc, 404) else None
        listed: dict[str, int | None] = {}
        entries = data.get("data") if isinstance(data, dict) else data
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                listed[entry["id"]] = _context_length(entry)
        names = list(dict.fromkeys([*self.config.models, *listed]))
        self.notice = self._describe(bool(names))
        return [ModelInfo(self.config.id, name, context_length=listed.get(name)) for name in names]

    def _find_v1(self) -> object:
        """After a 404: the model list at `<address>/v1`, whose address is used from then on;
        None when the server is not there either."""
        alternative = with_v1(self.address)
        if alternative is None:
            return None
        probe = self._transport(alternative)
        try:
            data = probe.request_json("GET", probe.url("/models"))
        except ProviderError:
            probe.close()
            return None
        with self._lock:
            old, self._http = self._http, probe
        old.close()
        self.notice = self._describe(True)
        return data

    def _describe(self, has_models: bool) -> str | None:
        """The sentence for `notice`: where the server answers, and whether it named models."""
        sentences = []
        if self.moved:
            sentences.append(
                f"The server answers at {self.address}, not at {self.config.base_url}: use "
                "that address in Settings."
            )
        if not has_models:
            sentences.append(
                f"{self._http.origin.label} lists no models at {self.address}. Name the models "
                "it serves under Models in its Settings entry (`models` in the settings file)."
            )
        return " ".join(sentences) or None

    def model_info(self, name: str) -> ModelInfo:
        """From the model list; a model the server does not list gets the defaults, since
        compatible servers often route names they do not list."""
        for info in self.list_models():
            if info.name == name:
                return info
        return ModelInfo(self.config.id, name)

    def served_window(self, name: str) -> int | None:
        """The window the server gives `name`: a llama.cpp server says at `/props` (beside
        `/v1`) what it was started with; other servers, if at all, in their model list. Only
        an unreachable server or a rejected key raises."""
        root = self._http.base_url.removesuffix("/v1")
        try:
            window = _props_window(self._http.request_json("GET", f"{root}/props"))
        except (AuthenticationFailed, ProviderUnavailable):
            raise
        except ProviderError:
            window = None  # not llama.cpp
        return window or self.model_info(name).context_length


def working_address(provider: Provider) -> str | None:
    """Where an OpenAI-compatible provider found its server, when that is not the address
    its settings give; None otherwise."""
    if isinstance(provider, OpenAICompatProvider) and provider.moved:
        return provider.address
    return None


def answered(error: ProviderError, status: int) -> bool:
    """Whether the server answered the request with this HTTP status."""
    found = _STATUS.match(error.detail or "")
    return found is not None and int(found.group(1)) == status


def refuses_stream_options(error: ProviderError) -> bool:
    """Whether a refused request was refused for `stream_options`: Mistral answers 422 "Extra
    inputs are not permitted" to any field it does not take; others answer 400 naming it."""
    if not isinstance(error, BadRequest):
        return False
    detail = error.detail or ""
    return answered(error, 422) or "stream_options" in detail or "include_usage" in detail


def attribution_headers(
    config: ProviderConfig, hosts: Collection[str], site: str | None
) -> tuple[tuple[str, str], ...]:
    """The headers a provider sends: the settings' own, and for the `hosts` that rank apps
    (OpenRouter) the app's name and site, unless `attribution = false` or the settings set
    those headers themselves."""
    host = (urlsplit(config.base_url).hostname or "").lower().rstrip(".")
    if not config.attribution or not any(
        host == known or host.endswith(f".{known}") for known in hosts
    ):
        return config.headers
    own = {name.lower() for name, _ in config.headers}
    added = [("X-Title", APP_TITLE)] + ([("HTTP-Referer", site)] if site else [])
    return (*((name, value) for name, value in added if name.lower() not in own), *config.headers)


@cache
def project_site() -> str | None:
    """The project's homepage, as pyproject.toml's [project.urls] names it (through the
    installed package's metadata); None when it names none."""
    try:
        urls = importlib.metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "home", "repository", "source"):
            return url.strip() or None
    return None


def _props_window(data: object) -> int | None:
    """llama.cpp's /props: `default_generation_settings.n_ctx`, the window it was started
    with (per slot)."""
    settings = data.get("default_generation_settings") if isinstance(data, dict) else None
    window = as_int(settings.get("n_ctx")) if isinstance(settings, dict) else None
    return window if window and window > 0 else None


def chat_message(message: ChatMessage, content: JSONValue) -> dict[str, JSONValue]:
    """One message of the body: a tool result names the call it answers; an assistant turn
    that called tools carries them, arguments as the text the model wrote (its content null
    when it wrote nothing else, as Chat Completions has it)."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": content}
    entry: dict[str, JSONValue] = {"role": message.role, "content": content}
    if message.tool_calls:
        entry["content"] = content or None
        entry["tool_calls"] = [
            {"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
    return entry


def option_fields(options: Mapping[str, JSONValue], base_url: str) -> dict[str, JSONValue]:
    """The request's options as Chat Completions fields for the server at `base_url`: only
    the ones it takes, only the ones set."""
    host = (urlsplit(base_url).hostname or "").lower()
    names = STANDARD_OPTIONS + (SAMPLER_OPTIONS if runs_nearby(host) else ())
    fields = {name: options[name] for name in names if options.get(name) is not None}
    if options.get("max_tokens") is not None:
        cap = "max_completion_tokens" if host == OPENAI_HOST else "max_tokens"
        fields[cap] = options["max_tokens"]
    return fields


def runs_nearby(host: str) -> bool:
    """Whether a server is one people run themselves (this machine or the local network),
    which are llama.cpp's kin; services on the internet are strict about fields."""
    if host == "localhost" or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def _usage_key(config: ProviderConfig) -> tuple[str, str]:
    return config.id, config.base_url.strip().rstrip("/").lower()


def _context_length(entry: dict[str, object]) -> int | None:
    """Context size where a server volunteers it (OpenRouter, LM Studio, vLLM, llama.cpp)."""
    for key in ("context_length", "max_context_length", "max_model_len"):
        value = as_int(entry.get(key))
        if value:
            return value
    meta = entry.get("meta")
    if isinstance(meta, dict):
        return as_int(meta.get("n_ctx_train"))
    return None


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _details_text(details: object) -> str | None:
    if not isinstance(details, list):
        return None
    texts = [
        str(item.get("text") or item.get("summary") or "")
        for item in details
        if isinstance(item, dict)
    ]
    return "".join(texts) or None


def _parts_text(parts: object) -> str | None:
    if isinstance(parts, str):
        return parts
    if isinstance(parts, list):
        return (
            "".join(str(part.get("text", "")) for part in parts if isinstance(part, dict)) or None
        )
    return None


def _error_text(text: str) -> ErrorInfo:
    try:
        value = load_json(text)
    except ProviderError:
        return error_info(text)
    return normalize_error(value) or error_info(text)
