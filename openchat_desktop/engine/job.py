"""A job with followers: work that runs on a thread of its own and ends once, whose events any
number of clients replay and follow. A client going away never ends a job; `stop()` does.
Replies (`Generation`) and model downloads (`local_models.Pull`) are jobs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Generic, TypeVar

from ..providers.base import Cancel
from .log import EventLog


class Job:
    def __init__(self) -> None:
        self.log = EventLog()
        self.cancel = Cancel()
        self.finished_at: float | None = None  # time.monotonic() of the end

    @property
    def finished(self) -> bool:
        return self.log.closed

    def follow(self, after: int = 0) -> Iterator[bytes]:
        """SSE bytes: what happened after `after`, then live events until the end."""
        return self.log.follow(after)

    def wait_finished(self, timeout: float) -> bool:
        return self.log.wait_closed(timeout)

    def stop(self) -> None:
        """Close the upstream request; the job ends its own way soon after."""
        self.cancel.cancel()

    def finish(self) -> None:
        """Mark the end, after the last events. Call it with `log.lock` held, so followers
        see the last events and the end together."""
        self.finished_at = time.monotonic()
        self.log.close()


J = TypeVar("J", bound=Job)


class Jobs(Generic[J]):
    """Jobs by id. A finished job stays `keep` seconds (a client may still replay it); its
    log is folded `fold_after` seconds after its end, when given."""

    def __init__(self, *, keep: float, fold_after: float | None = None) -> None:
        self._keep = keep
        self._fold_after = fold_after
        self._lock = threading.Lock()
        self._jobs: dict[str, J] = {}

    def add(self, job_id: str, job: J) -> None:
        with self._lock:
            self._jobs[job_id] = job

    def get(self, job_id: str) -> J | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[J]:
        with self._lock:
            return list(self._jobs.values())

    def running(self) -> list[J]:
        with self._lock:
            return [job for job in self._jobs.values() if not job.finished]

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()

    def prune(self) -> None:
        """Forget jobs that ended more than `keep` seconds ago; fold the logs due."""
        now = time.monotonic()
        with self._lock:
            for job_id, job in list(self._jobs.items()):
                if job.finished_at is None:
                    continue
                age = now - job.finished_at
                if age > self._keep:
                    del self._jobs[job_id]
                elif self._fold_after is not None and age > self._fold_after:
                    job.log.fold()
