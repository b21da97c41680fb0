"""Google's Gemini API, natively: chat from {base_url}/v1beta/models/{model}:streamGenerateContent
?alt=sse, models from {base_url}/v1beta/models. The key goes in the `x-goog-api-key` header,
never in the URL (Google also takes `?key=`, which logs and error messages would carry)."""

from __future__ import annotations

import base64
import fnmatch
import threading
import uuid
from collections.abc import Generator, Mapping
from urllib.parse import quote

from .base import (
    Cancel,
    ChatMessage,
    ChatRequest,
    Event,
    Finish,
    JSONValue,
    ModelInfo,
    ProviderConfig,
    ToolCall,
    ToolDefinition,
    Usage,
)
from .dialect import DialectParser, as_int, as_list, as_object, compact_json, load_json
from .failure import normalize_error
from .gemini_failure import BLOCKED, blocked_error
from .images import media_type
from .ollama import arguments_object
from .sse import SSEDecoder, SSEEvent
from .transport import Transport, stream_events

API = "v1beta"
# The request's options (canonical names, see chat/options.py) under generationConfig's names.
# Nothing else goes there: Gemini answers an unknown field with 400.
OPTION_NAMES = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_tokens": "maxOutputTokens",
    "stop": "stopSequences",
    "seed": "seed",
}
# Thinking budgets (tokens) for the levels, as Google maps `reasoning_effort` on its
# OpenAI-compatible endpoint. `think=True` lets the model choose (-1: dynamic thinking).
THINKING_BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}
DYNAMIC_BUDGET = -1
# Models that cannot stop thinking (a budget of 0 is refused): `think=False` then only hides
# the thoughts.
ALWAYS_THINKING = ("gemini-2.5-pro*", "gemini-3*")
# JSON Schema keys Gemini's function-declaration schema does not have; it refuses the whole
# request when a tool's parameters use one.
REFUSED_SCHEMA_KEYS = frozenset({
    "$schema", "$id", "$comment", "$defs", "definitions", "additionalProperties",
    "patternProperties", "unevaluatedProperties", "examples", "const", "if", "then", "else",
    "not", "dependentRequired", "dependentSchemas",
})
# Schema keys whose value is a map of names to schemas, and ones holding schemas directly.
_NAMED_SCHEMAS = ("properties",)
_SCHEMAS = ("items",)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
PAGE_SIZE = 1000  # the most the listing gives at once
MAX_PAGES = 10  # Google lists a few dozen models; a listing that goes on is not believed
FINISH_NAMES = {"STOP": "stop", "MAX_TOKENS": "length"}  # as the rest of the app says them
SIGNATURES_KEPT = 512  # calls whose thought signatures a provider remembers, newest last


class GeminiParser(DialectParser):
    """Gemini SSE → events. There is no end marker: EOF after a chunk with `finishReason` is a
    complete reply (`terminal` stays "eof", as the vectors say). Parts flagged `thought` are
    reasoning; `usageMetadata` rides on every chunk and the last one wins."""

    def __init__(self) -> None:
        super().__init__(think_tags="off")
        self._events = SSEDecoder()
        self.blocked_prompt = False
        # A call's `thoughtSignature`, by the call's id: Gemini wants it back with the call.
        self.signatures: dict[str, str] = {}  # the prompt was refused: the finish reason says why

    @property
    def complete(self) -> bool:
        return self.terminal == "eof" and self.finish_reason is not None

    def _feed(self, data: bytes) -> None:
        for event in self._events.feed(data):
            self._on_event(event)

    def _close(self) -> None:
        for event in self._events.close():
            self._on_event(event)

    def _on_event(self, event: SSEEvent) -> None:
        if self.terminal is not None or not event.data.strip():
            return
        value = load_json(event.data)
        if isinstance(value, list) or (isinstance(value, dict) and value.get("error")):
            info = normalize_error(value)
            if info is not None:
                self._fail(info)
                return
        if not isinstance(value, dict):
            return
        usage = value.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = usage
        candidates = value.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if isinstance(candidate, dict):
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                if isinstance(part, dict):
                    self._on_part(part)
            if isinstance(candidate.get("finishReason"), str):
                self.finish_reason = candidate["finishReason"]
        feedback = value.get("promptFeedback")
        if candidate is None and isinstance(feedback, dict):
            # A blocked prompt has no candidates; the block reason is why the reply is empty.
            reason = feedback.get("blockReason")
            if isinstance(reason, str):
                self.finish_reason = reason
                self.blocked_prompt = True

    def _on_part(self, part: dict[str, object]) -> None:
        if part.get("thought") is True:
            self._reasoning(part.get("text"))
        else:
            self._content(part.get("text"))
        call = part.get("functionCall")
        if isinstance(call, dict):
            # Ids unique across a reply's rounds, as they key the calls' signatures.
            call_id = call.get("id") if isinstance(call.get("id"), str) else (
                f"call_{uuid.uuid4().hex[:16]}")
            if isinstance(part.get("thoughtSignature"), str):
                self.signatures[str(call_id)] = str(part["thoughtSignature"])
            self._tool_call(
                str(call_id), str(call.get("name", "")), compact_json(call.get("args") or {})
            )

    def _usage(self, raw: dict[str, object]) -> Usage:
        candidates = as_int(raw.get("candidatesTokenCount"))
        thoughts = as_int(raw.get("thoughtsTokenCount"))
        completion = (
            None
            if candidates is None and thoughts is None
            else ((candidates or 0) + (thoughts or 0))
        )
        return Usage(raw, as_int(raw.get("promptTokenCount")), completion)


