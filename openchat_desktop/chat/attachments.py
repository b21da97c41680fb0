"""Attachments: what a file is (sniffed from its bytes, never from its name), the limits, the
text a model reads from it, and the files themselves, stored once per sha256 in the data folder.

Rules kept here, in one place:

- kinds: `image` (PNG, JPEG, GIF, WebP), `pdf` (text extracted with pypdf) and `text` (any
  UTF-8 file without binary bytes: code, CSV, JSON, Markdown…). Anything else is refused.
- limits: `MAX_FILE_BYTES` per file, `MAX_FILES` and `MAX_TOTAL_BYTES` per message, and at
  most `MAX_TEXT_CHARS` of extracted text per file. A PDF is read page by page in a child
  process (`pdf_text`) that stops at that many characters, after `PDF_SECONDS`, at
  `PDF_MEMORY_BYTES`, or when the client that sent it leaves; when the model gets only part
  of a file, the text ends with a sentence saying so, and the person gets it too.
- how a file reaches the model: `file_block()` — its name, then its text in a fence — placed
  before the typed text of the message (`message_content()`); images go as image data.
- files live at `<data>/attachments/<first two hex digits>/<sha256>`, written atomically; a
  file goes when the last row pointing at it goes (its chats were deleted, or it was uploaded
  and never sent for `STALE_AFTER`).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from ..errors import InvalidRequest
from ..pdf_text import read_pdf
from ..store import AttachmentRecord, Store
from ..store.clock import stamp
from .errors import AttachmentInUse, AttachmentNotFound, AttachmentTooLarge, UnsupportedAttachment

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 10
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_TEXT_CHARS = 200_000
# A PDF's reading stops after this long and at this much memory. 100 ordinary pages of text
# take pypdf under a second, and the character cap comes before that; a file that needs more
# is built to cost more than a person waits for.
PDF_SECONDS = 5.0
PDF_MEMORY_BYTES = 1024 * 1024 * 1024
STALE_AFTER = timedelta(days=1)
MAX_NAME_CHARS = 255

_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# Text by extension when the bytes are text; anything else that is text is text/plain.
_TEXT_MIMES = {
    ".json": "application/json",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xml": "application/xml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
}
# Control characters other than tab, newlines and form feed: a sign of a binary file.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NAME_JUNK = re.compile(r"[\x00-\x1f\x7f]")


def size_text(size: int) -> str:
    """A byte count for people: 20 MB, 1.5 MB, 300 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


