"""One OpenChat per data folder: a lock on the folder, and a note saying where it serves.

A second launch finds the lock held, reads the note and hands over to the running one (its
window comes forward, or the browser opens its page) instead of starting a second server that
would write the same database. The operating system drops the lock when the process ends,
however it ends, so a crash never leaves the folder locked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_FILE = "openchat.lock"
NOTE_FILE = "instance.json"


@dataclass(frozen=True)
class RunningInstance:
    """Where the OpenChat holding a data folder serves: enough to reach it."""

    pid: int
    base_url: str
    token: str
    window: bool

    @property
    def url(self) -> str:
        return f"{self.base_url}/?token={self.token}"


class AlreadyRunning(Exception):
    """Another OpenChat holds this data folder; `instance` says where it serves, if known."""

    def __init__(self, data_dir: Path, instance: RunningInstance | None) -> None:
        self.data_dir = data_dir
        self.instance = instance
        where = f" at {instance.base_url} (process {instance.pid})" if instance else ""
        super().__init__(f"OpenChat is already running with the data folder {data_dir}{where}.")


class InstanceLock:
    """The data folder's lock, held for the life of the process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = FileLock(data_dir / LOCK_FILE, timeout=0)
        self._note = data_dir / NOTE_FILE

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning."""
        try:
            self._lock.acquire()
        except Timeout:
            raise AlreadyRunning(self.data_dir, read_note(self.data_dir)) from None

    def publish(self, *, base_url: str, token: str, window: bool) -> None:
        """Leave the note for a second launch; private, as it holds the launch token."""
        note = {"pid": os.getpid(), "base_url": base_url, "token": token, "window": window}
        tmp = self._note.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(note, file)
        os.replace(tmp, self._note)

    def release(self) -> None:
        self._note.unlink(missing_ok=True)
        self._lock.release()


def read_note(data_dir: Path) -> RunningInstance | None:
    """The running instance's note, or None when it is missing or unreadable."""
    try:
        note = json.loads((data_dir / NOTE_FILE).read_text(encoding="utf-8"))
        return RunningInstance(
            pid=int(note["pid"]), base_url=str(note["base_url"]), token=str(note["token"]),
            window=bool(note["window"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
