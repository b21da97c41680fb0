"""HTTP for providers: one pooled session per provider, three timeouts, errors as sentences.

Timeouts (PROTOCOLS §1.6): `connect_timeout` to open the connection; `first_byte_timeout`
until the headers and the first body bytes arrive (a local server may be loading a model);
then `idle_timeout` between chunks. requests gives us the first two as `timeout=(connect,
read)`; for the third we change the socket's own timeout after the first body bytes, which is
what urllib3 reads with.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping
from functools import partial
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..outbound.adapter import guard
from ..outbound.errors import LocalOnlyRefused, ProviderLocalOnly
from ..outbound.gate import Requester
from ..outbound.policy import is_this_machine
from .base import WAITING, Cancel, Event, JSONValue, ProviderConfig
from .dialect import DialectParser
from .errors import ProviderError, ProviderUnavailable, StreamBroken
from .failure import error_for_status, error_from_stream, status_line
from .naming import Origin
from .redaction import excerpt, remember_credentials

_READ_SIZE = 64 * 1024
_ERROR_BODY_LIMIT = 64 * 1024
_DOCUMENT_LIMIT = 16 * 1024 * 1024
_DRAIN_LIMIT = 1024 * 1024
METADATA_TIMEOUT = 10.0  # seconds: a model list must not hang like a model load may
_READ_ERRORS = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
# A refused connection to this machine usually means the server is starting or not running:
# one quick retry is worth it, a long backoff is not.
LOCAL_RETRY_AFTER = 0.2


class Transport:
    """The session and error mapping one provider instance uses for all its requests.

    `auth` is how the key goes on the wire: `Authorization: Bearer <key>` unless the vendor
    names its own headers (Anthropic's `x-api-key`, Gemini's `x-goog-api-key`). A key never
    goes into a URL, where logs and error messages would carry it."""

    def __init__(
        self, config: ProviderConfig, *, auth: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.origin = Origin.of(config)
        self.base_url = self.origin.base_url
        self.session = requests.Session()
        if _is_local(self.base_url):
            # A proxy from the environment must never see traffic meant for this machine.
            self.session.trust_env = False
        if config.outbound is not None:
            guard(self.session, config.outbound, Requester.provider(config.id))
        self.session.headers.update(dict(config.headers))
        # From here on these values are on the wire: whatever a server says back, they are
        # removed from it (and from every log line).
        remember_credentials(config.api_key, config.headers)
        if auth is not None:
            self.session.headers.update(auth)
        elif config.api_key:
            self.session.headers["Authorization"] = f"Bearer {config.api_key}"
        # A provider dropped without close() (an old Router) still releases its sockets.
        weakref.finalize(self, self.session.close)

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def open(
        self,
        method: str,
        url: str,
        *,
        json_body: JSONValue = None,
        model: str | None = None,
        read_timeout: float | None = None,
    ) -> requests.Response:
        """Send the request and return a 2xx response whose body is still unread."""
        config = self.config
        try:
            response = self.session.request(
                method,
                url,
                json=json_body,
                stream=True,
                allow_redirects=False,
                timeout=(config.connect_timeout, read_timeout or config.first_byte_timeout),
            )
        except LocalOnlyRefused as exc:
            raise ProviderLocalOnly(exc.message) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise self._unreachable(exc) from None
        except requests.exceptions.ReadTimeout as exc:
            raise self._slow_start(exc, read_timeout) from None
        except requests.exceptions.SSLError as exc:
            raise ProviderUnavailable(
                f"Could not make a secure connection to {self.origin.label} at "
                f"{self.base_url}. Check the address (http or https) in Settings.",
                detail=str(exc),
                retryable=False,
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if _refused(exc):
                raise self._unreachable(exc) from None
            raise ProviderUnavailable(
                f"{self.origin.label} closed the connection without answering. Try again.",
                detail=str(exc),
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise ProviderError(
                f"The address “{self.base_url}” for {self.origin.quoted_id} is not valid. Fix "
                "it in Settings.",
                detail=str(exc),
            ) from None
        except requests.exceptions.RequestException as exc:
            raise ProviderUnavailable(
                f"Could not talk to {self.origin.label}. Try again.", detail=str(exc)
            ) from None
        if 200 <= response.status_code < 300:
            return response
        with response:
            if 300 <= response.status_code < 400:
                location = response.headers.get("Location", "another address")
                raise ProviderError(
                    f"{self.origin.label} redirected the request to {location}. Put the final "
                    "address in Settings.",
                    detail=status_line(response.status_code, response.reason),
                )
            body = _read_some(response, _ERROR_BODY_LIMIT)
            raise error_for_status(
                response.status_code,
                response.reason or "",
                response.headers,
                body,
                self.origin,
                model=model,
                url=url,
            )

    def chunks(
        self, response: requests.Response, *, first_timeout: float | None = None
    ) -> Iterator[bytes]:
        """The body as it arrives; timeouts and drops become ProviderErrors. What has
        already arrived comes as one piece: a server that writes one HTTP chunk per token
        would otherwise cost a read, a parse and a send downstream per token."""
        raw = response.raw
        first = True
        arrived = _arrived_check(response)
        while True:
            try:
                data = raw.read1(_READ_SIZE, decode_content=True)
                if data and arrived is not None and arrived():
                    data = _more_arrived(raw, data, arrived)
            except urllib3.exceptions.ReadTimeoutError as exc:
                if first:
                    raise self._slow_start(exc, first_timeout) from None
                raise StreamBroken(
                    f"{self.origin.label} stopped sending for {_fmt(self.config.idle_timeout)}, "
                    "so the reply was cut off. Try again.",
                    detail=str(exc),
                ) from None
            except _READ_ERRORS as exc:
                raise StreamBroken(
                    f"The connection to {self.origin.label} dropped mid-reply, so the reply "
                    "was cut off. Try again.",
                    detail=str(exc) or type(exc).__name__,
                ) from None
            if not data:
                return
            if first:
                first = False
                _set_read_timeout(response, self.config.idle_timeout)
            yield data

    def request_json(
        self, method: str, url: str, *, json_body: JSONValue = None, model: str | None = None
    ) -> object:
        """A small metadata request (model lists and details); None for an empty body."""
        timeout = min(self.config.first_byte_timeout, METADATA_TIMEOUT)
        response = self.open(method, url, json_body=json_body, model=model, read_timeout=timeout)
        with response:
            data = self.read_all(response, first_timeout=timeout)
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise ProviderError(
                f"{self.origin.label} sent a reply that is not JSON from {url}. Check the "
                "address in Settings.",
                detail=excerpt(data[:1024].decode("utf-8", "replace"), 300),
            ) from None

    def read_all(
        self,
        response: requests.Response,
        *,
        limit: int = _DOCUMENT_LIMIT,
        first_timeout: float | None = None,
    ) -> bytes:
        parts: list[bytes] = []
        size = 0
        for chunk in self.chunks(response, first_timeout=first_timeout):
            size += len(chunk)
            if size > limit:
                raise ProviderError(
                    f"{self.origin.label} sent a reply larger than {limit // (1024 * 1024)} MiB.",
                    detail=f"body exceeded {limit} bytes",
                )
            parts.append(chunk)
        return b"".join(parts)

    def finish(self, response: requests.Response) -> None:
        """Read what follows the end marker (the chunked terminator): urllib3 returns the
        connection to the pool once the body has been read to its end."""
        _set_read_timeout(response, min(self.config.idle_timeout, 1.0))
        size = 0
        try:
            while data := response.raw.read1(_READ_SIZE):
                size += len(data)
                if size > _DRAIN_LIMIT:
                    return  # the server keeps talking; closing the response drops it
        except _READ_ERRORS:
            pass  # closing the response discards the connection

    def _unreachable(self, exc: Exception) -> ProviderUnavailable:
        label = self.origin.label
        if self.origin.kind == "ollama":
            message = (
                f"{label} is not running at {self.base_url}. Start it (run `ollama serve`), "
                "or pick another model."
            )
        else:
            message = (
                f"Could not reach {label} at {self.base_url}. Check the address and that the "
                "server is running."
            )
        retry_after = LOCAL_RETRY_AFTER if _is_local(self.base_url) else None
        return ProviderUnavailable(message, detail=str(exc), retry_after=retry_after)

    def _slow_start(self, exc: Exception, seconds: float | None) -> ProviderUnavailable:
        # Not retried: the same wait again is rarely what the person wants.
        return ProviderUnavailable(
            f"{self.origin.label} did not start answering within "
            f"{_fmt(seconds or self.config.first_byte_timeout)}. The model may still be "
            "loading: try again, or raise the first-byte timeout in Settings.",
            detail=str(exc),
            retryable=False,
        )


def stream_events(
    transport: Transport,
    url: str,
    body: JSONValue,
    parser: DialectParser,
    *,
    model: str,
    cancel: Cancel | None = None,
) -> Generator[Event, None, None]:
    """POST `body` and yield the parser's events. The response is opened inside the generator
    and closed in `finally`, so closing the generator (Stop) closes the upstream connection;
    `cancel` does the same from another thread, and the generator then just ends."""
    response = None
    forget = None
    try:
        response = transport.open("POST", url, json_body=body, model=model)
        if cancel is not None:
            forget = cancel.on_cancel(partial(abort, response))
        try:
            content_type = response.headers.get("Content-Type", "")
            if content_type.startswith("application/json"):
                # The server ignored `stream`, or reports an error with status 200 (§1.4).
                yield from parser.feed_document(transport.read_all(response))
            else:
                for chunk in transport.chunks(response):
                    yield from parser.feed(chunk)
                    if parser.terminal is not None or (cancel is not None and cancel.cancelled):
                        break
                    yield WAITING
                yield from parser.close()
        except ProviderError:
            if cancel is not None and cancel.cancelled:
                return  # the read failed because Stop shut the socket
            raise
        if cancel is not None and cancel.cancelled:
            return
        if parser.failure is not None:
            raise parser.failure
        if parser.terminal == "error" and parser.error is not None:
            raise error_from_stream(parser.error, transport.origin, model=model)
        if not parser.complete:
            raise StreamBroken(
                f"The reply was cut off: {transport.origin.label} closed the stream before "
                "finishing. Try again.",
                detail=f"stream ended without its end marker ({parser.terminal})",
            )
        transport.finish(response)
    finally:
        if forget is not None:
            forget()
        if response is not None:
            response.close()


def abort(response: requests.Response) -> None:
    """Shut the response's socket so a read blocked in another thread returns at once."""
    try:
        response.raw.shutdown()  # urllib3 2.x: SHUT_RD on the connection's socket
        return
    except (ValueError, RuntimeError, OSError, AttributeError):
        pass  # already released, or a urllib3 without shutdown(): find the socket ourselves
    sock = _socket_of(response)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _read_some(response: requests.Response, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        while size < limit:
            data = response.raw.read1(limit - size, decode_content=True)
            if not data:
                break
            parts.append(data)
            size += len(data)
    except _READ_ERRORS:
        pass  # what arrived is enough to describe the error
    return b"".join(parts)


def _arrived_check(response: requests.Response) -> Callable[[], bool] | None:
    """A check, without waiting, whether more of the body is already in the socket; None
    when the socket is out of reach (then each read is passed on as it is).

    Only the socket is asked: bytes http.client already holds in its own buffer (up to 8 KiB)
    go on one HTTP chunk per read. Looking into that buffer too made bigger pieces, but with
    32 streams at once each thread then held the interpreter longer and the gaps between
    tokens grew by half (docs/performance.md)."""
    sock = _socket_of(response)
    if sock is None or not hasattr(select, "poll"):
        return None
    poller = select.poll()
    poller.register(sock, select.POLLIN)

    def readable() -> bool:  # a socket closed meanwhile (POLLNVAL) has nothing more
        return any(events & select.POLLIN for _, events in poller.poll(0))

    return readable


def _more_arrived(raw: urllib3.BaseHTTPResponse, data: bytes, arrived: Callable[[], bool]) -> bytes:
    """`data` and what followed it into the socket meanwhile, up to `_READ_SIZE` bytes. A
    read that fails ends the piece: what came before it is passed on, and the next read
    reports the failure."""
    parts = [data]
    size = len(data)
    while size < _READ_SIZE:
        try:
            more = raw.read1(_READ_SIZE - size, decode_content=True)
        except _READ_ERRORS:
            break
        if not more:
            break  # the end: the next read says so again
        parts.append(more)
        size += len(more)
        if not arrived():
            break
    return b"".join(parts)


def _set_read_timeout(response: requests.Response, seconds: float) -> None:
    """Change the timeout of the socket the body is read from (what urllib3 reads with)."""
    sock = _socket_of(response)
    if sock is not None:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass  # already closed: the next read reports it


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket the body is read from.

    urllib3 2.x exposes the connection while the response holds it; after a `Connection:
    close` answer http.client has already let go of it and only the response's file still
    refers to the socket."""
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        fileobj = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(fileobj, "raw", None), "_sock", None)
    return sock if hasattr(sock, "settimeout") else None


def _refused(exc: requests.exceptions.ConnectionError) -> bool:
    """True when no connection was made at all (refused, unreachable, unknown host)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _is_local(url: str) -> bool:
    return is_this_machine(urlsplit(url).hostname or "")


def _fmt(seconds: float) -> str:
    return f"{seconds:g} s"