def clean_name(name: str | None) -> str:
    """The file name as shown and sent to the model: no folders, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _NAME_JUNK.sub("", base).strip()
    return base[:MAX_NAME_CHARS] or "file"


def sniff(data: bytes, name: str) -> tuple[str, str]:
    """(kind, MIME type) from the bytes themselves; the name only picks a text subtype."""
    for signature, mime in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return "image", mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    if b"%PDF-" in data[:1024]:
        return "pdf", "application/pdf"
    text = _decode_text(data)
    if text is not None:
        suffix = Path(name).suffix.lower()
        guessed = _TEXT_MIMES.get(suffix) or mimetypes.guess_type(name)[0] or ""
        return "text", guessed if guessed.startswith("text/") or suffix in _TEXT_MIMES else (
            "text/plain"
        )
    raise UnsupportedAttachment(
        f"“{name}” is not a file OpenChat can attach. Attach images (PNG, JPEG, GIF, WebP), "
        "PDFs, or text files such as code, CSV, JSON and Markdown."
    )


def _decode_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    sample = text[:65536]
    if "\x00" in sample or len(_BINARY.findall(sample)) > len(sample) // 100:
        return None
    return text


@dataclass(frozen=True, slots=True)
class Extracted:
    """The text a model reads from a file, and a sentence for the person when that is not all
    of the file (the same words end the text, so the model knows it too)."""

    text: str | None
    note: str | None = None


def extract_text(
    kind: str, data: bytes, name: str, client_left: Callable[[], bool] = lambda: False
) -> Extracted:
    """The text a model reads from the file (None for images), at most MAX_TEXT_CHARS; a PDF
    is read for at most PDF_SECONDS, and no longer once `client_left()`."""
    if kind == "image":
        return Extracted(None)
    if kind == "pdf":
        return _pdf_text(data, name, client_left)
    return _capped(data.decode("utf-8-sig"), name)


def _capped(text: str, name: str) -> Extracted:
    if len(text) <= MAX_TEXT_CHARS:
        return Extracted(text)
    return Extracted(
        text[:MAX_TEXT_CHARS]
        + f"\n[… cut here: the file has {len(text):,} characters; the first "
        f"{MAX_TEXT_CHARS:,} are included]",
        f"Only the first {MAX_TEXT_CHARS:,} of the {len(text):,} characters of “{name}” go to "
        "the model.",
    )


# Why a PDF was read only in part.
_STOPPED_BECAUSE = {
    "chars": f"a file gives the model at most {MAX_TEXT_CHARS:,} characters",
    "time": "this PDF takes too long to read",
    "memory": "this PDF needs more memory than one file may use",
    "crashed": "the reader stopped part of the way through it",
}


def _pdf_text(data: bytes, name: str, client_left: Callable[[], bool]) -> Extracted:
    reading = read_pdf(
        data, max_chars=MAX_TEXT_CHARS, seconds=PDF_SECONDS, memory_bytes=PDF_MEMORY_BYTES,
        client_left=client_left,
    )
    if reading.stopped == "left":
        raise abandoned(name)
    if reading.problem == "encrypted":
        raise UnsupportedAttachment(
            f"“{name}” is protected by a password. Save an unprotected copy and attach that."
        )
    if reading.problem == "damaged":
        log.info("unreadable PDF %r: %s", name, reading.detail)
        raise UnsupportedAttachment(f"“{name}” could not be read as a PDF (it may be damaged).")
    text = "\n\n".join(page for page in reading.pages if page)
    read = len(reading.pages)
    if not text.strip() and reading.stopped is not None:
        found = ("not even its first page could be read" if read == 0 else
                 "its first page has no text" if read == 1 else
                 f"its first {read:,} pages have no text")
        raise UnsupportedAttachment(
            f"“{name}” could not be read: {_STOPPED_BECAUSE[reading.stopped]}, and {found}. "
            "Attach a smaller PDF, or copy the text you need into the message."
        )
    if not text.strip():
        raise UnsupportedAttachment(
            f"“{name}” has no text to read (its pages may be scanned images). Attach the pages "
            "as images for a model with vision instead."
        )
    if reading.stopped is None:
        return _capped(text, name)
    note = (
        f"Only the first {'' if read == 1 else f'{read:,} '}of the {reading.page_count:,} "
        f"pages of “{name}” {'was' if read == 1 else 'were'} read: "
        f"{_STOPPED_BECAUSE[reading.stopped]}."
    )
    return Extracted(text[:MAX_TEXT_CHARS] + f"\n[… cut here: {note}]", note)


def file_block(name: str, text: str) -> str:
    """How one file reaches the model: its name, then its text in a fence longer than any
    run of backticks inside it, so the file cannot close the fence early."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    body = text.rstrip("\n")
    return f"File: {name}\n{fence}\n{body}\n{fence}"


def message_content(text: str, files: Sequence[AttachmentRecord]) -> str:
    """The user message as the model reads it: each file's block, then what was typed."""
    blocks = [file_block(f.name, f.text or "") for f in files if f.kind != "image"]
    if text.strip():
        blocks.append(text)
    return "\n\n".join(blocks)


@dataclass(frozen=True, slots=True)
class Upload:
    """A stored upload, and the sentence for the person when the model gets only part of it."""

    record: AttachmentRecord
    note: str | None


