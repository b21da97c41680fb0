"""Renders build/icons/openchat.svg to the PNG (window and Linux) and ICO (Windows) icons.

Run after changing the SVG: `.venv/bin/python build/make_icons.py`. The outputs are committed,
so building the app needs no image tools.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt6.QtCore import QByteArray, QBuffer, QIODevice, Qt
from PyQt6.QtGui import QGuiApplication, QImage, QPainter
from PyQt6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def ico(images: list[bytes], sizes: tuple[int, ...]) -> bytes:
    """An ICO file holding PNG images (supported since Windows Vista)."""
    header = bytearray(b"\0\0\1\0" + len(images).to_bytes(2, "little"))
    offset = 6 + 16 * len(images)
    for size, data in zip(sizes, images, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        header += bytes([side, side, 0, 0]) + (1).to_bytes(2, "little") + (32).to_bytes(
            2, "little") + len(data).to_bytes(4, "little") + offset.to_bytes(4, "little")
        offset += len(data)
    return bytes(header) + b"".join(images)


def main() -> None:
    app = QGuiApplication(sys.argv[:1] + ["-platform", "offscreen"])  # noqa: F841 - Qt needs it
    renderer = QSvgRenderer(str(ICONS / "openchat.svg"))
    render(renderer, 512).save(str(ICONS / "openchat.png"))
    (ICONS / "openchat.ico").write_bytes(
        ico([png_bytes(render(renderer, s)) for s in ICO_SIZES], ICO_SIZES)
    )


if __name__ == "__main__":
    main()