class GeminiProvider:
    """One `[[providers]]` entry of kind "gemini". Each model states in the listing whether
    it thinks; all of Gemini's chat models see images and call functions."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        auth = {"x-goog-api-key": config.api_key} if config.api_key else {}
        self._http = Transport(config, auth=auth)
        # Thinking models sign each function call; Gemini 3 refuses the next round of the tool
        # loop unless every call of the turn comes back with its signature.
        self._signatures: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GeminiProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- chat ------------------------------------------------------------------

    def chat_body(self, request: ChatRequest) -> dict[str, JSONValue]:
        system = [m.content for m in request.messages if m.role == "system" and m.content]
        with self._lock:
            signatures = dict(self._signatures)
        body: dict[str, JSONValue] = {"contents": contents(request.messages, signatures)}
        if system:
            body["systemInstruction"] = {"parts": [{"text": text} for text in system]}
        config = generation_config(request.options)
        thinking = thinking_config(request.think, request.model)
        if thinking is not None:
            config["thinkingConfig"] = thinking
        if config:
            body["generationConfig"] = config
        if request.tools:
            body["tools"] = [{"functionDeclarations": function_declarations(request.tools)}]
        return body

    def stream_chat(
        self, request: ChatRequest, cancel: Cancel | None = None
    ) -> Generator[Event, None, None]:
        parser = GeminiParser()
        url = self._http.url(f"/{API}/models/{quote(request.model, safe='')}"
                             ":streamGenerateContent?alt=sse")
        events = stream_events(
            self._http, url, self.chat_body(request), parser, model=request.model, cancel=cancel
        )
        for event in events:
            if isinstance(event, ToolCall) and event.id in parser.signatures:
                self._remember(event.id, parser.signatures[event.id])
            if isinstance(event, Finish):
                reason = event.reason or ""
                if parser.blocked_prompt or reason in BLOCKED:
                    raise blocked_error(reason, self._http.origin, prompt=parser.blocked_prompt)
                event = Finish(FINISH_NAMES.get(reason, reason.lower() or None))
            yield event

    def _remember(self, call_id: str, signature: str) -> None:
        with self._lock:
            self._signatures[call_id] = signature
            while len(self._signatures) > SIGNATURES_KEPT:
                del self._signatures[next(iter(self._signatures))]

    # --- models ----------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """The settings' `models` first, then the models that generate content, page by page."""
        listed: dict[str, ModelInfo] = {}
        token: str | None = None
        for _ in range(MAX_PAGES):
            query = f"?pageSize={PAGE_SIZE}" + (f"&pageToken={quote(token)}" if token else "")
            url = self._http.url(f"/{API}/models{query}")
            page = as_object(self._http.request_json("GET", url))
            for entry in as_list(page.get("models")):
                info = self._model(entry)
                if info is not None:
                    listed.setdefault(info.name, info)
            next_token = page.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token:
                break
            token = next_token
        named = [listed.pop(name) if name in listed else ModelInfo(self.config.id, name)
                 for name in self.config.models]
        return [*named, *listed.values()]

    def model_info(self, name: str) -> ModelInfo:
        entry = self._http.request_json(
            "GET", self._http.url(f"/{API}/models/{quote(name, safe='')}"), model=name
        )
        return self._model(entry) or ModelInfo(self.config.id, name)

    def _model(self, entry: object) -> ModelInfo | None:
        """A listed model that chats, by its name without "models/"; None for the others
        (embedding models, and so on)."""
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        if "generateContent" not in as_list(entry.get("supportedGenerationMethods")):
            return None
        capabilities = ["completion", "vision", "tools"]
        if entry.get("thinking") is True:
            capabilities.append("thinking")
        details = {key: entry[key] for key in ("displayName", "description", "version",
                                               "outputTokenLimit") if key in entry}
        return ModelInfo(
            self.config.id,
            str(entry["name"]).removeprefix("models/"),
            tuple(capabilities),
            as_int(entry.get("inputTokenLimit")),
            details,
        )


