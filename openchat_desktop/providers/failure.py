"""Turn what a server said went wrong into a ProviderError with a sentence a person can act on.

Three inputs end up here: a non-2xx response (status, headers, body), an error object that
arrived inside a stream, and the retry hints in response headers. Error bodies come in many
shapes (PROTOCOLS §1.5); `normalize_error` reduces them all to `{message, type, code}`.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import TypedDict

from .errors import (
    AuthenticationFailed,
    BadRequest,
    ModelNotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamBroken,
)
from .gemini_failure import error_details, gemini_error, retry_delay
from .naming import Origin
from .redaction import redact


class ErrorInfo(TypedDict):
    """An error as any server shapes it, reduced to what the sentences and retries need."""

    message: str
    type: str | None  # symbolic: "rate_limit_error", Google's "RESOURCE_EXHAUSTED"…
    code: str | int | None


class _Extras(TypedDict):
    """What every exception for one non-2xx answer carries besides its sentence."""

    detail: str
    retryable: bool
    retry_after: float | None


# Statuses the official SDKs retry (§8); 529 is Anthropic's "overloaded".
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
# A 429 with one of these will not succeed by waiting a few seconds.
_NO_RETRY_CODES = frozenset({"insufficient_quota", "enforced_spend_limit_reached"})


def normalize_error(payload: object) -> ErrorInfo | None:
    """Reduce any known error shape to `{message, type, code}`; None if it is not an error."""
    if isinstance(payload, list):
        # Gemini's OpenAI-compatible endpoint wraps the error object in an array (QK-5).
        for item in payload:
            info = normalize_error(item)
            if info is not None:
                return info
        return None
    if isinstance(payload, str):
        return error_info(payload) if payload.strip() else None
    if not isinstance(payload, dict):
        return None
    inner = payload.get("error")
    if isinstance(inner, str) and inner.strip():
        return error_info(inner)  # Ollama native: {"error": "…"}
    if isinstance(inner, dict):
        return _from_object(inner)  # OpenAI, Anthropic, Google, OpenRouter
    detail = payload.get("detail")  # FastAPI-style gateways
    if isinstance(detail, str) and detail.strip():
        return error_info(detail)
    if isinstance(detail, list) and detail:
        return error_info(_detail_text(detail))
    if "message" in payload:
        return _from_object(payload)  # Mistral {"object":"error","message":…}
    return None


def error_from_body(status: int, reason: str, body: bytes) -> ErrorInfo:
    """Normalize a non-2xx body; a text or HTML page (a proxy's) yields the status line."""
    try:
        info = normalize_error(json.loads(body.decode("utf-8", "replace")))
    except ValueError:
        info = None
    if info is not None:
        return info
    return error_info(status_line(status, reason))


def status_line(status: int, reason: str = "") -> str:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"{status} {reason}".strip()


def retry_decision(
    status: int, headers: Mapping[str, str], info: ErrorInfo | None
) -> tuple[bool, float | None]:
    """Whether waiting and sending the same request again may work, and how long the server
    asked us to wait (seconds), following the official SDKs (§8)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    retry_after = parse_retry_after(lowered)
    if status in _RETRYABLE_STATUSES or status >= 500:
        retryable = True
    elif status == 402:
        retryable = retry_after is not None  # OpenRouter: out of credits unless it says when
    else:
        retryable = False
    if status == 429 and info is not None and _codes(info) & _NO_RETRY_CODES:
        retryable = False
    should = lowered.get("x-should-retry", "").strip().lower()
    if should in ("true", "false"):
        retryable = should == "true"
    return retryable, retry_after


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms` first, then `retry-after` as seconds or an HTTP date (lower-case keys)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_for_status(
    status: int,
    reason: str,
    headers: Mapping[str, str],
    body: bytes,
    origin: Origin,
    *,
    model: str | None = None,
    url: str = "",
) -> ProviderError:
    """The exception for a non-2xx answer, with the server's words kept in `detail`."""
    info = error_from_body(status, reason, body)
    retryable, retry_after = retry_decision(status, headers, info)
    message = info["message"]
    detail = f"{status_line(status, reason)}: {message}"
    label = origin.label
    kw: _Extras = {"detail": detail, "retryable": retryable, "retry_after": retry_after}

    # Gemini: a bad key is a 400, and the wait after a 429 is in the body (gemini_failure.py).
    if origin.kind == "gemini":
        if retry_after is None:
            retry_after = kw["retry_after"] = retry_delay(error_details(body))
        special = gemini_error(status, message, body, origin, detail=detail, retryable=retryable)
        if special is not None:
            return special

    if status == 401:
        if origin.kind == "anthropic":
            return AuthenticationFailed(_anthropic_key(origin), **kw)
        if origin.kind == "ollama" and not origin.has_key:
            return AuthenticationFailed(
                f"{label} says you are not signed in (401). Run `ollama signin` to use cloud "
                "models, or pick a local model.",
                **kw,
            )
        return AuthenticationFailed(
            f"{label} rejected the API key (401). Check the API key for "
            f"{origin.quoted_id} in Settings.",
            **kw,
        )
    if status == 403:
        return AuthenticationFailed(
            f"{label} refused access (403). Check the API key for {origin.quoted_id} "
            "in Settings and that it may use this model.",
            **kw,
        )
    if status == 404:
        if model and _about_model(info):
            return ModelNotFound(_missing_model(origin, model), **kw)
        return ProviderError(
            f"{label} has nothing at {url or origin.base_url} (404). Check the address in "
            "Settings (OpenAI-compatible addresses usually end in /v1).",
            **kw,
        )
    if status == 429:
        if _codes(info) & _NO_RETRY_CODES:
            return RateLimited(_out_of_quota(origin), **kw)
        wait = "Wait a moment and try again."
        if retry_after:
            wait = f"Wait {_seconds(retry_after)} and try again."
        return RateLimited(f"{label} is limiting requests (429). {wait}", **kw)
    if status == 402:
        return ProviderError(
            f"{label} says payment is required (402). Add credits to the account, then try again.",
            **kw,
        )
    if status == 413:
        return BadRequest(
            f"The request is too large for {label} (413). Remove some images or start a "
            "new conversation.",
            **kw,
        )
    if status in (400, 422):
        return BadRequest(_refused(label, status, message), **kw)
    if status in (408, 504):
        return ProviderUnavailable(f"{label} timed out ({status}). Try again in a moment.", **kw)
    if status == 503 and origin.kind == "ollama":
        return ProviderUnavailable(
            f"{label} is busy with other requests (503). Wait a moment and try again.", **kw
        )
    if status == 529:
        return ProviderUnavailable(
            f"{label} is overloaded right now (529). Try again in a moment.", **kw
        )
    if status >= 500 and origin.kind == "anthropic":
        return ProviderUnavailable(
            f"{label} had a server error ({status}). Try again in a moment; if it keeps "
            "happening, status.anthropic.com says whether Anthropic knows.",
            **kw,
        )
    if status >= 500:
        return ProviderUnavailable(
            f"{label} had a server error ({status}). Try again; if it keeps happening, "
            "check the server's log.",
            **kw,
        )
    if status == 409:
        return ProviderUnavailable(f"{label} reported a conflict (409). Try again.", **kw)
    return ProviderError(_refused(label, status, message), **kw)


def error_from_stream(
    info: ErrorInfo, origin: Origin, *, model: str | None = None
) -> ProviderError:
    """The exception for an error object that arrived inside a 2xx stream, by its type/code."""
    message = info["message"]
    codes = _codes(info)
    detail = message if not codes else f"{message} ({', '.join(sorted(codes))})"
    said = f"{origin.label} stopped with an error: {_clip(message)}"
    if codes & _NO_RETRY_CODES:
        return RateLimited(_out_of_quota(origin), detail=detail, retryable=False)
    if _matches(codes, "rate_limit", "resource_exhausted", "429"):
        return RateLimited(f"{said} Wait a moment and try again.", detail=detail)
    if _matches(codes, "authentication", "permission", "unauthorized", "401", "403"):
        return AuthenticationFailed(
            f"{said} Check the API key for {origin.quoted_id} in Settings.", detail=detail
        )
    if _matches(codes, "overloaded", "529"):
        return ProviderUnavailable(
            f"{origin.label} is overloaded right now, so the reply stopped. Try again in a "
            "moment.",
            detail=detail,
        )
    if _matches(codes, "not_found", "404") and model:
        return ModelNotFound(_missing_model(origin, model), detail=detail)
    if _matches(codes, "invalid_request", "context", "invalid_argument", "400", "413", "422"):
        return BadRequest(
            f"{said} Check this model's settings, or start a new conversation "
            "if it has grown too long.",
            detail=detail,
        )
    if _matches(
        codes,
        "server_error",
        "api_error",
        "internal",
        "unavailable",
        "500",
        "502",
        "503",
        "504",
    ):
        return ProviderUnavailable(f"{said} Try again in a moment.", detail=detail)
    return StreamBroken(f"{said} Try again.", detail=detail)


def error_info(message: str, type_: str | None = None, code: str | int | None = None) -> ErrorInfo:
    """An ErrorInfo from its parts; a bare message when the server gave nothing more."""
    return {"message": message, "type": type_, "code": code}


def _detail_text(detail: list[object]) -> str:
    """A FastAPI-style validation report ({"loc", "msg"} items) as words: "Extra inputs are
    not permitted (stream_options)"."""
    parts = []
    for item in detail:
        if not isinstance(item, dict):
            parts.append(str(item))
            continue
        said = str(item.get("msg") or json.dumps(item, ensure_ascii=False))
        loc = item.get("loc")
        where = [str(part) for part in loc if part != "body"] if isinstance(loc, list) else []
        parts.append(f"{said} ({'.'.join(where)})" if where else said)
    return "; ".join(parts)


def _from_object(obj: dict[str, object]) -> ErrorInfo:
    said = obj.get("message")
    if isinstance(said, str) and said:
        message = said
    elif isinstance(said, dict) and isinstance(said.get("detail"), list) and said["detail"]:
        message = _detail_text(said["detail"])  # Mistral's 422: a validation report
    else:
        message = json.dumps(obj if said is None else said, ensure_ascii=False)
    type_ = obj.get("type")
    if not isinstance(type_, str):
        status = obj.get("status")  # Google puts the symbolic code in `status`
        type_ = status if isinstance(status, str) else None
    code = obj.get("code")
    if code is None:
        # Anthropic puts the finer reason (a spent limit) in `details.error_code`.
        details = obj.get("details")
        code = details.get("error_code") if isinstance(details, dict) else None
    if not isinstance(code, str | int) or isinstance(code, bool):
        code = None
    return error_info(message, type_, code)


def _codes(info: ErrorInfo) -> set[str]:
    return {str(v).lower() for v in (info.get("type"), info.get("code")) if v is not None}


def _matches(codes: set[str], *needles: str) -> bool:
    return any(needle in code for code in codes for needle in needles)


def _about_model(info: ErrorInfo) -> bool:
    text = f"{info.get('message')} {info.get('type')} {info.get('code')}".lower()
    return "model" in text


def _missing_model(origin: Origin, model: str) -> str:
    if origin.kind == "ollama":
        return (
            f"{origin.label} does not have the model “{model}”. Pull it with "
            f"`ollama pull {model}`, or pick another model."
        )
    return (
        f"{origin.label} does not have a model named “{model}”. Check the model name in "
        "Settings, or pick another model."
    )


def _anthropic_key(origin: Origin) -> str:
    if not origin.has_key:
        return (
            f"Anthropic needs an API key for {origin.quoted_id}. Add it in Settings (keys "
            "are made at console.anthropic.com)."
        )
    return (
        f"Anthropic rejected the API key for {origin.quoted_id} (401). Check the key in "
        "Settings, or make a new one at console.anthropic.com."
    )


def _out_of_quota(origin: Origin) -> str:
    return (
        f"{origin.label} says the account is out of quota. Check your plan and billing, "
        "then try again."
    )


def _refused(label: str, status: int, message: str) -> str:
    return (
        f"{label} refused the request ({status}): {_clip(message)} Check this model's "
        "settings, or start a new conversation if it has grown too long."
    )


def _clip(message: str, limit: int = 300) -> str:
    # Redacted before the cut, which could leave half a key the shapes no longer know.
    message = " ".join(redact(message).split())
    if len(message) > limit:
        message = message[: limit - 1] + "…"
    return message if message.endswith((".", "!", "?", "…")) else message + "."


def _seconds(value: float | None) -> str:
    seconds = max(1, round(value or 0))
    return f"{seconds} second" if seconds == 1 else f"{seconds} seconds"
