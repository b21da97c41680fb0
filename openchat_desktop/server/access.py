"""The caller of the request being handled, and its limits, for the routes: the security check
(server/security.py) decides who is calling; routes that start a generation ask whether the
caller's tokens allow it and count what it uses."""

from __future__ import annotations

from flask import g

from ..access.clients import LAUNCH, Client
from ..access.limits import Metered
from ..chat.tokens import text_tokens
from ..engine import Generation
from . import services


class GenerationTokens:
    """A generation as its caller's budget counts it: the model's reported usage once known,
    until then the text it has written so far, estimated (see chat/tokens.py)."""

    def __init__(self, generation: Generation) -> None:
        self._generation = generation

    @property
    def finished(self) -> bool:
        return self._generation.finished

    def tokens_used(self) -> int:
        reported = self._generation.reported_tokens()
        if reported is not None:
            return reported
        return sum(text_tokens(text) for text in self._generation.log.texts().values())


def set_client(client: Client) -> None:
    g.openchat_client = client


def current_client() -> Client:
    """Who is calling. A request the security check let through without a key (the page
    itself, `/api/health`) is the launch token's."""
    client: Client = g.get("openchat_client", LAUNCH)
    return client


def spend_request() -> None:
    """Count one request against the caller's requests per minute (RateLimited when spent)."""
    services().rate_limits.spend_request(current_client())


def check_tokens() -> None:
    """Before a generation starts: RateLimited while the caller's tokens per minute are spent."""
    services().rate_limits.check_tokens(current_client())


def meter(work: Generation | Metered) -> None:
    """Right after a generation starts: its tokens count toward the caller's budget."""
    metered = GenerationTokens(work) if isinstance(work, Generation) else work
    services().rate_limits.track(current_client(), metered)