def contents(messages: tuple[ChatMessage, ...], signatures: Mapping[str, str]) -> list[JSONValue]:
    """The conversation as Gemini's `contents`: the assistant is "model", and a tool's result
    goes back as a `functionResponse` part of a "user" turn, the results of one round of
    calls together in one turn, as Gemini wants one response per call."""
    turns: list[JSONValue] = []
    responses: list[JSONValue] | None = None  # the turn the last tool results went into
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            if responses is None:
                responses = []
                turns.append({"role": "user", "parts": responses})
            responses.append({"functionResponse": {
                "name": message.tool_name or "", "response": {"result": message.content}}})
            continue
        responses = None
        parts = message_parts(message, signatures)
        if parts:
            turns.append({"role": "model" if message.role == "assistant" else "user",
                          "parts": parts})
    return turns


def message_parts(message: ChatMessage, signatures: Mapping[str, str]) -> list[JSONValue]:
    """A message's parts: its images first (Google's advice for a question about an image),
    then its text, then the calls an assistant turn made, each with the signature it came
    with. Empty text is left out: Gemini refuses a part without data."""
    parts: list[JSONValue] = [
        {"inlineData": {"mimeType": media_type(image),
                        "data": base64.b64encode(image).decode("ascii")}}
        for image in message.images
    ]
    if message.content:
        parts.append({"text": message.content})
    for call in message.tool_calls:
        part: dict[str, JSONValue] = {
            "functionCall": {"name": call.name, "args": arguments_object(call)}}
        if call.id in signatures:
            part["thoughtSignature"] = signatures[call.id]
        parts.append(part)
    return parts


def generation_config(options: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    return {
        OPTION_NAMES[name]: value
        for name, value in options.items()
        if name in OPTION_NAMES and value is not None
    }


def thinking_config(think: bool | str | None, model: str) -> dict[str, JSONValue] | None:
    """`thinkingConfig` for `think`: None leaves the model's default; on (or a level) shows
    the thoughts with a budget; off is a budget of 0, except for models that always think,
    whose thoughts are then only not shown."""
    if think is None:
        return None
    if think is False:
        if any(fnmatch.fnmatchcase(model.lower(), pattern) for pattern in ALWAYS_THINKING):
            return {"includeThoughts": False}
        return {"thinkingBudget": 0}
    budget = THINKING_BUDGETS.get(think, DYNAMIC_BUDGET) if isinstance(think, str) else (
        DYNAMIC_BUDGET)
    return {"includeThoughts": True, "thinkingBudget": budget}


def function_declarations(tools: tuple[ToolDefinition, ...]) -> list[JSONValue]:
    """The tools as Gemini's function declarations. A tool without arguments has no
    `parameters`: Gemini refuses an object schema with no properties."""
    declarations: list[JSONValue] = []
    for tool in tools:
        declaration: dict[str, JSONValue] = {"name": tool.name, "description": tool.description}
        if as_object(tool.parameters.get("properties")):
            declaration["parameters"] = clean_schema(tool.parameters)
        declarations.append(declaration)
    return declarations


def clean_schema(schema: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """`schema` without the keys Gemini refuses, at every depth; property names are kept
    whatever they are (a property may well be called "default" or "const")."""
    cleaned: dict[str, JSONValue] = {}
    for key, value in schema.items():
        if key in REFUSED_SCHEMA_KEYS:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, Mapping):
            cleaned[key] = {
                name: clean_schema(sub) if isinstance(sub, Mapping) else sub
                for name, sub in value.items()
            }
        elif key in _SCHEMAS and isinstance(value, Mapping):
            cleaned[key] = clean_schema(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            cleaned[key] = [clean_schema(sub) if isinstance(sub, Mapping) else sub
                            for sub in value]
        else:
            cleaned[key] = value
    return cleaned
