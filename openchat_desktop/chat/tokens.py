"""Counting tokens without a tokenizer: an estimate, corrected by what the provider reported.

Each model has its own tokenizer, and loading one (tens of megabytes each) to count a chat
would cost more than the count is worth. The estimate is the common rule of thumb for
English with BPE tokenizers, a token per four characters, plus a few tokens per message for
the chat template's role markers; an image costs a fixed amount (what a 336-pixel vision
encoder such as LLaVA's produces; tiles of larger encoders vary, so this is a middle).

The provider's reported usage corrects it: the last reply of the branch says how many prompt
tokens the model really read for what it was sent, and the ratio of that to the estimate of
the same messages scales the next estimate (within bounds, so one odd report cannot make the
count absurd).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..providers.base import ChatMessage

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # tokens of role markers and separators a chat template adds per message
IMAGE_TOKENS = 576
PROMPT_OVERHEAD = 3  # the template's opening of the assistant's turn
MIN_RATIO = 0.5
MAX_RATIO = 3.0


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def message_tokens(message: ChatMessage) -> int:
    """The estimate of one message, uncorrected."""
    return MESSAGE_OVERHEAD + text_tokens(message.content) + IMAGE_TOKENS * len(message.images)


def typed_tokens(chars: int) -> int:
    """The estimate of a text message of `chars` characters (the composer's, while typed)."""
    return MESSAGE_OVERHEAD + math.ceil(chars / CHARS_PER_TOKEN)


def prompt_tokens(messages: Iterable[ChatMessage]) -> int:
    """The estimate of a whole request, uncorrected."""
    return PROMPT_OVERHEAD + sum(message_tokens(m) for m in messages)


def correction(reported: int | None, estimated: int) -> float:
    """How far off the estimate was: reported / estimated, bounded; 1 when nothing was
    reported."""
    if not reported or reported <= 0 or estimated <= 0:
        return 1.0
    return min(MAX_RATIO, max(MIN_RATIO, reported / estimated))


def corrected(estimate: int, ratio: float) -> int:
    return math.ceil(estimate * ratio)
