"""Ollama's native API: /api/chat as NDJSON, models from /api/tags and /api/show, pulls."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from .base import (
    Cancel,
    ChatRequest,
    Event,
    JSONValue,
    ModelInfo,
    ProviderConfig,
    ToolCall,
    Usage,
)
from .dialect import (
    DialectParser,
    as_int,
    as_list,
    as_object,
    compact_json,
    tool_definitions,
)
from .errors import ModelNotFound, ProviderError, StreamBroken
from .failure import ErrorInfo, error_info, normalize_error
from .naming import OLLAMA_LABEL
from .ndjson import NDJSONDecoder
from .redaction import excerpt
from .thinktags import mode_for
from .transport import Transport, abort, stream_events

# The final line's metrics; all are omitempty, so keep only those present.
METRICS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
# The request's options (canonical names, see chat/options.py) by their names in /api/chat's
# `options`; `keep_alive` goes at the top level of the body instead.
OPTION_NAMES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "seed": "seed",
    "stop": "stop",
    "repeat_penalty": "repeat_penalty",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "max_tokens": "num_predict",
    "context_length": "num_ctx",
}
_SHOW_WORKERS = 4


class OllamaChatParser(DialectParser):
    """/api/chat NDJSON → events. Thinking arrives in `message.thinking`; tool calls arrive
    whole with `arguments` as an object, turned into compact JSON text."""

    def __init__(self, *, think_tags: str = "explicit") -> None:
        super().__init__(think_tags=think_tags)
        self._lines = NDJSONDecoder()
        self._calls = 0

    def _feed(self, data: bytes) -> None:
        self._take_values(self._lines.feed(data))

    def _close(self) -> None:
        self._take_values(self._lines.close())

    def _take_values(self, values: Iterator[object]) -> None:
        for value in values:
            if self.terminal is not None:
                break  # what follows the end is not even parsed
            self._on_value(value)

    def _on_value(self, value: object) -> None:
        if not isinstance(value, dict):
            # The parser knows the dialect, not the provider entry: the kind's own name.
            raise StreamBroken(
                f"{OLLAMA_LABEL} sent something other than a chat line, so the reply was "
                "stopped. Try again.",
                detail=excerpt(repr(value), 300),
            )
        if value.get("error"):
            self._fail(normalize_error(value) or error_info(str(value["error"])))
            return
        message = value.get("message")
        if isinstance(message, dict):
            self._reasoning(message.get("thinking"))
            self._content(message.get("content"))
            for call in message.get("tool_calls") or ():
                self._on_tool_call(call)
        if value.get("done") is True:
            reason = value.get("done_reason")
            self.finish_reason = reason if isinstance(reason, str) else None
            self.usage = {key: value[key] for key in METRICS if key in value} or None
            self._end("done")

    def _on_tool_call(self, call: object) -> None:
        if not isinstance(call, dict):
            return
        function = as_object(call.get("function"))
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = compact_json({} if arguments is None else arguments)
        call_id = call.get("id")
        if not isinstance(call_id, str):
            call_id = f"call_{self._calls}"
        self._calls += 1
        self._tool_call(call_id, str(function.get("name", "")), arguments)

    def _usage(self, raw: dict[str, object]) -> Usage:
        eval_ns = as_int(raw.get("eval_duration"))
        return Usage(
            raw,
            prompt_tokens=as_int(raw.get("prompt_eval_count")),
            completion_tokens=as_int(raw.get("eval_count")),
            generation_seconds=eval_ns / 1e9 if eval_ns else None,
        )


class OllamaPullParser:
    """/api/pull NDJSON → progress dicts. Only `{"status":"success"}` means done; an `error`
    line (it comes after the first status line for an unknown model) ends it."""

    def __init__(self) -> None:
        self.terminal: str | None = None
        self.error: ErrorInfo | None = None
        self._lines = NDJSONDecoder()

    def feed(self, data: bytes) -> list[dict[str, object]]:
        return self._progress(self._lines.feed(data)) if self.terminal is None else []

    def close(self) -> list[dict[str, object]]:
        if self.terminal is not None:
            return []
        progress = self._progress(self._lines.close())
        if self.terminal is None:
            self.terminal = "eof"
        return progress

    def _progress(self, values: Iterator[object]) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for value in values:
            if self.terminal is not None:
                break
            if not isinstance(value, dict):
                continue
            if value.get("error"):
                self.error = normalize_error(value) or error_info(str(value["error"]))
                self.terminal = "error"
                break
            out.append(value)
            if value.get("status") == "success":
                self.terminal = "done"
        return out


@dataclass(frozen=True, slots=True)
class _Shown:
    """What /api/show told us about one model digest."""

    capabilities: tuple[str, ...]
    context_length: int | None
    details: dict[str, object] = field(default_factory=dict)


class OllamaProvider:
    """A local (or ollama.com) Ollama server through its native API."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._http = Transport(config)
        self._shown: dict[str, _Shown] = {}  # by digest: a re-pulled model gets a new one
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OllamaProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- chat ------------------------------------------------------------------

    def chat_body(self, request: ChatRequest) -> dict[str, JSONValue]:
        """The /api/chat body. `think` only when set (omitting it keeps the model's default),
        and `options` only as given, so Ollama does not reload the model for a changed
        num_ctx it was never asked for."""
        messages: list[dict[str, JSONValue]] = []
        for message in request.messages:
            entry: dict[str, JSONValue] = {"role": message.role, "content": message.content}
            if message.images:
                # Ollama wants bare base64, without the `data:` prefix.
                entry["images"] = [base64.b64encode(img).decode("ascii") for img in message.images]
            if message.tool_calls:
                entry["tool_calls"] = [
                    {"function": {"name": call.name, "arguments": arguments_object(call)}}
                    for call in message.tool_calls
                ]
            if message.role == "tool" and message.tool_name is not None:
                entry["tool_name"] = message.tool_name
            messages.append(entry)
        body: dict[str, JSONValue] = {
            "model": request.model,
            "messages": messages,
            "stream": True,
        }
        if request.tools:
            body["tools"] = tool_definitions(request.tools)
        if request.think is not None:
            body["think"] = request.think
        options = {
            OPTION_NAMES[name]: value
            for name, value in request.options.items()
            if name in OPTION_NAMES and value is not None
        }
        if options:
            body["options"] = options
        keep_alive = request.options.get("keep_alive")
        if keep_alive is not None:
            body["keep_alive"] = keep_alive_value(keep_alive)
        return body

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]:
        parser = OllamaChatParser(think_tags=mode_for(request.model, self.config.bare_think_models))
        yield from stream_events(
            self._http,
            self._http.url("/api/chat"),
            self.chat_body(request),
            parser,
            model=request.model,
            cancel=cancel,
        )

    # --- models ----------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """Installed models with capabilities and context length; /api/show runs only for
        digests not seen before, a few at a time."""
        tags = self._http.request_json("GET", self._http.url("/api/tags"))
        entries = [
            entry
            for entry in as_list(as_object(tags).get("models"))
            if isinstance(entry, dict) and isinstance(entry.get("name") or entry.get("model"), str)
        ]
        todo = {
            _name(entry): str(entry.get("digest") or "")
            for entry in entries
            if not self._cached(entry.get("digest"))
        }
        shown: dict[str, _Shown | None] = {}
        if todo:
            with ThreadPoolExecutor(max_workers=min(_SHOW_WORKERS, len(todo))) as pool:
                shown = dict(zip(todo, pool.map(self._show_quietly, todo), strict=True))
            with self._lock:
                for name, digest in todo.items():
                    known = shown[name]
                    if known is not None and digest:
                        self._shown[digest] = known
        models: list[ModelInfo] = []
        for entry in entries:
            name = _name(entry)
            info = self._cached(entry.get("digest")) or shown.get(name)
            details = dict(as_object(entry.get("details")))
            for key in ("size", "digest", "modified_at"):
                if key in entry:
                    details[key] = entry[key]
            if info is None:
                models.append(ModelInfo(self.config.id, name, details=details))
                continue
            models.append(
                ModelInfo(
                    self.config.id,
                    name,
                    info.capabilities,
                    info.context_length,
                    {**details, **info.details},
                )
            )
        return models

    def model_info(self, name: str) -> ModelInfo:
        info = self._show(name)
        return ModelInfo(self.config.id, name, info.capabilities, info.context_length, info.details)

    def running(self) -> list[dict[str, object]]:
        """Models loaded in memory now (/api/ps): size, size_vram, expires_at, context_length."""
        data = self._http.request_json("GET", self._http.url("/api/ps"))
        return [
            model for model in as_list(as_object(data).get("models")) if isinstance(model, dict)
        ]

    def delete(self, name: str) -> None:
        try:
            self._http.request_json(
                "DELETE", self._http.url("/api/delete"), json_body={"model": name}, model=name
            )
        except ModelNotFound as exc:
            raise ModelNotFound(
                f"{self._http.origin.label} has no model “{name}” to delete. Refresh the "
                "model list.",
                detail=exc.detail,
            ) from None

    def pull(
        self, name: str, cancel: Cancel | None = None
    ) -> Generator[dict[str, object], None, None]:
        """Download a model, yielding Ollama's progress dicts (`status`, and `digest`,
        `total`, `completed` while layers download). Close the generator or raise `cancel`
        to stop; Ollama resumes the download next time."""
        parser = OllamaPullParser()
        response = None
        forget = None
        try:
            response = self._http.open(
                "POST",
                self._http.url("/api/pull"),
                json_body={"model": name, "stream": True},
                model=name,
            )
            if cancel is not None:
                forget = cancel.on_cancel(partial(abort, response))
            try:
                for chunk in self._http.chunks(response):
                    yield from parser.feed(chunk)
                    if parser.terminal is not None or (cancel is not None and cancel.cancelled):
                        break
                yield from parser.close()
            except ProviderError:
                if cancel is not None and cancel.cancelled:
                    return
                raise
            if cancel is not None and cancel.cancelled:
                return
            if parser.terminal == "error" and parser.error is not None:
                raise _pull_error(self._http.origin.label, name, parser.error["message"])
            if parser.terminal != "done":
                raise StreamBroken(
                    f"The download of “{name}” was cut off before it finished. Start it again; "
                    f"{self._http.origin.label} resumes where it stopped.",
                    detail="pull stream ended without a success line",
                )
            self._http.finish(response)
        finally:
            if forget is not None:
                forget()
            if response is not None:
                response.close()

    def _cached(self, digest: object) -> _Shown | None:
        if not isinstance(digest, str) or not digest:
            return None
        with self._lock:
            return self._shown.get(digest)

    def _show(self, name: str) -> _Shown:
        data = self._http.request_json(
            "POST", self._http.url("/api/show"), json_body={"model": name}, model=name
        )
        return _parse_show(as_object(data))

    def _show_quietly(self, name: str) -> _Shown | None:
        # One model that fails to describe itself should not hide the others.
        try:
            return self._show(name)
        except ProviderError:
            return None


def _parse_show(data: dict[str, object]) -> _Shown:
    capabilities = tuple(c for c in as_list(data.get("capabilities")) if isinstance(c, str))
    model_info = as_object(data.get("model_info"))
    details = dict(as_object(data.get("details")))
    architecture = model_info.get("general.architecture")
    context_length = None
    if isinstance(architecture, str):
        context_length = as_int(model_info.get(f"{architecture}.context_length"))
    if context_length is None:
        context_length = as_int(details.get("context_length"))
    parameters = data.get("parameters")
    if isinstance(parameters, str):
        # The context the Modelfile asks for, which is what a chat actually gets.
        match = re.search(r"^num_ctx\s+(\d+)\s*$", parameters, re.MULTILINE)
        if match:
            details["num_ctx"] = int(match.group(1))
    return _Shown(capabilities or ("completion",), context_length, details)


def arguments_object(call: ToolCall) -> JSONValue:
    """A call's arguments as Ollama takes them back: an object. Ollama sent them as one, so
    they parse; text that does not (a call the loop refused for it) goes back as no
    arguments."""
    try:
        value = json.loads(call.arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def keep_alive_value(value: JSONValue) -> JSONValue:
    """Ollama reads a string as a Go duration, which needs a unit: a bare "-1" or "300" is
    sent as the number of seconds it means."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _name(entry: dict[str, object]) -> str:
    return str(entry.get("name") or entry.get("model"))


def _pull_error(label: str, name: str, message: str) -> ProviderError:
    if "does not exist" in message or "not found" in message:
        return ModelNotFound(
            f"{label} could not find “{name}” to download. Check the name (see "
            "ollama.com/library) and try again.",
            detail=message,
        )
    return StreamBroken(f"{label} could not download “{name}”: {message}", detail=message)
