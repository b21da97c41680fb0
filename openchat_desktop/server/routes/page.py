"""The page: `/` (the page shell, checking a `?token=` it is given) and the static files under
web/. None of them holds a secret; the page keeps the token and sends it as a header."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, request, send_from_directory
from flask.typing import ResponseReturnValue

from ... import rendering
from ...access.keys import looks_like_key
from .. import services
from ..errors import error_response
from ..security import token_matches

bp = Blueprint("page", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The shell with or without `?token=`: the page takes the token from the address into its
    tab's storage (or says how to open it when there is none). A token that is given is
    checked here, so an old link is refused with a sentence instead of a page that fails."""
    token = request.args.get("token")
    if token is not None and not token_matches(token):
        if looks_like_key(token):
            return error_response(401, "unauthorized", "This is an API key: it is for scripts, "
                                  "editors and the OpenAI-compatible endpoint. The page opens "
                                  "with the link OpenChat printed when it started.")
        return error_response(401, "unauthorized", "That link's token is not valid any more: "
                              "use the link OpenChat printed when it started.")
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

