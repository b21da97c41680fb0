"""What Gemini's error answers mean, where they differ from other servers'.

Google's error object is `{"error": {"code", "message", "status", "details": [...]}}`. Two
things in it matter that no header says: a key that is not valid comes back as 400
INVALID_ARGUMENT with the reason API_KEY_INVALID in `details` (not 401), and how long to wait
after a 429 is a RetryInfo's `retryDelay` ("37s") in `details` (not `Retry-After`). Blocked
prompts and replies stopped for safety arrive as a finish reason and become sentences here too.
"""

from __future__ import annotations

import json

from .errors import AuthenticationFailed, BadRequest, ProviderError, ProviderUnavailable
from .naming import Origin

KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})
# Finish reasons (and prompt block reasons) that mean Gemini withheld the reply on purpose.
BLOCKED = {
    "SAFETY": "it could be unsafe",
    "PROHIBITED_CONTENT": "it touches on prohibited content",
    "BLOCKLIST": "it contains blocked words",
    "SPII": "it could reveal sensitive personal information",
    "RECITATION": "it would repeat copyrighted text",
    "IMAGE_SAFETY": "an image could be unsafe",
}


def error_details(body: bytes) -> list[dict[str, object]]:
    """The `details` of a Google error body; none when the body is something else."""
    try:
        value = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return []
    if isinstance(value, list) and value:
        value = value[0]  # some Google front ends wrap the error object in an array
    inner = value.get("error") if isinstance(value, dict) else None
    details = inner.get("details") if isinstance(inner, dict) else None
    return [item for item in details if isinstance(item, dict)] if isinstance(details, list) else []


def retry_delay(details: list[dict[str, object]]) -> float | None:
    """RetryInfo's `retryDelay` in seconds: a protobuf Duration in JSON, such as "37s" or
    "0.5s"."""
    for item in details:
        delay = item.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(0.0, float(delay[:-1]))
            except ValueError:
                return None
    return None


def key_rejected(details: list[dict[str, object]], message: str) -> bool:
    if any(item.get("reason") in KEY_REASONS for item in details):
        return True
    return "api key not valid" in message.lower() or "api key expired" in message.lower()


def gemini_error(
    status: int, message: str, body: bytes, origin: Origin, *, detail: str, retryable: bool
) -> ProviderError | None:
    """The error for Gemini's answer `status` where its meaning is Gemini's own; None where the
    general sentences fit. A 429 is not here: only its wait is (see `retry_delay`)."""
    label = origin.label
    details = error_details(body)
    if status == 400 and key_rejected(details, message):
        return AuthenticationFailed(
            f"{label} rejected the API key: it is not valid or has expired. Check the API key "
            f"for {origin.quoted_id} in Settings.",
            detail=detail,
            retryable=False,
        )
    if status == 403 and not origin.has_key:
        return AuthenticationFailed(
            f"{label} needs an API key. Add one for {origin.quoted_id} in Settings (Google AI "
            "Studio gives you one).",
            detail=detail,
            retryable=False,
        )
    if status in (500, 503):
        return ProviderUnavailable(
            f"{label} is overloaded or unavailable right now ({status}). Try again in a moment.",
            detail=detail,
            retryable=retryable,
        )
    return None


def blocked_error(reason: str, origin: Origin, *, prompt: bool) -> ProviderError:
    """Gemini refused the prompt (`prompt`), or stopped its reply, for `reason`."""
    because = f"because {BLOCKED.get(reason, 'of its content rules')}"
    if prompt:
        return BadRequest(
            f"{origin.label} would not answer this message {because} ({reason}). Rephrase it, "
            "or start a new conversation.",
            detail=f"promptFeedback.blockReason {reason}",
        )
    return BadRequest(
        f"{origin.label} stopped its reply {because} ({reason}). Rephrase the message and try "
        "again.",
        detail=f"finishReason {reason}",
    )
