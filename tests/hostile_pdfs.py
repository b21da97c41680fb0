"""PDFs made to cost the reader far more than their size, built here so no test downloads one.

- `shared_stream_pdf()`: about 18 KB; its 100 pages all draw one compressed content stream of
  about a megabyte of empty text operators, so every page costs a second of parsing and none
  gives a character: a character cap alone never stops the reading.
- `dense_text_pdf()`: 100 pages sharing one stream of 150,000 characters of text, so the
  character cap is reached on the second page.
- `deflate_bomb_pdf()`: a few megabytes whose page streams inflate to gigabytes in all.
"""

from __future__ import annotations

import zlib
from functools import cache

from .files import pdf_file

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] " \
       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"


def _pdf(streams: list[bytes], pages_per_stream: int) -> bytes:
    """A valid PDF (with a correct xref) whose pages each draw one of these Flate streams."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
                            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids: list[int] = []
    for stream in streams:
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                       % (len(stream), stream))
        stream_id = len(objects)
        for _ in range(pages_per_stream):
            objects.append(PAGE % stream_id)
            kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids), len(kids))
    return pdf_file(objects)


@cache
def shared_stream_pdf(pages: int = 100) -> bytes:
    content = b"BT /F1 1 Tf " + b"() Tj " * 170_000 + b"ET"
    return _pdf([zlib.compress(content, 9)], pages)


@cache
def dense_text_pdf(pages: int = 100) -> bytes:
    line = b"(" + b"word " * 200 + b") Tj 0 -1 Td\n"
    content = b"BT /F1 1 Tf 0 0 Td\n" + line * 150 + b"ET"
    return _pdf([zlib.compress(content, 9)], pages)


@cache
def deflate_bomb_pdf(pages: int = 40, inflated_mb: int = 70) -> bytes:
    """Each page its own stream of blank space just under pypdf's own 75 MB limit per
    stream, so a reader that keeps going holds them all: 2.8 GB from under 3 MB."""
    stream = zlib.compress(b" " * (inflated_mb * 1024 * 1024), 9)
    return _pdf([stream] * pages, 1)
