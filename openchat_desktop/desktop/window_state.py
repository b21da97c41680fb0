"""The window's size and position, remembered between runs in the data folder.

Kept apart from settings.toml: it changes whenever the window moves, and a file people edit by
hand should not churn. A missing or damaged file gives the default window.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

STATE_FILE = "window.json"
DEFAULT_SIZE = (1200, 800)
MIN_SIZE = (640, 480)
# A saved position is used only if at least this much of the window lands on a screen.
VISIBLE_MARGIN = 100


@dataclass(frozen=True)
class Geometry:
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    x: int | None = None  # None: let the system place it
    y: int | None = None
    maximized: bool = False

    def fitted(self, screens: list[tuple[int, int, int, int]]) -> Geometry:
        """This geometry made usable: at least the minimum size, no bigger than the largest
        screen, and forgotten position when it would be off every screen (a monitor unplugged).
        `screens` are (x, y, width, height)."""
        width, height = max(self.width, MIN_SIZE[0]), max(self.height, MIN_SIZE[1])
        if screens:
            width = min(width, max(s[2] for s in screens))
            height = min(height, max(s[3] for s in screens))
        geometry = replace(self, width=width, height=height)
        if self.x is None or self.y is None:
            return replace(geometry, x=None, y=None)
        if screens and not any(_overlaps(geometry, screen) for screen in screens):
            return replace(geometry, x=None, y=None)
        return geometry


def _overlaps(g: Geometry, screen: tuple[int, int, int, int]) -> bool:
    sx, sy, sw, sh = screen
    assert g.x is not None and g.y is not None
    return (
        g.x + g.width - VISIBLE_MARGIN >= sx and g.x + VISIBLE_MARGIN <= sx + sw
        and g.y >= sy and g.y + VISIBLE_MARGIN <= sy + sh
    )


def load(data_dir: Path) -> Geometry:
    try:
        data = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
        return Geometry(
            width=int(data["width"]), height=int(data["height"]),
            x=None if data.get("x") is None else int(data["x"]),
            y=None if data.get("y") is None else int(data["y"]),
            maximized=bool(data.get("maximized", False)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return Geometry()


def save(data_dir: Path, geometry: Geometry) -> None:
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(geometry)), encoding="utf-8")
    os.replace(tmp, path)
