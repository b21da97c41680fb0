"""Bytes from the network to text lines, for the SSE and NDJSON decoders.

Reads can split a UTF-8 character, a CRLF pair or a line anywhere, so the reader
keeps state between reads. Each byte is looked at a constant number of times:
feeding a body one byte at a time costs the same per byte as feeding it whole.
"""

from __future__ import annotations

import codecs
import re

from .errors import StreamBroken

MAX_LINE = 8 * 1024 * 1024  # characters; one line longer than this ends the stream

_ANY_NEWLINE = re.compile(r"\r\n|\r|\n")
_LF_ONLY = re.compile(r"\n")


class LineReader:
    """Split a byte stream into lines; `lone_cr` says whether a bare CR ends a line (SSE)."""

    def __init__(self, *, lone_cr: bool, max_line: int = MAX_LINE) -> None:
        # utf-8-sig drops a leading BOM even when it arrives one byte at a time;
        # invalid bytes become U+FFFD rather than killing the reply.
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._newline = _ANY_NEWLINE if lone_cr else _LF_ONLY
        self._lone_cr = lone_cr
        self._max_line = max_line
        self._pending: list[str] = []  # pieces of the unfinished line
        self._pending_len = 0
        self._after_cr = False  # the last text ended in CR: an LF next is the same line end

    def feed(self, data: bytes) -> list[str]:
        """Return the lines completed by `data`, without their line endings."""
        return self._split(self._decoder.decode(data))

    def close(self) -> list[str]:
        """Return what is left at EOF: a last line that had no line ending."""
        lines = self._split(self._decoder.decode(b"", final=True))
        if self._pending:
            lines.append(self._take(""))
        return lines

    def _split(self, text: str) -> list[str]:
        if not text:
            return []
        if self._after_cr:
            self._after_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        # Fast path for the common small read that does not finish a line.
        if "\n" not in text and "\r" not in text:
            self._hold(text)
            return []
        lines: list[str] = []
        start = 0
        for match in self._newline.finditer(text):
            lines.append(self._take(text[start : match.start()]))
            start = match.end()
        rest = text[start:]
        if rest:
            self._hold(rest)
        elif self._lone_cr and text[-1] == "\r":
            self._after_cr = True
        if not self._lone_cr:
            # NDJSON splits on LF only and tolerates a CRLF ending.
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        return lines

    def _hold(self, piece: str) -> None:
        self._pending_len += len(piece)
        if self._pending_len > self._max_line:
            raise StreamBroken(
                "The server sent a line longer than "
                f"{self._max_line // (1024 * 1024)} MiB, so the reply was stopped.",
                detail=f"line exceeded {self._max_line} characters",
            )
        self._pending.append(piece)

    def _take(self, tail: str) -> str:
        if self._pending:
            self._hold(tail)
            line = "".join(self._pending)
            self._pending.clear()
            self._pending_len = 0
            return line
        if len(tail) > self._max_line:
            self._hold(tail)  # raises
        return tail
