"""Refusals of an OpenAI-shaped request that name the field at fault, as OpenAI's `param`.

    AppError (openchat_desktop.errors)
    └── InvalidRequest
        └── FieldInvalid       400 invalid_field: a field of the body is missing or malformed
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest


class FieldInvalid(InvalidRequest):
    code = "invalid_field"
    status = 400  # what OpenAI answers for a malformed body, and what its clients expect

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param

    def public(self) -> dict[str, Any]:
        body = super().public()
        if self.param is not None:
            body["param"] = self.param
        return body


def error_type(status: int) -> str:
    """OpenAI's `type` for an error of this HTTP status."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "api_error"
    return "invalid_request_error"
