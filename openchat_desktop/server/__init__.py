"""The Flask app: routes stay thin; the rules live in `chat`, `settings` and `local_models`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app
from flask.json.provider import DefaultJSONProvider

from ..access.keys import ApiKeys
from ..access.limits import RateLimits
from ..chat import ChatService
from ..chat.attachments import AttachmentService
from ..local.downloads import HubDownloads
from ..local.manager import EngineManager
from ..local_models import LocalModels
from ..outbound import OutboundLog
from ..providers.base import Provider, ProviderConfig
from ..providers.router import Router
from ..settings import SettingsStore
from ..store import Store
from ..tools.mcp import McpServers
from ..tools.registry import ToolSources


class Services(Protocol):
    """What the routes need from the running application (see `runtime.Runtime`)."""

    chat: ChatService
    attachments: AttachmentService
    local_models: LocalModels
    hub_downloads: HubDownloads
    local_engine: EngineManager
    settings: SettingsStore
    mcp_servers: McpServers
    tool_sources: ToolSources
    rate_limits: RateLimits
    api_keys: ApiKeys
    store: Store
    outbound_log: OutboundLog
    web_dir: Path
    window: Any  # runtime.WindowHooks, or None without a window

    def router(self) -> Router: ...

    def build_provider(self, config: ProviderConfig) -> Provider: ...

    def bring_forward(self) -> bool: ...


def services() -> Services:
    found: Services = current_app.extensions["openchat"]
    return found


def create_app(app_services: Services, *, token: str, hosts: frozenset[str]) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(
        OPENCHAT_TOKEN=token,
        ALLOWED_HOSTS=hosts,
        MAX_CONTENT_LENGTH=app_services.settings.current.limits.max_request_bytes,
    )
    json = DefaultJSONProvider(app)
    json.sort_keys = False  # fields in the order the views give them
    json.ensure_ascii = False
    app.json = json
    app.extensions["openchat"] = app_services

    from . import errors, security, validation
    from . import websocket as websockets
    from .routes import (
        attachments,
        catalog,
        chat,
        export,
        health,
        instance,
        keys,
        local,
        models,
        ollama,
        openai,
        openapi,
        options,
        outbound,
        page,
        providers,
        roles,
        search,
        sessions,
        settings,
        tools,
        websocket,
    )

    @app.before_request
    def apply_limits() -> None:
        # Read per request so a changed `limits.max_request_bytes` applies without a restart.
        app.config["MAX_CONTENT_LENGTH"] = app_services.settings.current.limits.max_request_bytes

    errors.init_app(app)
    security.init_app(app)
    validation.init_app(app)  # after the token check: strangers learn nothing
    websockets.init_app(app)
    for module in (
        health, models, settings, providers, sessions, chat, roles, search, attachments, ollama,
        catalog, export, instance, local, options, tools, keys, outbound, openai, openapi,
        websocket, page,
    ):
        app.register_blueprint(module.bp)
    return app
