"""Small real files made in the tests themselves: a PNG, a PDF with text, a binary blob."""

from __future__ import annotations

import struct
import zlib


def _png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid PNG of one colour."""
    return _png(width, height, (b"\x00" + bytes(rgb) * width) * height)


def sunset_png(width: int = 240, height: int = 160) -> bytes:
    """A valid PNG that looks like something: a sky fading into a sunset over dark water."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            t = y / height
            if t < 0.62:
                sun = max(0.0, 1 - (((x - width * 0.5) ** 2 + (y - height * 0.55) ** 2) ** 0.5)
                          / (height * 0.22))
                r = int(60 + 190 * t + 60 * sun)
                g = int(80 + 60 * t + 120 * sun)
                b = int(170 - 120 * t + 20 * sun)
            else:
                r, g, b = 30 + (x * 7 % 20), 40, 70 + (x * 3 % 25)
            rows += bytes((min(r, 255), min(g, 255), min(b, 255)))
    return _png(width, height, bytes(rows))


def pdf(*pages: str) -> bytes:
    """A valid PDF whose pages show these lines of text (Helvetica, with a correct xref)."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 14 Tf 40 760 Td ({escaped}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_ids[index] + 1} 0 R >>"
            .encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects, numbered from 1 (the first is the catalog), with its xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def blob(size: int = 4096) -> bytes:
    """Bytes that are no image, no PDF and no text."""
    return bytes((i * 7919 + 13) % 256 for i in range(size))
