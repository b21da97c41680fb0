"""A fake of Google's Gemini API: a real HTTP/1.1 server on 127.0.0.1 (a free port) that
answers as generativelanguage.googleapis.com does, for the routes the app uses.

    with FakeGemini(api_key="AIza-test") as gemini:
        gemini.script(Reply(text="Hello world", reasoning="Hmm."))
        settings = gemini.settings()          # a [[providers]] entry of kind "gemini"
        path, body, headers = gemini.chat_requests()[-1]

- `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` streams the next scripted `Reply`
  (tests/fake_provider.py's, FIFO; an echo of the last user text when none is queued) as SSE
  chunks with CRLF framing and no end marker: reasoning as `thought` parts, text one word a
  chunk, then the calls as `functionCall` parts, then a chunk with `finishReason`
  (`reply.finish_reason`, upper-cased) and `usageMetadata`. `mode="error_midstream"` sends
  `after` chunks and then an error object; `segments=[…]` replays those bytes (the shared
  vectors); `status != 200` answers with `body` (a JSON value; Google's error object for the
  status when None) and `headers`.
- `GET /v1beta/models` lists `models` `page_size` at a time, with `nextPageToken`; each model
  is a dict as Google describes one (see `model()`). `GET /v1beta/models/<name>` gives one.
- With `sign_calls`, each `functionCall` part carries a `thoughtSignature` ("sig-<n>"), and a
  request whose `model` turns hold a call without its signature gets Gemini 3's 400.
- With `api_key`, a request without that `x-goog-api-key` gets Google's answer to a bad key:
  400 INVALID_ARGUMENT with the reason API_KEY_INVALID (403 when there is no key at all).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from requests.structures import CaseInsensitiveDict

from .fake_provider import Received, Reply

_TOKEN = re.compile(r"\s*\S+|\s+")
_CHAT = re.compile(r"/v1beta/models/(?P<model>[^/:]+):streamGenerateContent")
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_STATUS_MESSAGES = {
    404: "models/{model} is not found for API version v1beta, or is not supported for "
         "generateContent. Call ListModels to see the list of available models and their "
         "supported methods.",
    429: "You exceeded your current quota, please check your plan and billing details.",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
MIDSTREAM_ERROR = {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}


def model(name: str, *, thinking: bool = False, methods: Sequence[str] = (
        "generateContent", "countTokens"), input_limit: int = 1048576) -> dict[str, Any]:
    """A model as `GET /v1beta/models` describes it."""
    entry: dict[str, Any] = {
        "name": f"models/{name}", "version": "001", "displayName": name.title(),
        "description": f"The model {name}.", "inputTokenLimit": input_limit,
        "outputTokenLimit": 65536, "supportedGenerationMethods": list(methods),
        "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2,
    }
    if thinking:
        entry["thinking"] = True
    return entry


def google_error(status: int, message: str, *, details: Sequence[object] = ()) -> dict[str, Any]:
    """Google's error object for an HTTP status."""
    error: dict[str, Any] = {"code": status, "message": message,
                             "status": _STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        error["details"] = list(details)
    return {"error": error}


def bad_key_error() -> dict[str, Any]:
    """What Google answers (400, not 401) to a key that is not valid."""
    return google_error(400, "API key not valid. Please pass a valid API key.", details=[
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com",
         "metadata": {"service": "generativelanguage.googleapis.com"}},
    ])


