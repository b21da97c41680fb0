"""The system libraries the Qt window needs on Linux, and the Debian packages that hold them.

One table serves two readers: the app, to say in plain words what is missing when the window
cannot open, and `scripts/setup.sh`, to install what is missing (it runs this file with the
system's python3, before any virtual environment exists, so it imports only the stdlib).
"""

from __future__ import annotations

import ctypes
import sys

# soname -> Debian/Ubuntu package. Qt's own libraries come from PyPI; these come from the system.
QT_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-dri3.so.0": "libxcb-dri3-0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbfile.so.1": "libxkbfile1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXcomposite.so.1": "libxcomposite1",
    "libXdamage.so.1": "libxdamage1",
    "libXrandr.so.2": "libxrandr2",
    "libXtst.so.6": "libxtst6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libgbm.so.1": "libgbm1",
    "libdrm.so.2": "libdrm2",
    "libwayland-server.so.0": "libwayland-server0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libnss3.so": "libnss3",
    "libasound.so.2": "libasound2",
}


def missing_libraries() -> list[str]:
    """The sonames in the table that the dynamic loader cannot find."""
    missing = []
    for soname in QT_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def packages_for(sonames: list[str]) -> list[str]:
    return sorted({QT_LIBRARIES[name] for name in sonames})


if __name__ == "__main__":
    # `python3 system_libs.py`: the packages to install, one per line (none when all are there).
    if sys.platform.startswith("linux"):
        for package in packages_for(missing_libraries()):
            print(package)
