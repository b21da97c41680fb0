"""Model downloads from Hugging Face into the models folder, as pull jobs.

A download is a `PullJob` like an Ollama pull: the same `start`, `progress`, `done` and
`error` events, the same cancel and re-attach. Its progress events add `speed` (bytes per
second over the last few seconds) and `seconds_left`.

The rules that keep the models folder sound:
- the bytes go to `<file>.gguf.<sha256 prefix>.part` beside the target; `<file>.gguf` appears
  only by an atomic rename once the whole file's sha256 equals the hub's, so the engine never
  sees a partial or wrong model;
- the sha256 is computed as the bytes arrive; a part left by an earlier attempt (a dropped
  connection, a cancel, an app that was closed) is hashed again first, then the rest is asked
  for with an HTTP Range;
- a dropped connection is resumed at once, a few times, as long as bytes keep coming;
- free disk space is checked before anything is fetched (what is left to fetch plus a
  margin), and a disk that fills up during the download stops it with the same sentence;
- Cancel keeps the part, so downloading the same model again continues where it stopped;
  a part whose checksum turns out wrong is removed. A part named for another sha256 (the
  repository changed the file since) is removed when the new download starts.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import math
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import requests
import urllib3.exceptions

from ..errors import AppError
from ..local_models import PullJob
from ..outbound.gate import Gate
from ..providers.transport import abort
from . import catalog
from .errors import (
    ChecksumMismatch,
    DiskFull,
    DownloadCancelled,
    DownloadFailed,
    ModelFileTaken,
)
from .hub import DEFAULT_HUB_URL, TOKEN_ENV, Hub, HubFile, HubRef, parse_reference

log = logging.getLogger(__name__)

HUB_URL_ENV = "HF_ENDPOINT"  # the variable Hugging Face's own tools read for a mirror
DISK_MARGIN = 64 * 1024 * 1024  # bytes left free after the download: the disk must not be full
READ_SIZE = 64 * 1024
HASH_READ_SIZE = 1024 * 1024
RETRIES = 5  # dropped connections in a row, with no byte in between, before giving up
RETRY_PAUSE = 0.5  # seconds, times the attempt number
PROGRESS_INTERVAL = 0.5  # seconds between progress events, besides one per percent
SPEED_WINDOW = 5.0  # seconds of history the speed is measured over
_BROKEN = (
    requests.RequestException,
    http.client.HTTPException,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def hub_address(configured: str = DEFAULT_HUB_URL) -> str:
    """The hub to download from: HF_ENDPOINT, as Hugging Face's own tools read it, wins over
    the setting (`local.hub_url`)."""
    return os.environ.get(HUB_URL_ENV, "").strip() or configured


def hub_token(variable: str = TOKEN_ENV) -> str | None:
    """The token for gated models, from the variable `local.hub_token_env` names."""
    return os.environ.get(variable, "").strip() or None


def disk_free(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def gigabytes(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 100_000_000 else f"{size / 1e6:.0f} MB"


class HubDownloads:
    """Starts downloads of catalog models or pasted names into the models folder. The hub's
    address and token are read when each download starts, so a changed setting applies to
    the next one."""

    def __init__(
        self,
        models_dir: Callable[[], Path],
        *,
        hub_url: Callable[[], str] = hub_address,
        token: Callable[[], str | None] = hub_token,
        free_space: Callable[[Path], int] = disk_free,
        gate: Gate | None = None,
    ) -> None:
        self.models_dir = models_dir
        self.hub_url = hub_url
        self._token = token
        self.free_space = free_space
        self.gate = gate  # local-only mode and the outbound log
        self._lock = threading.Lock()
        self._writing: set[Path] = set()  # targets a download is writing now

    def check(self, name: str) -> HubRef:
        """What `name` points at; NotAHubModel, at once, when it cannot be a model."""
        entry = catalog.find(name)
        if entry is not None:
            return HubRef(entry.repo, entry.file)
        return parse_reference(name, self.hub_url())

    def download(self, provider_id: str, name: str) -> Download:
        return Download(self, provider_id, name, self.check(name))

    def catalog_state(self, entry: catalog.CatalogEntry) -> tuple[bool, int]:
        """Whether the entry's file is in the models folder, and the bytes of a part of it
        that an earlier download left."""
        folder = self.models_dir()
        target = folder / entry.file
        parts = folder.glob(f"{entry.file}.*.part") if folder.is_dir() else ()
        return target.is_file(), sum(part.stat().st_size for part in parts)

    def hub(self) -> Hub:
        return Hub(self.hub_url(), self._token(), self.gate)

    def claim(self, target: Path) -> bool:
        with self._lock:
            if target in self._writing:
                return False
            self._writing.add(target)
            return True

    def release(self, target: Path) -> None:
        with self._lock:
            self._writing.discard(target)


class Download(PullJob):
    def __init__(self, owner: HubDownloads, provider_id: str, name: str, ref: HubRef) -> None:
        self._owner = owner
        self._ref = ref
        self._speed = Speed()
        self._digest = hashlib.sha256()  # of the part's bytes so far
        self._done = 0  # the part's length, all of it hashed
        self._shown_at = 0.0
        self._shown_percent = -1
        super().__init__(provider_id, name)

    def run(self) -> None:
        try:
            self._download()
        except DownloadCancelled as exc:
            self._end("cancelled", exc.public())
        except AppError as exc:
            self._end("error", exc.public())
        except Exception as exc:  # a bug must still end the job with a sentence
            log.exception("download of %s failed", self.name)
            self._end("error", {"code": "internal_error",
                                "message": f"The download of “{self.name}” failed ({exc!r})."})
        else:
            self._end("done", None)

    def _download(self) -> None:
        hub = self._owner.hub()
        try:
            self._set_status("looking up the model")
            file = hub.resolve(self._ref)
            folder = self._owner.models_dir()
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / file.file_name
            if not self._owner.claim(target):
                raise ModelFileTaken(f"{file.file_name} is already downloading.")
            try:
                self._fetch(hub, file, target)
            finally:
                self._owner.release(target)
        finally:
            hub.close()

    def _fetch(self, hub: Hub, file: HubFile, target: Path) -> None:
        with self.log.lock:
            self.total = file.size
        if target.exists():
            if target.stat().st_size == file.size:
                return  # downloaded before: nothing to do
            raise ModelFileTaken(
                f"Your models folder already has a different file named {file.file_name}. "
                "Delete it (or rename it) first, then download the model again."
            )
        part = target.with_name(f"{target.name}.{file.sha256[:16]}.part")
        for stale in target.parent.glob(f"{target.name}.*.part"):
            if stale != part:
                stale.unlink(missing_ok=True)
        self._hash_part(part, file.size)
        self._check_space(target.parent, file.size - self._done, file)
        failures = 0
        while self._done < file.size:
            before = self._done
            try:
                self._receive(hub, file, part)
            except _BROKEN:
                if self.cancel.cancelled:
                    raise self._cancelled() from None
                failures = 0 if self._done > before else failures + 1
                if failures > RETRIES:
                    raise DownloadFailed(
                        f"The connection to Hugging Face keeps breaking while downloading "
                        f"{file.file_name}. What was downloaded is kept: try again later to "
                        "continue."
                    ) from None
                self._pause(RETRY_PAUSE * max(failures, 1))
                if not part.exists() or part.stat().st_size != self._done:
                    self._hash_part(part, file.size)  # the part is not what was hashed
        self._set_status("verifying")
        if self._digest.hexdigest() != file.sha256:
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"The downloaded {file.file_name} is not the file Hugging Face announced "
                "(its checksum differs), so it was removed. Download it again; if this "
                "repeats, the hub or a proxy is sending damaged files."
            )
        os.replace(part, target)

    def _receive(self, hub: Hub, file: HubFile, part: Path) -> None:
        """Append the file's bytes from `_done` on to `part`, hashing them as they come."""
        self._set_status("downloading")
        response = hub.open(file, self._done)
        forget = self.cancel.on_cancel(lambda: abort(response))
        try:
            if self._done and response.status_code != 206:
                # The range was not honoured: the whole file is coming again.
                part.unlink(missing_ok=True)
                self._digest, self._done = hashlib.sha256(), 0
            with part.open("ab") as out:
                # read1: what has arrived, at once; a fixed-size read would wait to fill it.
                while chunk := response.raw.read1(READ_SIZE, decode_content=True):
                    if self.cancel.cancelled:
                        raise self._cancelled()
                    # More than announced cannot be our file; the checksum will say so.
                    chunk = chunk[: file.size - self._done]
                    try:
                        out.write(chunk)
                        out.flush()
                    except OSError as exc:
                        raise self._disk_error(exc, file) from None
                    self._digest.update(chunk)
                    self._done += len(chunk)
                    self._progress(self._done)
                    if self._done >= file.size:
                        break
                try:
                    os.fsync(out.fileno())
                except OSError as exc:
                    raise self._disk_error(exc, file) from None
        finally:
            forget()
            response.close()
        if self.cancel.cancelled:
            raise self._cancelled()
        if self._done < file.size:
            raise requests.ConnectionError("the body ended early")

    def _hash_part(self, part: Path, size: int) -> None:
        """Start from what an earlier attempt left: its sha256 and length (a part longer
        than the file cannot be the start of it, and goes)."""
        self._digest, self._done = hashlib.sha256(), 0
        if not part.exists():
            return
        if part.stat().st_size > size:
            part.unlink()
            return
        self._set_status("checking what was already downloaded")
        with part.open("rb") as stored:
            while block := stored.read(HASH_READ_SIZE):
                if self.cancel.cancelled:
                    raise self._cancelled()
                self._digest.update(block)
                self._done += len(block)
                self._progress(self._done, measure=False)

    def _check_space(self, folder: Path, remaining: int, file: HubFile) -> None:
        free = self._owner.free_space(folder)
        needed = remaining + DISK_MARGIN
        if free < needed:
            raise DiskFull(
                f"There is not enough free disk space for {file.file_name}: it needs "
                f"{gigabytes(needed)} and the models folder's disk has {gigabytes(free)} free. "
                "Free some space (deleting models you no longer use helps), then download it "
                "again."
            )

    def _disk_error(self, exc: OSError, file: HubFile) -> DownloadFailed:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFull(
                f"The disk filled up while downloading {file.file_name}. What was downloaded "
                "is kept: free some space (deleting models you no longer use helps), then "
                "download it again to continue."
            )
        return DownloadFailed(
            f"{file.file_name} could not be saved in the models folder ({exc.strerror or exc}). "
            "Check that the folder exists and can be written to."
        )

    def _pause(self, seconds: float) -> None:
        """Wait before a retry; Cancel ends the wait at once."""
        woken = threading.Event()
        forget = self.cancel.on_cancel(woken.set)
        try:
            woken.wait(seconds)
        finally:
            forget()
        if self.cancel.cancelled:
            raise self._cancelled()

    def _cancelled(self) -> DownloadCancelled:
        return DownloadCancelled(
            f"The download of “{self.name}” was cancelled. What was downloaded is kept: "
            "download it again to continue where it stopped."
        )

    def _add_progress(self, **extra: object) -> None:
        """Every progress event has `speed` and `seconds_left` (None while not measured)."""
        super()._add_progress(**{"speed": None, "seconds_left": None, **extra})

    def _set_status(self, status: str) -> None:
        with self.log.lock:
            self.status = status
            self._add_progress()
            self.log.lock.notify_all()

    def _progress(self, done: int, *, measure: bool = True) -> None:
        """Record `done` bytes; an event at most per percent or per half second."""
        now = time.monotonic()
        speed = self._speed.add(now, done) if measure else None
        total = self.total or 0
        percent = math.floor(done * 100 / total) if total else 0
        with self.log.lock:
            self.completed = done
            if percent == self._shown_percent and now - self._shown_at < PROGRESS_INTERVAL:
                return
            self._shown_percent, self._shown_at = percent, now
            left = None
            if speed and total:
                left = math.ceil((total - done) / speed)
            self._add_progress(speed=None if speed is None else round(speed), seconds_left=left)
            self.log.lock.notify_all()


class Speed:
    """Bytes per second over the last SPEED_WINDOW seconds: quick to follow a change, steady
    enough to read."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, done: int) -> float | None:
        samples = self._samples
        if samples and done < samples[-1][1]:
            samples.clear()  # started again from an earlier byte
        samples.append((now, done))
        while len(samples) > 2 and now - samples[1][0] >= SPEED_WINDOW:
            samples.popleft()
        first_time, first_done = samples[0]
        if now - first_time < 0.2:
            return None
        return (done - first_done) / (now - first_time)
