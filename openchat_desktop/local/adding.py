"""Adding a GGUF file the person already has to the built-in engine's models folder: from a
path on this computer (the desktop window's file picker), copied, moved or linked; or as the
bytes of an upload (a browser's file input or drop).

The rules that keep the models folder sound, as for downloads (`local.downloads`):
- the file's GGUF header is read before it is accepted (`gguf.read_gguf`: a file that is not
  one, or is cut short, is refused with its sentence), so the list never shows a file that
  cannot be a model;
- the bytes of a copy or an upload go to a private folder inside the models folder (the same
  disk, so placing it is a rename, never a second copy) and appear under their name only once
  whole and checked;
- a model is never replaced: placing is a hard link (or a symbolic link), which the system
  refuses when the name exists, so two adds racing each other cannot overwrite either;
- free disk space is checked before copying, and a disk that fills up midway says so.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import AppError, Conflict, InvalidRequest
from .downloads import DISK_MARGIN, disk_free, gigabytes
from .errors import DiskFull, GgufError, ModelFileTaken
from .gguf import GgufInfo, read_gguf
from .models import SUFFIX

MODES = ("copy", "move", "link")
STAGING_PREFIX = ".adding-"  # a private folder in the models folder; never listed
MAX_NAME_CHARS = 200
COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Added:
    path: Path  # where the model file is now
    projector: bool  # a vision projector: it serves the model it goes with, it is no model
    note: str | None  # something the person should know, in a sentence


class ModelFolder:
    """The models folder, as the place new files are added to."""

    def __init__(self, folder: Path, free_space: Callable[[Path], int] = disk_free) -> None:
        self.folder = folder
        self.free_space = free_space

    def add_path(self, source: Path, mode: str) -> Added:
        """Add the file at `source`: `copy` leaves it where it is, `move` takes it (a rename
        on the same disk, else a copy and then the original is removed), `link` leaves it
        where it is and puts a symbolic link to it in the models folder."""
        if mode not in MODES:
            raise InvalidRequest("`mode` must be “copy”, “move” or “link”.")
        if not source.is_absolute():
            raise InvalidRequest("Give the model file's full path, for example "
                                 "“/home/me/Downloads/model.gguf”.")
        name = model_file_name(source.name)
        if not source.is_file():
            raise InvalidRequest(f"There is no file at “{source}”.")
        info = read_gguf(source)
        target = self._target(name)
        if mode == "link":
            self._link(source.resolve(), target)
            return added(target, info)
        if mode == "move" and self._rename(source, target):
            return added(target, info)
        with self._staging() as staged_dir:
            staged = staged_dir / name
            self._copy(source, staged)
            place(staged, target)
        note = None
        if mode == "move":
            try:
                source.unlink()
            except OSError as exc:
                note = (f"{name} was copied into the models folder, but the original could not "
                        f"be removed ({exc.strerror or exc}); delete it yourself if you no "
                        "longer need it.")
        return added(target, info, note)

    def add_upload(
        self,
        receive: Callable[[Callable[[str], BinaryIO]], None],
        *,
        expected_size: int | None,
    ) -> Added:
        """Add an uploaded file. `receive(open_file)` reads the upload, calls `open_file` with
        the file's name as the person's computer named it when its bytes start (a name that
        cannot be a model's, or is taken, is refused before any byte is written) and writes
        the bytes into the binary file it returns."""
        if expected_size is not None:
            self._check_space("this file", expected_size)
        with self._staging() as staged_dir:
            opened: list[tuple[Path, BinaryIO]] = []

            def open_file(given_name: str) -> BinaryIO:
                if opened:
                    raise InvalidRequest("Send one model file at a time.")
                name = model_file_name(given_name)
                target = self._target(name)
                opened.append((target, (staged_dir / name).open("wb")))
                return opened[0][1]

            try:
                receive(open_file)
                if not opened:
                    raise InvalidRequest("Send the model file as multipart/form-data in a "
                                         "field named `file`.")
                target, out = opened[0]
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise disk_error(exc, opened[0][0].name if opened else "the file") from None
            finally:
                for _, out in opened:
                    out.close()
            staged = staged_dir / target.name
            info = read_gguf(staged)
            place(staged, target)
        return added(target, info)

    def _make_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Conflict(f"The models folder {self.folder} could not be made "
                           f"({exc.strerror or exc}).") from None

    def _target(self, name: str) -> Path:
        self._make_folder()
        target = self.folder / name
        if target.exists() or target.is_symlink():
            raise taken(name)
        return target

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        """A private folder in the models folder, removed with whatever is left in it."""
        staged = self.folder / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staged.mkdir()
        try:
            yield staged
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def _rename(self, source: Path, target: Path) -> bool:
        """Move by giving the file its new name, on the same disk; False when the disk differs
        (or the system cannot link), and the file must be copied."""
        try:
            os.link(source, target)
        except FileExistsError:
            raise taken(target.name) from None
        except OSError:
            return False
        try:
            source.unlink()
        except OSError:
            target.unlink(missing_ok=True)  # still where it was: nothing changed
            raise Conflict(f"{source.name} could not be moved: its folder does not allow it. "
                           "Copy it instead.") from None
        return True

    def _link(self, source: Path, target: Path) -> None:
        try:
            os.symlink(source, target)
        except FileExistsError:
            raise taken(target.name) from None
        except OSError as exc:
            raise Conflict(f"A link to {source.name} could not be made here "
                           f"({exc.strerror or exc}). Copy or move the file instead.") from None

    def _copy(self, source: Path, staged: Path) -> None:
        self._check_space(source.name, source.stat().st_size)
        try:
            with source.open("rb") as read, staged.open("wb") as out:
                while chunk := read.read(COPY_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise disk_error(exc, source.name) from None

    def _check_space(self, name: str, size: int) -> None:
        self._make_folder()
        free = self.free_space(self.folder)
        needed = size + DISK_MARGIN
        if free < needed:
            raise DiskFull(
                f"There is not enough free disk space for {name}: it needs {gigabytes(needed)} "
                f"and the models folder's disk has {gigabytes(free)} free. Free some space "
                "(deleting models you no longer use helps), or link the file instead of "
                "copying it."
            )


ABANDONED_AFTER = 3600.0  # seconds since anything was written to a staging folder


def clear_abandoned(folder: Path, now: float | None = None) -> int:
    """Remove staging folders an add left when the app was killed mid-copy: nothing writes
    to them any more, and a half-copied model can be gigabytes. A folder written to within
    `ABANDONED_AFTER` is kept, in case another app shares the models folder. The count
    removed."""
    now = time.time() if now is None else now
    removed = 0
    try:
        staged = [p for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX)]
    except OSError:  # no models folder yet
        return 0
    for path in staged:
        try:
            newest = max([path.stat().st_mtime, *(f.stat().st_mtime for f in path.iterdir())])
        except OSError:
            continue
        if now - newest > ABANDONED_AFTER:
            shutil.rmtree(path, ignore_errors=True)
            removed += not path.exists()
    return removed


def model_file_name(given: str) -> str:
    """The name a model file gets in the models folder: the given file's own name (without
    any folder a browser may send), ending in .gguf."""
    name = PurePosixPath(given.replace("\\", "/")).name.strip()
    if not name:
        raise InvalidRequest("The file has no name; a model file's name ends in .gguf.")
    if not name.lower().endswith(SUFFIX) or len(name) == len(SUFFIX):
        raise GgufError(f"“{name[:80]}” is not a GGUF model file: model files "
                        "for the built-in engine end in .gguf.")
    if name.startswith(".") or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise InvalidRequest(f"“{name[:80]}” cannot be a model's name: rename the file "
                             "(letters, digits, dots and dashes) and add it again.")
    return name


def place(staged: Path, target: Path) -> None:
    """Give the whole, checked file its name in one step, never over another file."""
    try:
        os.link(staged, target)  # refused when the name exists: a model is never replaced
    except FileExistsError:
        raise taken(target.name) from None
    except OSError:
        # A file system without hard links (FAT, some network shares): the name was free a
        # moment ago, and a rename is still one step.
        if target.exists():
            raise taken(target.name) from None
        os.replace(staged, target)
        return
    staged.unlink()


def taken(name: str) -> ModelFileTaken:
    return ModelFileTaken(
        f"Your models folder already has a file named {name}. Rename the file you are adding, "
        "or delete the model of that name first."
    )


def disk_error(exc: OSError, name: str) -> AppError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(
            f"The disk filled up while adding {name}, so it was not added. Free some space "
            "(deleting models you no longer use helps), then add it again."
        )
    return Conflict(f"{name} could not be added to the models folder ({exc.strerror or exc}). "
                    "Check that the folder exists and can be written to.")


def added(target: Path, info: GgufInfo, note: str | None = None) -> Added:
    if info.is_projector and note is None:
        note = (f"{target.name} is a vision projector, not a model of its own: the model it "
                "goes with (in the same folder) can now read pictures.")
    return Added(target, info.is_projector, note)
