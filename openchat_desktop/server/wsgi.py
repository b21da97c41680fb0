"""The HTTP server: werkzeug's, tuned for streaming replies as they are written.

- Connections are handled on reused threads: werkzeug's threaded server starts a new thread
  per connection and waits for it to be scheduled, about a millisecond on a busy machine.
- Each streamed chunk leaves in one `send()` with TCP_NODELAY: werkzeug writes the chunk size,
  the data and the closing CRLF separately, and Nagle's algorithm would hold the later small
  writes back until the client acknowledges the first.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

MAX_CONNECTIONS = 256  # streams each hold a thread while a reply is followed


class StreamingRequestHandler(WSGIRequestHandler):
    wbufsize = 64 * 1024  # buffered: werkzeug's flush() after each chunk sends it whole

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PooledWSGIServer(BaseWSGIServer):
    multithread = True  # makes werkzeug speak HTTP/1.1, so streams use chunked encoding

    def __init__(self, host: str, port: int, app: Flask | None) -> None:
        super().__init__(host, port, app, handler=StreamingRequestHandler)  # type: ignore[arg-type]
        self._pool = ThreadPoolExecutor(MAX_CONNECTIONS, thread_name_prefix="http")

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        self._pool.submit(self._handle, request, client_address)

    def _handle(self, request: socket.socket, client_address: object) -> None:
        try:
            self.finish_request(request, client_address)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a reload, a closed tab): nothing to answer
        except Exception:
            self.handle_error(request, client_address)  # type: ignore[arg-type]
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)
