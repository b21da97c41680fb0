"""The running application: settings, store, engine, chat service, Flask app and HTTP server.

One `Runtime` serves `openchat serve`, `openchat --browser` and the desktop window alike.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from . import paths, rendering
from .access.keys import ApiKeys
from .access.limits import RateLimits
from .chat import ChatService
from .chat.attachments import AttachmentService
from .chat.replies import StoredReplies
from .engine import Engine
from .instance import InstanceLock
from .local.adding import clear_abandoned
from .local.downloads import HubDownloads, hub_address, hub_token
from .local.manager import EngineManager, EngineSettings, effective_settings
from .local_models import LocalModels
from .outbound import Gate, OutboundLog
from .providers.base import Provider, ProviderConfig
from .providers.kinds import build_provider
from .providers.redaction import guard_logs
from .providers.router import Router
from .server import create_app, websocket
from .server.security import allowed_hosts
from .server.wsgi import PooledWSGIServer
from .settings import SettingsStore
from .store import Store
from .store.clock import utc_now
from .tools.mcp import McpServers

log = logging.getLogger(__name__)

ENGINE_LOG = "engine.log"


# werkzeug logs every request to stderr unless told otherwise: noise for a desktop app and
# time spent on every streamed request.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class WindowHooks(Protocol):
    """The desktop window, as the server may use it."""

    def show(self) -> None: ...

    def ask_save_path(self, suggested_name: str) -> str | None: ...

    def ask_open_path(self, file_types: tuple[str, ...]) -> str | None: ...


class Runtime:
    def __init__(
        self,
        *,
        data_dir: Path,
        settings_path: Path,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        window: bool = False,
    ) -> None:
        guard_logs()  # no log line may carry an API key, whichever library writes it
        self.data_dir = data_dir
        self.host = host
        self.token = token or secrets.token_urlsafe(32)
        self.web_dir = paths.resource_dir("web")
        # Before the database is opened: a second OpenChat on this folder stops here.
        self.instance = InstanceLock(data_dir)
        self.instance.acquire()
        try:
            self._open(settings_path, host, port)
        except BaseException:
            self.instance.release()
            raise
        self.instance.publish(base_url=self.base_url, token=self.token, window=window)
        # Set by the desktop window; None when serving headless or to a browser.
        self.window: WindowHooks | None = None
        threading.Thread(target=self._after_start, name="after-start", daemon=True).start()

    def _open(self, settings_path: Path, host: str, port: int) -> None:
        self.settings = SettingsStore(settings_path)
        self.store = Store(paths.database_path(self.data_dir))
        # Every request to another host passes this gate: refused while local-only mode is
        # on (read per request, so the switch applies at once), logged either way.
        self.outbound_log = OutboundLog(self.store, clock=utc_now)
        self.outbound = Gate(lambda: self.settings.current.local_only, self.outbound_log)
        interrupted = self.store.mark_interrupted()
        if interrupted:
            log.info("%d repl%s cut off when OpenChat last stopped: kept, marked interrupted",
                     interrupted, "y was" if interrupted == 1 else "ies were")
        self.engine = Engine(StoredReplies(self.store))
        # The built-in engine's child starts on the first reply from a `local/` model.
        # llama.cpp's own messages of the last start: what to look at when a model fails.
        self.local_engine = EngineManager(self.local_settings, log_path=self.data_dir / ENGINE_LOG)
        self._router_lock = threading.Lock()
        self._router: Router | None = None
        self._router_version = -1
        self.attachments = AttachmentService(self.store, paths.attachments_dir(self.data_dir))
        self.chat = ChatService(
            self.store, self.engine, self.settings, self.router, self.attachments
        )
        # The models folder and hub address are read per download (see local.downloads).
        self.hub_downloads = HubDownloads(
            lambda: self.local_settings().models_dir,
            hub_url=lambda: hub_address(self.settings.current.local.hub_url),
            token=lambda: hub_token(self.settings.current.local.hub_token_env),
            gate=self.outbound,
        )
        self.local_models = LocalModels(
            self.router, self.chat.capabilities.forget, self.hub_downloads
        )
        # MCP servers start when a chat first needs their tools; their stderr goes to
        # mcp-<id>.log in the data folder, what to read when one fails.
        self.mcp_servers = McpServers(
            lambda: self.settings.current.mcp_servers, self.data_dir, self.outbound
        )
        self.tool_sources = self.chat.tool_sources  # the built-in tools, then the servers'
        self.tool_sources.add_group(self.mcp_servers.sources)
        self.rate_limits = RateLimits()  # per API key, in memory
        self.api_keys = ApiKeys(self.store)
        self._thread: threading.Thread | None = None
        self.server = PooledWSGIServer(host, port, None)
        self.port = self.server.server_port
        self.app = create_app(self, token=self.token, hosts=allowed_hosts(host, self.port))
        self.server.app = self.app
        self._closed = False

    def _after_start(self) -> None:
        """Work that must not delay the first page, one piece after the other: two threads
        competing for the interpreter while the first request comes in delay it by both."""
        # The first highlighted code block loads pygments (~50 ms): do it before anyone waits.
        rendering.warm_up()
        # Uploads never sent, and files nothing refers to: it visits every file.
        self._clean_attachments()
        # Half-copied model files an add left when the app was killed.
        self._clear_abandoned_adds()
        # What start-up loaded (libraries, settings) lives as long as the process: the garbage
        # collector need not walk it again. Its full passes, which pause every thread, then
        # cost what the running replies hold, not the whole program.
        gc.freeze()

    def _clear_abandoned_adds(self) -> None:
        try:
            removed = clear_abandoned(self.local_settings().models_dir)
        except Exception:  # never a reason to stop; the next start tries again
            if not self._closed:
                log.exception("clearing abandoned model adds failed")
            return
        if removed:
            log.info("removed %d unfinished model file add%s", removed, "" if removed == 1 else "s")

    def _clean_attachments(self) -> None:
        try:
            removed = self.attachments.clean_up()
        except Exception:  # never a reason to stop; the next start tries again
            if not self._closed:
                log.exception("cleaning up attachments failed")
            return
        if removed:
            log.info("removed %d attachment file%s nothing refers to", removed,
                     "" if removed == 1 else "s")

    def router(self) -> Router:
        """The provider router for the current settings, rebuilt when the file changes."""
        settings = self.settings.current
        with self._router_lock:
            if self._router is None or self._router_version != self.settings.version:
                old, self._router = self._router, Router(
                    settings.providers, factory=self.build_provider
                )
                if old is not None:
                    old.close()  # replies already running keep their own provider sessions
                self._router_version = self.settings.version
            return self._router

    def build_provider(self, config: ProviderConfig) -> Provider:
        """A provider for a settings entry; the built-in engine's shares the engine manager."""
        return build_provider(replace(config, outbound=self.outbound), self.local_engine)

    def local_settings(self) -> EngineSettings:
        """The built-in engine's settings in effect, the machine's defaults filled in."""
        return effective_settings(self.settings.current.local, self.data_dir)

    def bring_forward(self) -> bool:
        """Show the window of this instance, if it has one; False for a headless server."""
        if self.window is None:
            return False
        self.window.show()
        return True

    @property
    def base_url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The page's address with the launch token (the page keeps it in its tab)."""
        return f"{self.base_url}/?token={self.token}"

    def start(self) -> None:
        """Serve in a daemon thread (the window owns the main thread)."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="http-server", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        # A short poll interval lets shutdown (closing the window, Ctrl+C) finish quickly.
        self.server.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        """Save running replies, stop serving, close the database. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        saved = self.engine.shutdown()
        websocket.close_all(self.app)  # after the replies' ends, which they carry
        self.mcp_servers.shutdown()  # their child processes end with the app
        self.local_models.shutdown()
        self.local_engine.shutdown()
        if saved:
            log.info("saved %d running repl%s", saved, "y" if saved == 1 else "ies")
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(2)
        self.server.server_close()
        if self._router is not None:
            self._router.close()
        self.outbound_log.close()  # what it still holds goes into the table first
        self.store.close()
        self.instance.release()
