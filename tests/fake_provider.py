"""A scriptable fake model server that speaks Ollama's native API and the OpenAI-compatible API.

It is a real HTTP/1.1 server on 127.0.0.1 (a free port) running in daemon threads, so the
code under test uses its ordinary HTTP client. Streams go out with chunked transfer encoding,
one chunk per token, in the wire format of the endpoint that was called: NDJSON for
`/api/chat`, SSE for `/v1/chat/completions`, with the usage and end lines real servers send.

    from tests.fake_provider import FakeProvider, Reply

    with FakeProvider(models=["llama3.2:3b", "qwen3:8b"],
                      capabilities={"qwen3:8b": ["completion", "thinking"]}) as fake:
        fake.script(Reply(text="Hello world", reasoning="Hmm.", delay=0.01))
        config = ProviderConfig(id="ollama", kind="ollama", base_url=fake.ollama_url)
        ...                                   # or kind="openai", base_url=fake.openai_url
        path, body, headers = fake.requests[-1]

Each chat request takes the next scripted `Reply` (FIFO), or the default reply when none is
queued. Reply modes:

    normal           the text, then the end (`done` line / finish + usage + `[DONE]`)
    slow             the same with `delay` seconds (0.05 if unset) before each chunk
    stall            `after` chunks, then wait until `release()`, `stop()` or the client
                     hangs up; after a release the rest follows normally
    drop             `after` chunks, then the socket is closed with no end marker
    error_midstream  `after` chunks, then an in-band error line and the end of the body
    malformed        `after` chunks, then a line that is not JSON, then the rest
    status != 200    an HTTP error: `status`, `headers` and `body` (bytes, str or JSON;
                     a realistic body for the endpoint when None)
    segments=[…]     replay these exact bytes, one chunk each (for the shared vectors)

`Reply(tool_calls=[Called("calculator", {"expression": "2+2"}), …])` asks for tools after its
text, in the dialect's way: Ollama sends each call whole in one line with its arguments as an
object; Chat Completions streams them in pieces by `index`, the pieces of parallel calls
interleaved, and finishes with `tool_calls`. What the app sends back is in `requests`.

`Reply(echo=True)` (or `FakeProvider(echo=True)`) answers with the last user message's text.
`fail(path, status)` makes a metadata route such as `/v1/models` or `/api/tags` answer with
an error until `recover(path)`. `disconnected` is set when a client closes a streaming
response early; `open_streams` counts streams in progress and `wait_idle()` waits for none.

`props` (None: 404) is what `GET /props` answers, as a llama.cpp server describes itself.

A request under `/v1/` that carries `anthropic-version` speaks Anthropic's Messages API
instead: `POST /v1/messages` streams the reply as Messages SSE (thinking only when the body
asks for it), `GET /v1/models` lists the models `page_size` at a time (`has_more`,
`after_id`), `GET /v1/models/<name>` describes one, `api_key` is checked in `x-api-key`, and
errors have Anthropic's shape (`{"type": "error", "error": {"type", "message"}}`).

`/api/pull` streams `pull_steps` progress lines of one layer (`pull_delay` seconds apart);
`pull_hold_at = n` holds the download after n steps until `release_pull()` (or the client
hangs up), and `pull_error` sends that error line there (or after the first step) instead.

`FakeProvider(echo_headers=["Authorization", …])` behaves like a careless proxy: every error it
makes up (an HTTP error with no scripted body, the in-band error of `error_midstream`, the
`/api/pull` error line) ends by quoting those request headers word for word, key and all.

The module also provides the `fake_provider` pytest fixture, and runs as a benchmark server:

    python -m tests.fake_provider --port 11435 --tokens 500 --delay-ms 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import select
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from requests.structures import CaseInsensitiveDict

MODES = ("normal", "slow", "stall", "drop", "error_midstream", "malformed")
OLLAMA_ERROR = "an error was encountered while running the model"
OPENAI_ERROR = "The server had an error while processing your request. Sorry about that!"
CREATED_AT = "2025-10-26T17:21:21.196249Z"
CREATED = 1757000000
_TOKEN = re.compile(r"\s*\S+|\s+")
_POLL = 0.02  # seconds between checks while stalled


@dataclass(frozen=True)
class Called:
    """A tool call a scripted reply makes: `arguments` as an object, or as raw text (which
    may be broken JSON, as models write it)."""

    name: str
    arguments: Mapping[str, object] | str = field(default_factory=dict)
    id: str | None = None  # Chat Completions' call id; default call_<n>

    def text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """What the fake sends for one chat request (see the module docstring for the modes)."""

    text: str = "Hello world"
    chunks: Sequence[str] | None = None  # the content split exactly so; default: by word
    delay: float = 0.0  # seconds before each chunk
    reasoning: str = ""  # streamed first, as `thinking` (Ollama) or `reasoning` (OpenAI)
    mode: str = "normal"
    after: int = 1  # content/reasoning chunks before the mode's action
    status: int = 200
    body: object = None  # error body: bytes, str, or a JSON value
    headers: Mapping[str, str] = field(default_factory=dict)
    echo: bool = False
    error: str | None = None  # the in-band error message for error_midstream
    segments: Sequence[bytes] | None = None
    finish_reason: str = "stop"
    tool_calls: Sequence[Called] = ()
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")

    def content_chunks(self, request: Mapping[str, object]) -> list[str]:
        if self.echo:
            return _TOKEN.findall(last_user_text(request))
        if self.chunks is not None:
            return list(self.chunks)
        return _TOKEN.findall(self.text)


class Received(NamedTuple):
    """One request the fake got: the path with its query, the JSON body (None if there was
    none or it was not JSON), and the headers (case-insensitive)."""

    path: str
    body: object
    headers: CaseInsensitiveDict


class FakeProvider:
    def __init__(
        self,
        models: Sequence[str] = ("llama3.2:3b", "qwen3:8b"),
        capabilities: Mapping[str, Sequence[str]] | None = None,
        context_lengths: Mapping[str, int] | None = None,
        *,
        default: Reply | None = None,
        echo: bool = False,
        api_key: str | None = None,
        registry: Sequence[str] | None = None,
        echo_headers: Sequence[str] = (),
        port: int = 0,
    ) -> None:
        """`capabilities` and `context_lengths` are per model (default ["completion"] and
        8192); `api_key` makes /v1 routes demand `Authorization: Bearer <key>`; `registry`
        limits what /api/pull can download (None: anything); `echo_headers` are the request
        headers every made-up error quotes."""
        self.models: list[str] = list(models)
        self.capabilities: dict[str, list[str]] = {
            k: list(v) for k, v in (capabilities or {}).items()
        }
        self.context_lengths: dict[str, int] = dict(context_lengths or {})
        self.default = default or Reply(echo=echo)
        self.api_key = api_key
        self.registry = None if registry is None else list(registry)
        self.echo_headers = list(echo_headers)
        self.props: dict[str, object] | None = None  # GET /props, llama.cpp's; None: 404
        self.page_size = 1000  # models per page of Anthropic's /v1/models
        self.pull_delay = 0.0  # seconds between /api/pull progress lines
        self.pull_steps = 2  # progress lines of the layer after its first (0 of the total)
        self.pull_hold_at: int | None = None  # hold after this many steps until release_pull()
        self.pull_error: str | None = None  # an error line at the hold (or after one step)
        self.pull_released = threading.Event()
        self.requests: list[Received] = []
        self.disconnected = threading.Event()
        self.disconnects = 0
        self.connections_accepted = 0  # stays low when clients keep connections alive
        self.loaded: list[str] = []  # models chatted with, for /api/ps
        self._port = port
        self._replies: deque[Reply] = deque()
        self._scripted: list[Reply] = []
        self._failures: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._open_streams = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> FakeProvider:
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end stalled streams and close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self.release()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake provider is not running; call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def ollama_url(self) -> str:
        return self.url

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    # --- scripting ----------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, in order."""
        with self._lock:
            self._replies.extend(replies)
            self._scripted.extend(replies)

    def release(self) -> None:
        """Let every stalled stream (and any scripted stall not reached yet) go on."""
        with self._lock:
            replies = [*self._scripted, self.default]
        for reply in replies:
            reply.released.set()

    def fail(
        self,
        path: str,
        status: int = 500,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer every request to `path` (e.g. "/v1/models") with this error until recover()."""
        with self._lock:
            self._failures[path] = Reply(status=status, body=body, headers=dict(headers or {}))

    def recover(self, path: str) -> None:
        with self._lock:
            self._failures.pop(path, None)

    def release_pull(self) -> None:
        """Let a pull held at `pull_hold_at` go on."""
        self.pull_released.set()

    @property
    def open_streams(self) -> int:
        with self._lock:
            return self._open_streams

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no stream is in progress; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._open_streams == 0, timeout)

    def chat_requests(self) -> list[Received]:
        return [r for r in self.requests if urlsplit(r.path).path in _CHAT_PATHS]

    # --- used by the handler ------------------------------------------------------------

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def _put_back(self, reply: Reply) -> None:
        with self._lock:
            if reply is not self.default:
                self._replies.appendleft(reply)

    def _failure(self, path: str) -> Reply | None:
        with self._lock:
            return self._failures.get(path)

    def _stream_started(self, model: str) -> None:
        with self._lock:
            self._open_streams += 1
            if model and model not in self.loaded:
                self.loaded.append(model)

    def _stream_ended(self) -> None:
        with self._idle:
            self._open_streams -= 1
            self._idle.notify_all()

    def _client_left(self) -> None:
        with self._lock:
            self.disconnects += 1
        self.disconnected.set()

    def _track(self, connection: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(connection)
                self.connections_accepted += 1
            else:
                self._connections.discard(connection)

    def _digest(self, model: str) -> str:
        # Changes when what /api/show would say changes, like a re-pulled model.
        key = f"{model}|{self._caps(model)}|{self._context(model)}"
        return hashlib.sha256(key.encode()).hexdigest()

    def _caps(self, model: str) -> list[str]:
        return self.capabilities.get(model, ["completion"])

    def _context(self, model: str) -> int:
        return self.context_lengths.get(model, 8192)


_CHAT_PATHS = ("/api/chat", "/v1/chat/completions", "/v1/messages")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider


class _ClientGone(Exception):
    """The client closed the connection while we were streaming."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `fake.requests` instead."""

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _ClientGone:
            self.close_connection = True
            self.server.fake._client_left()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    # --- routing ------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = urlsplit(self.path).path
        fake._record(Received(self.path, body, CaseInsensitiveDict(self.headers.items())))
        request = body if isinstance(body, dict) else {}
        dialect = "openai" if path.startswith("/v1/") else "ollama"
        if dialect == "openai" and "anthropic-version" in self.headers:
            dialect = "anthropic"
        if dialect != "ollama" and fake.api_key is not None:
            if not self._key_accepted(dialect, fake.api_key):
                self._error(Reply(status=401), dialect, request)
                return
        failure = fake._failure(path)
        if failure is not None:
            self._error(failure, dialect, request)
            return
        if dialect == "anthropic":
            self._anthropic_route(method, path, request)
            return
        routes = {
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
            ("GET", "/api/version"): lambda r: self._json(200, {"version": "0.12.6"}),
            ("GET", "/api/tags"): self._tags,
            ("HEAD", "/api/tags"): self._tags,
            ("POST", "/api/show"): self._show,
            ("GET", "/api/ps"): self._ps,
            ("DELETE", "/api/delete"): self._delete,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/chat"): lambda r: self._chat("ollama", r),
            ("GET", "/v1/models"): self._v1_models,
            ("GET", "/props"): self._props,
            ("POST", "/v1/chat/completions"): lambda r: self._chat("openai", r),
        }
        route = routes.get((method, path))
        if route is None:
            self._send(404, b"404 page not found", "text/plain; charset=utf-8")
            return
        route(request)

    # --- metadata routes ----------------------------------------------------------------

    def _props(self, request: dict) -> None:
        props = self.server.fake.props
        if props is None:
            self._send(404, b"404 page not found", "text/plain; charset=utf-8")
        else:
            self._json(200, props)

    def _root(self, request: dict) -> None:
        self._send(200, b"Ollama is running", "text/plain; charset=utf-8")

    def _tags(self, request: dict) -> None:
        fake = self.server.fake
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": CREATED_AT,
                "size": 2019393189,
                "digest": fake._digest(name),
                "details": _details(),
            }
            for name in list(fake.models)
        ]
        self._json(200, {"models": models})

    def _show(self, request: dict) -> None:
        fake = self.server.fake
        name = str(request.get("model") or request.get("name") or "")
        if name not in fake.models:
            self._json(404, {"error": f"model '{name}' not found"})
            return
        self._json(
            200,
            {
                "modelfile": f"FROM {name}\n",
                "parameters": 'num_ctx 4096\nstop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": _details(),
                "model_info": {
                    "general.architecture": "llama",
                    "general.parameter_count": 3212749888,
                    "llama.context_length": fake._context(name),
                },
                "capabilities": fake._caps(name),
                "modified_at": CREATED_AT,
            },
        )

    def _ps(self, request: dict) -> None:
        fake = self.server.fake
        models = [
            {
                "name": name,
                "model": name,
                "size": 3338801804,
                "digest": fake._digest(name),
                "details": _details(),
                "expires_at": "2099-01-01T00:00:00Z",
                "size_vram": 3338801804,
                "context_length": 4096,
            }
            for name in list(fake.loaded)
            if name in fake.models
        ]
        self._json(200, {"models": models})

    def _delete(self, request: dict) -> None:
        fake = self.server.fake
        name = str(request.get("model") or "")
        with fake._lock:
            found = name in fake.models
            if found:
                fake.models.remove(name)
        if found:
            self._send(200, b"", "application/json; charset=utf-8")
        else:
            self._json(404, {"error": f"model '{name}' not found"})

    def _pull(self, request: dict) -> None:
        fake = self.server.fake
        name = str(request.get("model") or "")
        lines: list[dict] = [{"status": "pulling manifest"}]
        if fake.registry is not None and name not in fake.registry:
            lines.append({"error": "pull model manifest: file does not exist"})
        else:
            digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
            layer = {"status": f"pulling {digest[7:19]}", "digest": digest, "total": 1000}
            steps = max(fake.pull_steps, 1)
            # The error comes where the pull is held, else after the first step.
            error_at = fake.pull_hold_at if fake.pull_hold_at is not None else 1
            lines.append(layer)
            for step in range(steps + 1):
                if step:
                    lines.append({**layer, "completed": 1000 * step // steps})
                if step == fake.pull_hold_at:
                    lines.append({"hold": True})
                if fake.pull_error is not None and step == error_at:
                    lines.append({"error": fake.pull_error})
                    break
            else:
                lines += [
                    {"status": "verifying sha256 digest"},
                    {"status": "writing manifest"},
                    {"status": "removing unused layers"},
                    {"status": "success"},
                ]
        self._start_stream("application/x-ndjson", {})
        try:
            for line in lines:
                if line.get("hold"):
                    while not fake.pull_released.is_set() and not fake._stopping.is_set():
                        self._check_client(_POLL)
                    continue
                if line.get("error"):
                    line = {"error": str(line["error"]) + self._echo()}
                    self._chunk(json.dumps(line).encode() + b"\n")
                    break
                if fake.pull_delay:
                    self._pause(fake.pull_delay)
                self._chunk(json.dumps(line).encode() + b"\n")
            if lines[-1].get("status") == "success":
                with fake._lock:
                    if name not in fake.models:
                        fake.models.append(name)
            self._end_chunks()
        finally:
            fake._stream_ended()

    def _v1_models(self, request: dict) -> None:
        data = [
            {"id": name, "object": "model", "created": CREATED, "owned_by": "library"}
            for name in list(self.server.fake.models)
        ]
        self._json(200, {"object": "list", "data": data})

    # --- chat ---------------------------------------------------------------------------

    def _chat(self, dialect: str, request: dict) -> None:
        fake = self.server.fake
        reply = fake._next_reply()
        if reply.segments is not None:
            self._replay(reply)
            return
        if reply.status != 200:
            self._error(reply, dialect, request)
            return
        model = str(request.get("model") or "")
        if model not in fake.models:
            fake._put_back(reply)
            self._error(Reply(status=404), dialect, request)
            return
        think = request.get("think")
        if (
            dialect == "ollama"
            and think not in (None, False)
            and "thinking" not in fake._caps(model)
        ):
            fake._put_back(reply)
            self._json(400, {"error": f'"{model}" does not support thinking'})
            return
        writer: _Writer
        if dialect == "ollama":
            writer = _OllamaWriter(model)
            thinks = think is not False
        elif dialect == "anthropic":
            writer = _AnthropicWriter(model, _prompt_tokens(request))
            thinks = "thinking" in request
        else:
            options = request.get("stream_options")
            usage = isinstance(options, dict) and options.get("include_usage") is True
            writer = _OpenAIWriter(model, usage)
            thinks = request.get("reasoning_effort") != "none"
        steps = [("reasoning", t) for t in _TOKEN.findall(reply.reasoning)] if thinks else []
        steps += [("content", t) for t in reply.content_chunks(request)]
        self._stream_reply(reply, writer, steps, _prompt_tokens(request))

    def _stream_reply(
        self, reply: Reply, writer: _Writer, steps: list[tuple[str, str]], prompt: int
    ) -> None:
        fake = self.server.fake
        delay = reply.delay or (0.05 if reply.mode == "slow" else 0.0)
        action_at = min(reply.after, len(steps)) if reply.mode not in ("normal", "slow") else -1
        self._start_stream(writer.content_type, reply.headers, model=writer.model)
        try:
            if writer.preamble:
                self._chunk(writer.preamble)
            for index in range(len(steps) + 1):
                if index == action_at:
                    if reply.mode == "stall":
                        self._stall(reply)
                    elif reply.mode == "drop":
                        self._drop()
                        return
                    elif reply.mode == "error_midstream":
                        self._chunk(writer.error(reply.error, self._echo()))
                        self._end_chunks()
                        return
                    elif reply.mode == "malformed":
                        self._chunk(writer.garbage)
                if index == len(steps):
                    break
                if delay:
                    self._pause(delay)
                kind, token = steps[index]
                self._chunk(writer.token(kind, token))
            finish = reply.finish_reason
            if reply.tool_calls:
                for line in writer.calls(reply.tool_calls):
                    self._chunk(line)
                finish = writer.calls_finish
            for line in writer.end(finish, prompt, len(steps)):
                self._chunk(line)
            self._end_chunks()
        finally:
            fake._stream_ended()

    def _replay(self, reply: Reply) -> None:
        """Send a recorded body exactly: an error whole, a stream one segment per chunk."""
        fake = self.server.fake
        headers = dict(reply.headers)
        content_type = headers.pop("Content-Type", "application/octet-stream")
        body = list(reply.segments or ())
        if reply.status != 200:
            self._send(reply.status, b"".join(body), content_type, headers)
            return
        self._start_stream(content_type, headers)
        try:
            for segment in body:
                if reply.delay:
                    self._pause(reply.delay)
                self._chunk(segment)
            self._end_chunks()
        finally:
            fake._stream_ended()

    # --- Anthropic's Messages API: a request with `anthropic-version` under /v1/ ------------

    def _key_accepted(self, dialect: str, key: str) -> bool:
        if dialect == "anthropic":
            return self.headers.get("x-api-key") == key
        return self.headers.get("Authorization") == f"Bearer {key}"

    def _anthropic_route(self, method: str, path: str, request: dict) -> None:
        if (method, path) == ("POST", "/v1/messages"):
            self._chat("anthropic", request)
        elif (method, path) == ("GET", "/v1/models"):
            self._anthropic_models()
        elif method == "GET" and path.startswith("/v1/models/"):
            name = unquote(path.removeprefix("/v1/models/"))
            if name in self.server.fake.models:
                self._json(200, _anthropic_model(name))
            else:
                self._error(Reply(status=404), "anthropic", {"model": name})
        else:
            self._error(Reply(status=404, body={"type": "error", "error": {
                "type": "not_found_error", "message": "Not Found"}}), "anthropic", request)

    def _anthropic_models(self) -> None:
        """One page of the list: `limit` (at most the fake's `page_size`) after `after_id`."""
        fake = self.server.fake
        query = parse_qs(urlsplit(self.path).query)
        names = list(fake.models)
        after = query.get("after_id", [""])[0]
        start = names.index(after) + 1 if after in names else 0
        size = min(int(query.get("limit", ["20"])[0]), fake.page_size)
        page = names[start:start + size]
        self._json(200, {
            "data": [_anthropic_model(name) for name in page],
            "has_more": start + size < len(names),
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        })

    # --- low level ----------------------------------------------------------------------

    def _start_stream(
        self, content_type: str, headers: Mapping[str, str], *, model: str = ""
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.server.fake._stream_started(model)

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raise _ClientGone from None

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raise _ClientGone from None

    def _pause(self, seconds: float) -> None:
        """Sleep, but notice a client that hangs up meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._check_client(min(remaining, 0.25))

    def _stall(self, reply: Reply) -> None:
        fake = self.server.fake
        while not reply.released.is_set() and not fake._stopping.is_set():
            self._check_client(_POLL)

    def _check_client(self, timeout: float) -> None:
        """Wait up to `timeout` for the client to hang up; raise _ClientGone if it did."""
        try:
            readable, _, _ = select.select([self.connection], [], [], timeout)
            if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                raise _ClientGone
        except (OSError, ValueError):
            raise _ClientGone from None
        if readable:
            time.sleep(timeout)  # bytes of a next request: not a hang-up

    def _drop(self) -> None:
        """Close the socket mid-body: no terminating chunk, no end marker."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error(self, reply: Reply, dialect: str, request: dict) -> None:
        body = reply.body
        if body is None:
            model = str(request.get("model") or "")
            body = _default_error(reply.status, dialect, model, self._echo())
        if isinstance(body, bytes):
            data, content_type = body, "text/plain; charset=utf-8"
        elif isinstance(body, str):
            data, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        headers = dict(reply.headers)
        content_type = headers.pop("Content-Type", content_type)
        self._send(reply.status, data, content_type, headers)

    def _echo(self) -> str:
        """The words a careless proxy adds to its errors: the request's credentials."""
        said = []
        for name in self.server.fake.echo_headers:
            value = self.headers.get(name)
            if value:
                bare = value.removeprefix("Bearer ")
                said.append(f" Invalid key {bare} for {name}: {value}")
        return "".join(said)

    def _json(self, status: int, value: object) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8")

    def _send(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.close_connection = True


class _Writer(ABC):
    """Encodes one reply in a dialect; token lines are cached because they repeat."""

    content_type = ""
    preamble = b""
    garbage = b""

    def __init__(self, model: str) -> None:
        self.model = model
        self._cache: dict[tuple[str, str], bytes] = {}

    def token(self, kind: str, text: str) -> bytes:
        key = (kind, text)
        line = self._cache.get(key)
        if line is None:
            line = self._cache[key] = self._encode(kind, text)
        return line

    @abstractmethod
    def _encode(self, kind: str, text: str) -> bytes:
        """One content or reasoning chunk."""

    @abstractmethod
    def error(self, message: str | None, echo: str = "") -> bytes:
        """An in-band error line; `echo` ends its message."""

    @abstractmethod
    def end(self, finish_reason: str, prompt: int, completion: int) -> list[bytes]:
        """The closing lines: finish, usage and the end marker."""

    calls_finish = "stop"  # the finish reason of a reply that asks for tools

    @abstractmethod
    def calls(self, calls: Sequence[Called]) -> list[bytes]:
        """The lines asking for tools."""


class _OllamaWriter(_Writer):
    content_type = "application/x-ndjson"
    garbage = b"this is not json\n"

    def _encode(self, kind: str, text: str) -> bytes:
        message = {"role": "assistant", "content": text}
        if kind == "reasoning":
            message = {"role": "assistant", "content": "", "thinking": text}
        line = {"model": self.model, "created_at": CREATED_AT, "message": message, "done": False}
        return json.dumps(line).encode() + b"\n"

    def error(self, message: str | None, echo: str = "") -> bytes:
        return json.dumps({"error": (message or OLLAMA_ERROR) + echo}).encode() + b"\n"

    def calls(self, calls: Sequence[Called]) -> list[bytes]:
        """One line with every call whole, arguments as an object (or the raw text)."""
        message = {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": call.name, "arguments": call.arguments}} for call in calls
        ]}
        line = {"model": self.model, "created_at": CREATED_AT, "message": message, "done": False}
        return [json.dumps(line).encode() + b"\n"]

    def end(self, finish_reason: str, prompt: int, completion: int) -> list[bytes]:
        final = {
            "model": self.model,
            "created_at": CREATED_AT,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": finish_reason,
            "total_duration": 500_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": 50_000_000,
            "eval_count": completion,
            "eval_duration": 400_000_000,
        }
        return [json.dumps(final).encode() + b"\n"]


class _OpenAIWriter(_Writer):
    content_type = "text/event-stream"
    garbage = b"data: {this is not json\n\n"

    def __init__(self, model: str, include_usage: bool) -> None:
        super().__init__(model)
        self.include_usage = include_usage
        self.preamble = self._event({"role": "assistant", "content": ""}, None)

    def _event(self, delta: dict, finish: str | None, **extra: object) -> bytes:
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def _encode(self, kind: str, text: str) -> bytes:
        if kind == "reasoning":
            return self._event({"content": "", "reasoning": text}, None)
        return self._event({"content": text}, None)

    calls_finish = "tool_calls"

    def calls(self, calls: Sequence[Called]) -> list[bytes]:
        """Each call opens with its id and name, then its arguments follow in two halves,
        the halves of all calls interleaved, as servers stream parallel calls."""
        opening = [
            {"index": index, "id": call.id or f"call_{index}", "type": "function",
             "function": {"name": call.name, "arguments": ""}}
            for index, call in enumerate(calls)
        ]
        halves: list[dict[str, object]] = []
        for part in (0, 1):
            for index, call in enumerate(calls):
                text = call.text()
                middle = len(text) // 2
                piece = text[:middle] if part == 0 else text[middle:]
                halves.append({"index": index, "function": {"arguments": piece}})
        return [self._event({"tool_calls": [fragment]}, None) for fragment in opening + halves]

    def error(self, message: str | None, echo: str = "") -> bytes:
        error = {
            "message": (message or OPENAI_ERROR) + echo,
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return b"data: " + json.dumps({"error": error}).encode() + b"\n\n"

    def end(self, finish_reason: str, prompt: int, completion: int) -> list[bytes]:
        lines = [self._event({}, finish_reason)]
        if self.include_usage:
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": self.model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": usage,
            }
            lines.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        lines.append(b"data: [DONE]\n\n")
        return lines


class _AnthropicWriter(_Writer):
    """Messages SSE: each run of reasoning or text is a content block of its own (a thinking
    block ends with its signature), each tool call a `tool_use` block whose input JSON comes
    in two pieces; the stop reason and output tokens come in `message_delta`."""

    content_type = "text/event-stream"
    garbage = b"event: content_block_delta\ndata: {this is not json\n\n"
    calls_finish = "tool_use"

    def __init__(self, model: str, prompt: int) -> None:
        super().__init__(model)
        self.preamble = _sse("message_start", {"message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": prompt, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1}}})
        self._index = -1
        self._open: str | None = None  # the type of the block being written

    def token(self, kind: str, text: str) -> bytes:
        return self._encode(kind, text)  # not cached: the lines depend on the blocks so far

    def _encode(self, kind: str, text: str) -> bytes:
        block = "thinking" if kind == "reasoning" else "text"
        lines = b""
        if self._open != block:
            lines += self._open_block({"type": block, block: ""})
            self._open = block
        delta = {"type": f"{block}_delta", block: text}
        return lines + _sse("content_block_delta", {"index": self._index, "delta": delta})

    def _open_block(self, content: dict[str, object]) -> bytes:
        lines = self._close_block()
        self._index += 1
        return lines + _sse("content_block_start", {"index": self._index,
                                                    "content_block": content})

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        lines = b""
        if self._open == "thinking":
            lines = _sse("content_block_delta", {"index": self._index, "delta": {
                "type": "signature_delta", "signature": "c2lnbmF0dXJl"}})
        self._open = None
        return lines + _sse("content_block_stop", {"index": self._index})

    def calls(self, calls: Sequence[Called]) -> list[bytes]:
        lines = []
        for number, call in enumerate(calls):
            lines.append(self._open_block({"type": "tool_use", "id": call.id or f"toolu_{number}",
                                           "name": call.name, "input": {}}))
            self._open = "tool_use"
            text = call.text()
            for piece in ("", text[: len(text) // 2], text[len(text) // 2:]):
                lines.append(_sse("content_block_delta", {"index": self._index, "delta": {
                    "type": "input_json_delta", "partial_json": piece}}))
        return lines

    def error(self, message: str | None, echo: str = "") -> bytes:
        return _sse("error", {"error": {"type": "overloaded_error",
                                        "message": (message or "Overloaded") + echo}})

    def end(self, finish_reason: str, prompt: int, completion: int) -> list[bytes]:
        reason = "end_turn" if finish_reason == "stop" else finish_reason
        return [
            self._close_block(),
            _sse("message_delta", {"delta": {"stop_reason": reason, "stop_sequence": None},
                                   "usage": {"output_tokens": completion}}),
            _sse("message_stop", {}),
        ]


def _sse(kind: str, data: dict[str, object]) -> bytes:
    """One Anthropic event: its name on the `event:` line and again as `type`."""
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def _anthropic_model(name: str) -> dict[str, object]:
    return {"type": "model", "id": name, "display_name": name.replace("-", " ").title(),
            "created_at": CREATED_AT}


_ANTHROPIC_ERRORS = {
    400: ("messages: text content blocks must be non-empty", "invalid_request_error"),
    401: ("invalid x-api-key", "authentication_error"),
    403: ("Your API key does not have permission to use the specified resource.",
          "permission_error"),
    404: ("model: {model}", "not_found_error"),
    429: ("Number of request tokens has exceeded your per-minute rate limit.",
          "rate_limit_error"),
    500: ("Internal server error", "api_error"),
    529: ("Overloaded", "overloaded_error"),
}


def last_user_text(request: Mapping[str, object]) -> str:
    """The text of the last user message (string content or OpenAI text parts)."""
    messages = request.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
            return str(content or "")
    return ""


def _prompt_tokens(request: Mapping[str, object]) -> int:
    messages = request.get("messages")
    words = 0
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            content = message.get("content")
            if isinstance(content, str):
                words += len(content.split())
    return words


def _details() -> dict[str, object]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }


_OPENAI_ERRORS = {
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: ("The model `{model}` does not exist.", "invalid_request_error", "model_not_found"),
    429: (
        "Rate limit reached for requests. Please try again in 1s.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (OPENAI_ERROR, "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
}
_OLLAMA_ERRORS = {
    401: "unauthorized",
    404: "model '{model}' not found",
    429: "too many requests",
    500: "an unexpected error occurred",
    503: "server busy, please try again.  maximum pending requests exceeded",
}


def _default_error(status: int, dialect: str, model: str, echo: str = "") -> object:
    """The body the real server would send for this status; `echo` ends its message."""
    if dialect == "ollama":
        message = _OLLAMA_ERRORS.get(status, f"error {status}")
        return {"error": message.format(model=model) + echo}
    if dialect == "anthropic":
        message, type_ = _ANTHROPIC_ERRORS.get(status, (f"error {status}", "api_error"))
        return {"type": "error", "error": {"type": type_, "message": message.format(model=model)
                                           + echo}, "request_id": "req_fake"}
    message, type_, code = _OPENAI_ERRORS.get(status, (f"error {status}", "api_error", None))
    return {
        "error": {
            "message": message.format(model=model) + echo,
            "type": type_,
            "param": None,
            "code": code,
        }
    }


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A started fake with a plain model and a thinking one; stopped after the test."""
    with FakeProvider(
        models=["llama3.2:3b", "qwen3:8b"],
        capabilities={"qwen3:8b": ["completion", "thinking"]},
    ) as fake:
        yield fake


def cycle_tokens(text: str, count: int, max_chars: int = 0) -> list[str]:
    """`count` tokens of `text`, starting again from its beginning as often as needed; a
    token is a word with its leading whitespace, or at most `max_chars` characters of one."""
    pattern = re.compile(rf"\s*\S{{1,{max_chars}}}|\s+") if max_chars > 0 else _TOKEN
    tokens = pattern.findall(text)
    if not tokens:
        raise ValueError("the text has no tokens")
    return [tokens[i % len(tokens)] for i in range(count)]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted, every reply streaming `--tokens` tokens (for benchmarks)."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_provider", description=main.__doc__)
    parser.add_argument("--port", type=int, default=11435)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="pause before each token")
    parser.add_argument("--models", default="llama3.2:3b,qwen3:8b", help="comma-separated")
    parser.add_argument(
        "--text-file",
        help="stream this file's text (repeated as needed) instead of ' tok' tokens",
    )
    parser.add_argument(
        "--token-chars",
        type=int,
        default=0,
        help="with --text-file: at most this many non-space characters per token (0: a word)",
    )
    parser.add_argument(
        "--nodelay",
        action="store_true",
        help="send each token at once (TCP_NODELAY, as Ollama's Go server does); without it a "
        "reused connection can hold a token back ~40 ms (Nagle's algorithm vs delayed ACKs)",
    )
    args = parser.parse_args(argv)
    chunks = [" tok"] * args.tokens
    if args.text_file:
        with open(args.text_file, encoding="utf-8") as file:
            chunks = cycle_tokens(file.read(), args.tokens, args.token_chars)
    reply = Reply(chunks=chunks, delay=args.delay_ms / 1000)
    fake = FakeProvider(models=args.models.split(","), default=reply, port=args.port)
    fake.start()
    if fake._server is not None:
        # socketserver listens with a backlog of 5, so a burst of clients (a concurrency
        # benchmark) loses connections that retry only after a second; Ollama takes more.
        fake._server.socket.listen(128)
        if args.nodelay:
            # Set on the listening socket: Linux gives accepted connections the same option.
            fake._server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(f"fake provider: Ollama at {fake.ollama_url}, OpenAI-compatible at {fake.openai_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
