"""What a caller of a served OpenChat is refused for. The tree grows from `errors.AppError`:

    AppError
    ├── KeyRefused          401 key_refused: an API key that is unknown or was revoked
    ├── ForbiddenScope      403 forbidden_scope: the key's scope does not allow this request
    ├── RateLimited         429 rate_limited: a key asked for more than its limits allow
    ├── InvalidRequest
    │   └── InvalidKeyFields 422 invalid_key_fields: a new key's name, scope or limits are unusable
    ├── NotFound
    │   └── KeyNotFound     404 key_not_found: no active key has that name
    └── Conflict
        └── KeyNameTaken    409 key_name_taken: an active key already has that name
"""

from __future__ import annotations

from typing import Any

from ..errors import AppError, Conflict, InvalidRequest, NotFound


class KeyRefused(AppError):
    code = "key_refused"
    status = 401


class ForbiddenScope(AppError):
    code = "forbidden_scope"
    status = 403


class RateLimited(AppError):
    """`retry_after`: whole seconds until the key may ask again (the `Retry-After` header)."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def public(self) -> dict[str, Any]:
        body = super().public()
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class InvalidKeyFields(InvalidRequest):
    code = "invalid_key_fields"


class KeyNotFound(NotFound):
    code = "key_not_found"


class KeyNameTaken(Conflict):
    code = "key_name_taken"
