"""Who may talk to the server: the launch token or an API key, what each may do (its scope),
the Host allow-list, Origin checks, and the headers (Content-Security-Policy and friends) that
every response carries. DESIGN §8.

The token travels only in the `Authorization` header, never in a cookie: a browser sends a
127.0.0.1 cookie to every port of 127.0.0.1 (cookies are not isolated by port, and another
port is the same site), so any other local program serving a page the person opens would
receive it. The page keeps the token in its own tab's storage instead (web/js/api.js).

API keys (access/keys.py) go in the same header; each request looks its key up again, so a
revoked key is refused from the very next request. The Host names of `[serve] hosts` are read
per request, so a settings change applies without a restart."""

from __future__ import annotations

import hmac

from flask import Flask, Response, current_app, request

from ..access.clients import LAUNCH, Client
from ..access.errors import ForbiddenScope, KeyRefused
from ..access.keys import looks_like_key
from ..access.scopes import needed_scope, scope_sentence
from . import services
from .access import set_client, spend_request
from .errors import error_response

OPEN_PATHS = {"/api/health"}
GUARDED_PREFIXES = ("/api/", "/v1/", "/ws/")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host headers we answer: loopback names with our port, plus the serve host."""
    names = {"127.0.0.1", "localhost", "[::1]"}
    if host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::"):
        names.add(f"[{host}]" if ":" in host else host)
    return frozenset(f"{name}:{port}" for name in names)


def settings_hosts(names: tuple[str, ...], port: int) -> set[str]:
    """The Host headers `[serve] hosts` allows: a name alone as it is (what a TLS reverse proxy
    sends) and with our port; a name with a port only so."""
    allowed = set()
    for name in names:
        allowed.add(name)
        if ":" not in name.rpartition("]")[2]:  # no port ("[::1]" is a name without one)
            allowed.add(f"{name}:{port}")
    return allowed


def request_hosts(app: Flask) -> frozenset[str] | set[str]:
    """The Host headers this request may carry: ours, and those of the settings as they are
    now."""
    fixed: frozenset[str] = app.config["ALLOWED_HOSTS"]
    extra = services().settings.current.serve.hosts
    if not extra:
        return fixed
    port = int(request.environ.get("SERVER_PORT") or 0)
    return fixed | settings_hosts(extra, port)


def origin_allowed(origin: str, hosts: frozenset[str] | set[str]) -> bool:
    """A page's Origin is ours when it is an allowed Host, by http:// or https:// (a reverse
    proxy may serve OpenChat over TLS)."""
    for scheme in ("http://", "https://"):
        if origin.startswith(scheme):
            return origin.removeprefix(scheme).lower() in hosts
    return False


def token_matches(candidate: str | None) -> bool:
    if not candidate:
        return False
    token: str = current_app.config["OPENCHAT_TOKEN"]
    return hmac.compare_digest(candidate.encode(), token.encode())


def request_token() -> str | None:
    """The token a request carries: `Authorization: Bearer <token>` and nothing else."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def request_client(token: str | None) -> Client | None:
    """Who the token stands for: the launch token, an API key (KeyRefused for one unknown or
    revoked), or None for anything else."""
    if token_matches(token):
        return LAUNCH
    if token and looks_like_key(token):
        return services().api_keys.client(token)
    return None


def check_again() -> None:
    """Check the request's key again, for a WebSocket: it outlives its upgrade request, and a
    key revoked meanwhile must stop working at its next frame. KeyRefused when it was."""
    client = request_client(request_token())
    if client is None:  # the launch token cannot change while the server runs
        raise KeyRefused("This API key is not known here.")
    set_client(client)


def init_app(app: Flask) -> None:
    @app.before_request
    def check_request() -> Response | None:
        hosts = request_hosts(app)
        if request.host.lower() not in hosts:
            return error_response(
                403, "forbidden_host", "This server only answers requests for its own address."
            )
        if request.method in UNSAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin is not None and not origin_allowed(origin, hosts):
                return error_response(
                    403, "forbidden_origin", "Requests from other web pages are not allowed."
                )
        if not request.path.startswith(GUARDED_PREFIXES) or request.path in OPEN_PATHS:
            return None
        client = request_client(request_token())
        if client is None:
            return error_response(
                401,
                "unauthorized",
                "A valid token is required: open OpenChat from the link it printed, or "
                "send `Authorization: Bearer <token or API key>`.",
            )
        set_client(client)
        rule = request.url_rule.rule if request.url_rule is not None else None
        needed = needed_scope(rule, request.method)
        if not client.allows(needed):
            raise ForbiddenScope(scope_sentence(needed))
        spend_request()
        return None

    @app.after_request
    def secure_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
        return response
