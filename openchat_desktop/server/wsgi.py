"""The HTTP server: werkzeug's, with connections handled on reused threads.

werkzeug's threaded server starts a new thread per connection and waits for it to be
scheduled, which costs about a millisecond on a busy machine — straight in the time to the
first token. A pool of threads, created as needed and kept, does the same work without it.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from werkzeug.serving import BaseWSGIServer

MAX_CONNECTIONS = 256  # streams each hold a thread while a reply is followed


class PooledWSGIServer(BaseWSGIServer):
    multithread = True  # makes werkzeug speak HTTP/1.1 with keep-alive and chunked streams

    def __init__(self, host: str, port: int, app: Flask | None) -> None:
        super().__init__(host, port, app)  # type: ignore[arg-type]
        self._pool = ThreadPoolExecutor(MAX_CONNECTIONS, thread_name_prefix="http")

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        self._pool.submit(self._handle, request, client_address)

    def _handle(self, request: socket.socket, client_address: object) -> None:
        try:
            self.finish_request(request, client_address)  # type: ignore[arg-type]
        except Exception:
            self.handle_error(request, client_address)  # type: ignore[arg-type]
        finally:
            self.shutdown_request(request)  # type: ignore[arg-type]

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)
