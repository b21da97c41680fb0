"""The one check every request to another host passes: refused while local-only mode is on,
recorded in the outbound log either way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import LocalOnlyRefused
from .log import OutboundLog
from .policy import Destination


@dataclass(frozen=True, slots=True)
class Requester:
    """What asks for a request: `source` as the log names it, and the words of the refusal."""

    source: str
    purpose: str  # "for “claude”": what the connection was for
    remedy: str  # "use this provider": what turning local-only off allows

    @classmethod
    def provider(cls, provider_id: str) -> Requester:
        return cls(provider_id, f"for “{provider_id}”", "use this provider")

    @classmethod
    def tool_server(cls, server_id: str) -> Requester:
        return cls(f"mcp:{server_id}", f"for the tool server “{server_id}”", "use its tools")


DOWNLOADS = Requester("downloads", "to download a model", "download models")


class Passage:
    """One request let through: ended once, by whichever comes first of its response's end,
    its failure, or its being forgotten."""

    def __init__(self, log: OutboundLog | None, entry: int | None, sent: int) -> None:
        self._log = log
        self._entry = entry
        self._lock = threading.Lock()
        self._ended = False
        self.sent = sent
        self.status: int | None = None

    def answered(self, status: int) -> None:
        self.status = status

    def end(self, received: int = 0) -> None:
        """The response is over (read to its end, or closed): the row is complete."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        if self._log is not None and self._entry is not None:
            outcome = "failed" if self.status is None else "sent"
            self._log.ended(self._entry, self.status, self.sent, received, outcome)


class Gate:
    """Asked before each request; `local_only` is read every time, so the switch in Settings
    applies to the next request without a restart."""

    def __init__(self, local_only: Callable[[], bool], log: OutboundLog | None = None) -> None:
        self._local_only = local_only
        self.log = log

    def enter(self, requester: Requester, method: str, url: str, sent: int = 0) -> Passage | None:
        """None for this machine (not checked, not logged); raises LocalOnlyRefused for
        another host while local-only mode is on; else the passage to end when done."""
        destination = Destination.of(url)
        if destination.local:
            return None
        if self._local_only():
            if self.log is not None:
                self.log.refused(requester.source, method, destination)
            raise LocalOnlyRefused(
                f"Local-only mode is on, so OpenChat did not connect to {destination.host} "
                f"{requester.purpose}. Turn it off in Settings to {requester.remedy}."
            )
        entry = None
        if self.log is not None:
            entry = self.log.started(requester.source, method, destination, sent)
        return Passage(self.log, entry, sent)
