"""Provider failures, each with a sentence a person can act on.

    AppError (openchat_desktop.errors)
    └── ProviderError            502 provider_error: anything that went wrong with a model server
        ├── ProviderUnavailable  502 provider_unavailable: no connection, a timeout, 5xx, busy
        ├── AuthenticationFailed 502 provider_auth_failed: 401/403, the key is missing or wrong
        ├── RateLimited          429 provider_rate_limited: 429 and friends, `retry_after`
        ├── ModelNotFound        404 model_not_found: the server does not have that model
        ├── BadRequest           400 provider_bad_request: refused as invalid (400/413/422…)
        ├── StreamBroken         502 stream_broken: the stream ended early or carried an error
        └── InternalError        502 internal_error: the reply failed in a way nobody foresaw

Besides the sentence, an error keeps the server's own words (`detail`, for logs), how long
the server asked to wait (`retry_after`) and whether sending again may work (`retryable`,
which drives the router). The sentence and `detail` are redacted as the error is made: a
server's words may quote the request's key, and nothing after this point sees them raw
(see redaction.py). `retryable` is the class's usual answer unless a constructor says
otherwise: the server decides it per answer (`x-should-retry`, an out-of-quota code, a 402
with a wait), and so does the transport (a failed TLS handshake, a model slow to start).
"""

from __future__ import annotations

from typing import Any

from ..errors import AppError
from .redaction import redact


class ProviderError(AppError):
    code = "provider_error"
    status = 502
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(redact(message))
        self.detail = None if detail is None else redact(detail)
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable

    def public(self) -> dict[str, Any]:
        """A client waits `retry_after` seconds before trying again, when the server said."""
        body = super().public()
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    retryable = True


class AuthenticationFailed(ProviderError):
    code = "provider_auth_failed"


class RateLimited(ProviderError):
    code = "provider_rate_limited"
    status = 429
    retryable = True


class ModelNotFound(ProviderError):
    code = "model_not_found"
    status = 404


class BadRequest(ProviderError):
    code = "provider_bad_request"
    status = 400


class StreamBroken(ProviderError):
    code = "stream_broken"


class InternalError(ProviderError):
    code = "internal_error"
