"""A fake Hugging Face hub: a real HTTP server on 127.0.0.1 that answers in the hub's wire
format, for the model downloads.

    with FakeHub() as hub:
        hub.add("owner/Model-GGUF", {"Model-Q4_K_M.gguf": data, "README.md": b"# Model"})
        hub.url                      # give it to the app as HF_ENDPOINT

What it answers, as huggingface.co does:
- `GET /api/models/<repo>/tree/<revision>` — the file list: `{"type", "oid", "size", "path"}`,
  with `"lfs": {"oid": <sha256>, "size", "pointerSize"}` for LFS files (every .gguf); an
  unknown repository is 401 with `X-Error-Code: RepoNotFound`, as for a stranger.
- `GET /<repo>/resolve/<revision>/<path>` — a 302 to the CDN, which is this server again under
  the name `localhost` (another host for the client, so a token must not follow); a gated
  repository without the right `Authorization: Bearer <token>` is 401 `GatedRepo`; an unknown
  file is 404 `EntryNotFound`.
- `GET /cdn/<sha256>` — the bytes, with `Range: bytes=N-` honoured (206 and `Content-Range`).

Modes for the CDN, set on the instance: `delay` seconds between chunks of `chunk` bytes;
`drop_after = n` closes the connection after n bytes of the file (once, then it is reset);
`hold_at = n` stops after n bytes of the file until `release()` or the client hangs up;
`wrong_bytes` serves other bytes of the same length. `requests` records every request
(path, headers).
"""

from __future__ import annotations

import hashlib
import json
import select
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from requests.structures import CaseInsensitiveDict


class Seen(NamedTuple):
    path: str
    headers: CaseInsensitiveDict


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.gated: dict[str, str] = {}  # repo -> the token that opens it
        self.requests: list[Seen] = []
        self.chunk = 16 * 1024
        self.delay = 0.0
        self.drop_after: int | None = None
        self.hold_at: int | None = None
        self.wrong_bytes = False
        self.held = threading.Event()  # set while a response is held at hold_at
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def add(self, repo: str, files: Mapping[str, bytes], *, token: str | None = None) -> None:
        """A repository; with `token`, a gated one that only that token opens."""
        self.repos[repo] = dict(files)
        if token is not None:
            self.gated[repo] = token

    def release(self) -> None:
        self._released.set()

    def cdn_requests(self) -> list[Seen]:
        return [seen for seen in self.requests if seen.path.startswith("/cdn/")]

    def _blob(self, sha: str) -> bytes | None:
        for files in self.repos.values():
            for data in files.values():
                if hashlib.sha256(data).hexdigest() == sha:
                    return data
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                hub.requests.append(Seen(self.path, CaseInsensitiveDict(self.headers.items())))
                path = unquote(urlsplit(self.path).path)
                if path.startswith("/api/models/"):
                    self._tree(path.removeprefix("/api/models/"))
                elif path.startswith("/cdn/"):
                    self._cdn(path.removeprefix("/cdn/"))
                elif "/resolve/" in path:
                    self._resolve(path)
                else:
                    self._error(404, "EntryNotFound")

            def _error(self, status: int, code: str) -> None:
                body = json.dumps({"error": f"{code}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _tree(self, rest: str) -> None:
                repo, _, _revision = rest.partition("/tree/")
                files = hub.repos.get(repo)
                if files is None:
                    self._error(401, "RepoNotFound")
                    return
                entries = []
                for path, data in files.items():
                    entry: dict[str, object] = {
                        "type": "file", "oid": hashlib.sha1(data).hexdigest(),  # noqa: S324
                        "size": len(data), "path": path,
                    }
                    if path.endswith(".gguf"):
                        entry["size"] = len(data)
                        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(),
                                        "size": len(data), "pointerSize": 134}
                    entries.append(entry)
                body = json.dumps(entries).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _resolve(self, path: str) -> None:
                repo, _, rest = path.lstrip("/").partition("/resolve/")
                _revision, _, file = rest.partition("/")
                files = hub.repos.get(repo)
                if files is None:
                    self._error(401, "RepoNotFound")
                    return
                token = hub.gated.get(repo)
                if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                    self._error(401 if not self.headers.get("Authorization") else 403,
                                "GatedRepo")
                    return
                if file not in files:
                    self._error(404, "EntryNotFound")
                    return
                sha = hashlib.sha256(files[file]).hexdigest()
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{hub.port}/cdn/{sha}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _cdn(self, sha: str) -> None:
                data = hub._blob(sha)
                if data is None:
                    self._error(404, "EntryNotFound")
                    return
                if hub.wrong_bytes:
                    data = bytes(b ^ 0x5A for b in data)
                start = 0
                wanted = self.headers.get("Range", "")
                if wanted.startswith("bytes=") and wanted.endswith("-"):
                    start = int(wanted[6:-1])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                self._send(data, start)

            def _send(self, data: bytes, at: int) -> None:
                while at < len(data):
                    end = min(at + hub.chunk, len(data))
                    for limit in (hub.drop_after, hub.hold_at):
                        if limit is not None and at < limit < end:
                            end = limit
                    try:
                        self.wfile.write(data[at:end])
                        self.wfile.flush()
                    except OSError:
                        return  # the client hung up
                    at = end
                    if hub.drop_after is not None and at == hub.drop_after:
                        hub.drop_after = None
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if hub.hold_at is not None and at == hub.hold_at:
                        hub.hold_at = None
                        hub.held.set()
                        while not hub._released.wait(0.05):
                            if self._client_gone():
                                return
                    if hub.delay:
                        time.sleep(hub.delay)

            def _client_gone(self) -> bool:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if not readable:
                    return False
                try:
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

        return Handler


@contextmanager
def serving(monkeypatch, repo: str, files: Mapping[str, bytes]) -> Iterator[FakeHub]:
    """A fake hub with one repository, the app pointed at it (HF_ENDPOINT) and no token in
    the environment."""
    with FakeHub() as fake:
        fake.add(repo, files)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield fake
