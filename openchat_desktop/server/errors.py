"""One handler renders every failure as `{"error": {"code", "message"}}`, never HTML."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import AppError
from ..providers.errors import ProviderError
from ..store import MessageNotFound, SessionNotFound, StoreError

log = logging.getLogger(__name__)

HTTP_SENTENCES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Open OpenChat from the link it printed; the token is missing."),
    403: ("forbidden", "This request is not allowed."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("request_too_large", "The request is too large."),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json."),
}


def error_response(status: int, code: str, message: str, **extra: object):
    body: dict = {"error": {"code": code, "message": message, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(ProviderError)
    def provider_error(exc: ProviderError):
        extra = {"retry_after": exc.retry_after} if exc.retry_after is not None else {}
        return error_response(exc.status, exc.code, exc.message, **extra)

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError):
        # Checks before a write can race with a delete: the store's own check then answers.
        if isinstance(exc, SessionNotFound | MessageNotFound):
            return error_response(404, exc.code, "That chat or message no longer exists.")
        log.error("store error: %s", exc)
        return error_response(500, exc.code, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code, message = HTTP_SENTENCES.get(status, ("http_error", exc.description or "Error."))
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            if limit:
                message = f"The request is larger than the {limit // (1024 * 1024)} MiB limit."
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(
            500, "internal_error", "Something went wrong inside OpenChat. Nothing was changed."
        )
