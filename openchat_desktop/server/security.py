"""Who may talk to the server: the launch token, the Host allow-list, Origin checks, and the
headers (Content-Security-Policy and friends) that every response carries. DESIGN §8.

The token travels only in the `Authorization` header, never in a cookie: a browser sends a
127.0.0.1 cookie to every port of 127.0.0.1 (cookies are not isolated by port, and another
port is the same site), so any other local program serving a page the person opens would
receive it. The page keeps the token in its own tab's storage instead (web/js/api.js)."""

from __future__ import annotations

import hmac

from flask import Flask, Response, current_app, request

from .errors import error_response

OPEN_PATHS = {"/api/health"}
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


def init_app(app: Flask) -> None:
    @app.before_request
    def check_request() -> Response | None:
        hosts = app.config["ALLOWED_HOSTS"]
        if request.host not in hosts:
            return error_response(
                403, "forbidden_host", "This server only answers requests for its own address."
            )
        if request.method in UNSAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin is not None and origin.removeprefix("http://") not in hosts:
                return error_response(
                    403, "forbidden_origin", "Requests from other web pages are not allowed."
                )
        if request.path.startswith(("/api/", "/v1/", "/ws/")) and request.path not in OPEN_PATHS:
            if not token_matches(request_token()):
                return error_response(
                    401,
                    "unauthorized",
                    "A valid token is required: open OpenChat from the link it printed, or "
                    "send `Authorization: Bearer <token>`.",
                )
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