class AttachmentFiles:
    """Content-addressed files: one per sha256, named by it, so the same bytes are kept once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a sha256")  # no request text ever reaches the file system
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        """Write atomically: a crash leaves the old file or none, never half of one."""
        path = self.path(sha256)
        if path.is_file() and path.stat().st_size == len(data):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def remove(self, sha256: str) -> None:
        path = self.path(sha256)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass  # other files share the folder

    def all(self) -> Iterable[tuple[str, Path]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/*"):
            if re.fullmatch(r"[0-9a-f]{64}", path.name):
                yield path.name, path


class AttachmentService:
    """Uploads, the files of a message being sent, and removal when nothing refers to them.

    One lock orders "write the file, add its row" against "drop rows, remove unreferenced
    files", so an upload of the same bytes can never lose its file to a concurrent delete."""

    def __init__(self, store: Store, root: Path) -> None:
        self.store = store
        self.files = AttachmentFiles(root)
        self._lock = threading.Lock()

    def upload(
        self, name: str | None, stream: IO[bytes], client_left: Callable[[], bool] = lambda: False
    ) -> Upload:
        """Store one file and its text. Nothing is kept for a client that left before the
        answer, and each upload also removes those never sent for STALE_AFTER, so a window
        left open for weeks does not gather them either."""
        name = clean_name(name)
        data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise too_large(name)
        if not data:
            raise InvalidRequest(f"“{name}” is empty: there is nothing to attach.")
        kind, mime = sniff(data, name)
        extracted = extract_text(kind, data, name, client_left)
        if client_left():
            raise abandoned(name)
        sha256 = hashlib.sha256(data).hexdigest()
        with self._lock:
            self.files.put(sha256, data)
            record = self.store.add_attachment(
                sha256=sha256, name=name, mime=mime, kind=kind, size=len(data),
                text=extracted.text,
            )
            self._drop_stale(datetime.now(UTC) - STALE_AFTER)
        return Upload(record, extracted.note)

    def get(self, attachment_id: str) -> AttachmentRecord:
        record = self.store.get_attachment(attachment_id)
        if record is None:
            raise AttachmentNotFound(
                "That attachment does not exist (its chat may have been deleted)."
            )
        return record

    def path(self, record: AttachmentRecord) -> Path:
        return self.files.path(record.sha256)

    def for_message(self, ids: Sequence[str]) -> list[AttachmentRecord]:
        """The attachments a message will carry, checked against the per-message limits."""
        if len(ids) > MAX_FILES:
            raise AttachmentTooLarge(
                f"A message can carry at most {MAX_FILES} files; this one has {len(ids)}. "
                "Send them over several messages."
            )
        found = {r.id: r for r in self.store.get_attachments(ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise AttachmentNotFound(
                "An attached file is no longer there (it may have been cleaned up). Attach it "
                "again."
            )
        records = [found[i] for i in ids]
        total = sum(r.size for r in records)
        if total > MAX_TOTAL_BYTES:
            raise AttachmentTooLarge(
                f"The files of one message may add up to {size_text(MAX_TOTAL_BYTES)}; these add "
                f"up to {size_text(total)}. Send some of them in another message."
            )
        return records

    def images(
        self, records: Sequence[AttachmentRecord], *, needed: Container[str] | None = None
    ) -> tuple[bytes, ...]:
        """The bytes of the images among `records`, read now. A file gone from the disk or
        unreadable is refused with its name when `needed` holds its id (None: every image is
        needed), else left out: the person can attach a needed file again, but not one of a
        message sent long ago."""
        found = []
        for record in records:
            if record.kind != "image":
                continue
            try:
                found.append(self.files.read(record.sha256))
            except (OSError, ValueError) as exc:
                if needed is None or record.id in needed:
                    log.warning("image %s unreadable: %s", record.id, exc)
                    raise AttachmentNotFound(
                        f"“{record.name}” is no longer on this computer (its file was deleted "
                        "or cannot be read). Attach it again, in a new or an edited message."
                    ) from None
                log.info("image %s of an earlier message left out: %s", record.id, exc)
        return tuple(found)

    def delete_unsent(self, attachment_id: str) -> None:
        """Remove an upload that no message uses (the person removed it before sending)."""
        record = self.get(attachment_id)
        with self._lock:
            dropped = self.store.drop_unlinked_attachments([record.id])
            if not dropped:
                raise AttachmentInUse(
                    "This file belongs to a sent message; it goes when its chat is deleted."
                )
            self._remove_unreferenced(dropped)

    def delete_session(self, session_id: str) -> None:
        """Delete a chat, then the attachments only it used, and their files."""
        ids = self.store.session_attachment_ids(session_id)
        self.store.delete_session(session_id)
        if ids:
            with self._lock:
                self._remove_unreferenced(self.store.drop_unlinked_attachments(ids))

    def clean_up(self, now: datetime | None = None) -> int:
        """Uploads never sent for STALE_AFTER go, and files no row refers to; returns how many
        files were removed. Run once per start, off the start-up path (it visits every file)."""
        cutoff = (now or datetime.now(UTC)) - STALE_AFTER
        removed = 0
        with self._lock:
            removed += self._drop_stale(cutoff)
            known = self.store.attachment_shas()
            for sha256, path in list(self.files.all()):
                # A file with no row: left by a crash between writing it and adding its row.
                if sha256 not in known and path.stat().st_mtime < cutoff.timestamp():
                    self.files.remove(sha256)
                    removed += 1
            for leftover in self.files.root.glob("??/.upload-*"):
                if leftover.stat().st_mtime < time.time() - 3600:
                    leftover.unlink(missing_ok=True)
        return removed

    def _drop_stale(self, cutoff: datetime) -> int:
        """Drop the uploads never sent since before `cutoff`, and their files (under the lock)."""
        return self._remove_unreferenced(self.store.drop_stale_attachments(stamp(cutoff)))

    def _remove_unreferenced(self, shas: Iterable[str]) -> int:
        """Remove the files of these hashes that no attachment row points at any more."""
        gone = 0
        for sha256 in set(shas):
            if not self.store.sha256_in_use(sha256):
                self.files.remove(sha256)
                gone += 1
        return gone


def abandoned(name: str) -> InvalidRequest:
    """The answer to an upload whose client went away: nobody reads it, nothing is kept."""
    return InvalidRequest(f"The upload of “{name}” stopped: nobody was waiting for it any more.")


def too_large(name: str) -> AttachmentTooLarge:
    return AttachmentTooLarge(
        f"“{name}” is larger than the {size_text(MAX_FILE_BYTES)} limit for one file. Attach a "
        "smaller file, or only the part that matters."
    )

