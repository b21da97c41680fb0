"""Chat failures, each with a sentence a person can act on.

    AppError (openchat_desktop.errors)
    ├── InvalidRequest
    │   ├── ModelLacksVision       422 model_lacks_vision: images for a model without vision
    │   └── ExceedsWindow          422 exceeds_window: the message alone does not fit the window
    ├── NotFound
    │   ├── AttachmentNotFound     404 attachment_not_found: the file or its row is gone
    │   └── SummaryNotFound        404 summary_not_found: no summary ends at that message
    ├── TooLarge
    │   ├── MessageTooLong         413 message_too_long: over `limits.max_message_chars`
    │   └── AttachmentTooLarge     413 attachment_too_large: a file or a message's files too big
    ├── UnsupportedAttachment      415 unsupported_attachment: no image, PDF with text or text
    ├── Conflict
    │   ├── AttachmentInUse        409 attachment_in_use: a sent message carries the file
    │   └── ReplyNotContinuable    409 reply_not_continuable: complete, or being written
    └── ProviderError (providers.errors)
        └── EmptyPlan              502 empty_plan: Plan Mode's planner wrote no plan

`EmptyPlan` is a provider error because it ends a reply the way a provider's failure does:
saved on the reply, sent as its `error` event.
"""

from __future__ import annotations

from ..errors import AppError, Conflict, InvalidRequest, NotFound, TooLarge
from ..providers.errors import ProviderError


class ModelLacksVision(InvalidRequest):
    code = "model_lacks_vision"


class ExceedsWindow(InvalidRequest):
    code = "exceeds_window"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


class SummaryNotFound(NotFound):
    code = "summary_not_found"


class MessageTooLong(TooLarge):
    code = "message_too_long"


class AttachmentTooLarge(TooLarge):
    code = "attachment_too_large"


class UnsupportedAttachment(AppError):
    code = "unsupported_attachment"
    status = 415


class AttachmentInUse(Conflict):
    code = "attachment_in_use"


class ReplyNotContinuable(Conflict):
    code = "reply_not_continuable"


class EmptyPlan(ProviderError):
    code = "empty_plan"
