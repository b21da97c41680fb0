"""The page: `/` (exchanging `?token=` for the cookie) and the static files under web/."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, redirect, request, send_from_directory
from flask.typing import ResponseReturnValue

from ... import rendering
from .. import services
from ..errors import error_response
from ..security import TOKEN_COOKIE, request_token, token_matches

bp = Blueprint("page", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    token = request.args.get("token")
    if token is not None:
        if not token_matches(token):
            return error_response(401, "unauthorized", "That link's token is not valid any more: "
                                  "use the link OpenChat printed when it started.")
        # Swap the token in the address bar for an HttpOnly cookie, then drop it from the URL.
        response = redirect("/", code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response
    if not token_matches(request_token()):
        return error_response(401, "unauthorized", "Open OpenChat from the link it printed when "
                              "it started (it carries a one-time token).")
    response = send_from_directory(services().web_dir, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/css/highlight.css")
def highlight_css() -> ResponseReturnValue:
    """Code highlighting for both themes, generated from pygments once per process."""
    return Response(_highlight_css(), mimetype="text/css", headers={"Cache-Control": "no-cache"})


@cache
def _highlight_css() -> str:
    return rendering.highlight_css("dark") + "\n" + rendering.highlight_css("light")


@bp.get("/<path:filename>")
def static_file(filename: str) -> ResponseReturnValue:
    if filename.startswith("api/"):
        return error_response(404, "not_found", "There is nothing at this address.")
    response = send_from_directory(services().web_dir, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response

