"""What a caller of a served OpenChat is refused for. The tree grows from `errors.AppError`:

    AppError
    └── RateLimited   429 rate_limited: a key asked for more than its limits allow
"""

from __future__ import annotations

from typing import Any

from ..errors import AppError


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
