"""Row ids and timestamps, one rule for every table."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta


class _Clock:
    """UTC timestamps that never repeat or go backwards in this process, so they order rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def now(self) -> str:
        with self._lock:
            now = datetime.now(UTC)
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
        return stamp(now)


_clock = _Clock()


def stamp(moment: datetime) -> str:
    """A UTC time as the text every table stores: sortable ISO-8601 with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    """Now as sortable UTC ISO-8601 text with microseconds, e.g. 2026-11-21T09:10:00.123456Z."""
    return _clock.now()


def new_id() -> str:
    return uuid.uuid4().hex
