"""Failures the app reports to a client, each carrying its HTTP status and snake_case code.

    AppError          a request the app refuses, with a sentence a person can act on
    ├── NotFound      404: an unknown session, message, role or page
    ├── InvalidRequest 422: malformed JSON, wrong types, empty messages
    ├── TooLarge      413: a body or message over the limits
    └── Conflict      409: a name already taken, a settings file that must be fixed first

Provider failures (`providers.errors.ProviderError`) carry a code and status the same way;
one handler in `server.errors` renders both as `{"error": {"code", "message"}}`.
"""

from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class NotFound(AppError):
    status = 404
    code = "not_found"


class InvalidRequest(AppError):
    status = 422
    code = "invalid_request"


class TooLarge(AppError):
    status = 413
    code = "too_large"


class Conflict(AppError):
    status = 409
    code = "conflict"