def retry_info(seconds: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": seconds}


class FakeGemini:
    def __init__(
        self,
        models: Sequence[Mapping[str, Any]] = (),
        *,
        api_key: str | None = None,
        page_size: int = 50,
        sign_calls: bool = False,
    ) -> None:
        self.models: list[Mapping[str, Any]] = list(models) or [
            model("gemini-2.5-flash", thinking=True), model("gemini-2.0-flash")]
        self.api_key = api_key
        self.page_size = page_size
        self.sign_calls = sign_calls
        self.signed = 0  # signatures handed out
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None

    def start(self) -> FakeGemini:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Gemini is not running; call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings(self, provider_id: str = "gem", *, key: str | None = None,
                 default_model: str | None = None) -> str:
        """A settings file with this server as a provider of kind "gemini"."""
        lines = [f'default_model = "{default_model}"'] if default_model else []
        lines += ["[[providers]]", f'id = "{provider_id}"', 'kind = "gemini"',
                  f'base_url = "{self.url}"']
        key = key if key is not None else self.api_key
        if key:
            lines.append(f'api_key = "{key}"')
        return "\n".join(lines) + "\n"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def chat_requests(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if _CHAT.match(urlsplit(r.path).path)]

    def _next(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGemini


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `requests` instead."""

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with fake._lock:
            fake.requests.append(Received(self.path, body,
                                          CaseInsensitiveDict(self.headers.items())))
        if fake.api_key is not None:
            given = self.headers.get("x-goog-api-key")
            if given != fake.api_key:
                self._json(400, bad_key_error()) if given else self._json(403, google_error(
                    403, "Method doesn't allow unregistered callers (callers without "
                    "established identity). Please use API Key or other form of API consumer "
                    "identity to call this API."))
                return
        url = urlsplit(self.path)
        chat = _CHAT.fullmatch(url.path)
        if self.command == "POST" and chat is not None:
            self._chat(unquote(chat["model"]), body if isinstance(body, dict) else {})
        elif self.command == "GET" and url.path == "/v1beta/models":
            self._list(parse_qs(url.query))
        elif self.command == "GET" and url.path.startswith("/v1beta/models/"):
            name = unquote(url.path.removeprefix("/v1beta/models/"))
            found = [m for m in fake.models if m["name"] == f"models/{name}"]
            if found:
                self._json(200, found[0])
            else:
                self._json(404, google_error(404, f"models/{name} is not found for API version "
                                                  "v1beta."))
        else:
            self._json(404, google_error(404, "Not found."))

    def _list(self, query: Mapping[str, list[str]]) -> None:
        fake = self.server.fake
        start = int(query.get("pageToken", ["0"])[0] or 0)
        size = min(int(query.get("pageSize", ["50"])[0]), fake.page_size)
        page: dict[str, Any] = {"models": list(fake.models[start:start + size])}
        if start + size < len(fake.models):
            page["nextPageToken"] = str(start + size)
        self._json(200, page)

    def _chat(self, name: str, request: Mapping[str, Any]) -> None:
        fake = self.server.fake
        reply = fake._next()
        if reply is None:
            reply = Reply(text=_last_text(request))
        if reply.status != 200:
            body = reply.body if reply.body is not None else google_error(
                reply.status, _STATUS_MESSAGES.get(reply.status, "Error.").format(model=name))
            self._json(reply.status, body, reply.headers)
            return
        if fake.sign_calls and _unsigned_call(request):
            self._json(400, google_error(400, "Function call is missing a thought_signature in "
                                              "functionCall parts."))
            return
        if not any(m["name"] == f"models/{name}" for m in fake.models):
            self._json(404, google_error(404, _STATUS_MESSAGES[404].format(model=name)))
            return
        self._start_stream()
        if reply.segments is not None:
            for segment in reply.segments:
                self._chunk(segment)
            self._chunk(b"")
            return
        chunks = [_event(_candidate([{"text": t, "thought": True}]))
                  for t in _TOKEN.findall(reply.reasoning)]
        chunks += [_event(_candidate([{"text": t}])) for t in reply.content_chunks(request)]
        if reply.mode == "error_midstream":
            chunks = [*chunks[:reply.after], _event({"error": MIDSTREAM_ERROR})]
        else:
            if reply.tool_calls:
                parts = [{"functionCall": {"name": call.name, "args": call.arguments}}
                         for call in reply.tool_calls]
                if fake.sign_calls:
                    for part in parts:
                        with fake._lock:
                            part["thoughtSignature"] = f"sig-{fake.signed}"
                            fake.signed += 1
                chunks.append(_event(_candidate(parts)))
            final = _candidate([{"text": ""}])
            final["candidates"][0]["finishReason"] = reply.finish_reason.upper()
            final["usageMetadata"] = {"promptTokenCount": 7, "candidatesTokenCount": len(chunks),
                                      "totalTokenCount": 7 + len(chunks)}
            chunks.append(_event(final))
        for data in chunks:
            self._chunk(data)
        self._chunk(b"")

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        """One chunk of the body; an empty one ends it."""
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, value: object, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(value, indent=2).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, header in (headers or {}).items():
            self.send_header(name, header)
        self.end_headers()
        self.wfile.write(data)


def _candidate(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0}],
            "modelVersion": "gemini-2.5-flash", "responseId": "fake-response"}


def _event(value: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(value).encode() + b"\r\n\r\n"


def _unsigned_call(request: Mapping[str, Any]) -> bool:
    return any("functionCall" in part and "thoughtSignature" not in part
               for content in request.get("contents") or [] if content.get("role") == "model"
               for part in content.get("parts", []))


def _last_text(request: Mapping[str, Any]) -> str:
    """The text of the last user turn, for an echo."""
    for content in reversed(request.get("contents") or []):
        if content.get("role") == "user":
            texts = [p["text"] for p in content.get("parts", []) if "text" in p]
            if texts:
                return " ".join(texts)
    return "Hello"
