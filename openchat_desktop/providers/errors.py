"""Provider failures, each with a sentence a person can act on.

    ProviderError            anything that went wrong talking to a model server
    ├── ProviderUnavailable  could not connect, or timed out / 5xx / busy (retryable)
    ├── AuthenticationFailed 401/403: the key is missing or wrong
    ├── RateLimited          429 and friends; `retry_after` seconds when the server said
    ├── ModelNotFound        the server does not have that model
    ├── BadRequest           the server refused the request as invalid (400/413/422…)
    └── StreamBroken         the stream ended early or carried an error after it began

`code` is the snake_case code the HTTP API reports; `retryable` drives the router.
"""

from __future__ import annotations


class ProviderError(Exception):
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
        super().__init__(message)
        self.message = message
        self.detail = detail  # the server's own words, for logs and the error's details
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    retryable = True


class AuthenticationFailed(ProviderError):
    code = "provider_auth_failed"


class RateLimited(ProviderError):
    code = "rate_limited"
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
