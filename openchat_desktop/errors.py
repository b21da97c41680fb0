"""Failures the app reports to a client: a sentence a person can act on, a snake_case `code`
and an HTTP `status`, both declared by the class. Each code has its own class; one handler in
`server.errors` renders them all as `{"error": {"code", "message"}}`.

    AppError                   400 bad_request: the root; a request the app refuses or failed
    ├── InvalidRequest         422 invalid_request: malformed JSON, wrong types, empty messages
    │   └── NotOllama          422 not_ollama: model management asked of a non-Ollama provider
    ├── NotFound               404 not_found: a thing with that id is not (or no longer) there
    │   ├── ProviderNotFound   404 provider_not_found: no provider has that id
    │   └── PullNotFound       404 pull_not_found: no download has that id
    ├── TooLarge               413 too_large: a body, message or file over the limits
    └── Conflict               409 conflict: the request clashes with the state of things
        ├── NoWindow           409 no_window: a Save dialog asked of a server without a window
        └── SaveFailed         409 save_failed: the file chosen in the Save dialog was not written

The other trees grow from these classes, each in the error module of its package:
`store.errors` (missing records, a taken name, the database), `chat.errors` (messages,
attachments, Plan Mode), `settings.errors` (a refused change) and `providers.errors`
(everything that goes wrong talking to a model server).
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    code = "bad_request"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def public(self) -> dict[str, Any]:
        """The error as the API's body shows it; a tree adds its own fields."""
        return {"code": self.code, "message": self.message}


class InvalidRequest(AppError):
    code = "invalid_request"
    status = 422


class NotOllama(InvalidRequest):
    code = "not_ollama"


class NotFound(AppError):
    code = "not_found"
    status = 404


class ProviderNotFound(NotFound):
    code = "provider_not_found"


class PullNotFound(NotFound):
    code = "pull_not_found"


class TooLarge(AppError):
    code = "too_large"
    status = 413


class Conflict(AppError):
    code = "conflict"
    status = 409


class NoWindow(Conflict):
    code = "no_window"


class SaveFailed(Conflict):
    code = "save_failed"
