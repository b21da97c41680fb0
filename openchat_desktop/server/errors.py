"""Every failure leaves as `{"error": {"code", "message"}}`, never HTML: the app's own errors
(every tree grows from `AppError`, so one rule renders them all), werkzeug's HTTP errors, and
anything unexpected.

Under `/v1/`, the OpenAI-compatible endpoint, the same body also carries OpenAI's `type` and
`param`, so OpenAI's clients raise the right exception; the app's shape stays a subset."""

from __future__ import annotations

import logging
import math

from flask import Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import AppError
from ..openai_api.errors import error_type

log = logging.getLogger(__name__)

HTTP_SENTENCES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Open OpenChat from the link it printed; the token is missing."),
    403: ("forbidden", "This request is not allowed."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("request_too_large", "The request is too large."),
    414: ("uri_too_long", "The address is too long."),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json."),
    431: ("headers_too_large", "The request's headers are too large."),
    505: ("http_version_not_supported", "This server speaks HTTP/1.0 and HTTP/1.1 only."),
}


def error_response(status: int, code: str, message: str, **extra: object) -> Response:
    body: dict[str, object] = {"code": code, "message": message, **extra}
    if has_request_context() and request.path.startswith("/v1/"):
        body = {"type": error_type(status), "param": None, **body}
    response = jsonify({"error": body})
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def app_error(exc: AppError) -> Response:
        # A 500 is OpenChat's own failure (the database); the rest are about the request or a
        # model server, and the sentence tells the person.
        if exc.status == 500:
            log.error("%s: %s", exc.code, exc.message)
        response = error_response(exc.status, **exc.public())
        retry_after = getattr(exc, "retry_after", None)  # rate limits, ours or a provider's
        if exc.status == 429 and retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = HTTP_SENTENCES.get(status, ("http_error", exc.description or "Error."))
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            if limit:
                message = f"The request is larger than the {limit // (1024 * 1024)} MiB limit."
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(
            500, "internal_error", "Something went wrong inside OpenChat. Nothing was changed."
        )
