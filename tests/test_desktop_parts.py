"""The desktop app's parts without a screen: why a window cannot open, remembered geometry,
one OpenChat per data folder, and chats exported as files."""

from __future__ import annotations

import json

import pytest

from openchat_desktop.desktop import gui, system_libs
from openchat_desktop.desktop.window_state import MIN_SIZE, Geometry, load, save
from openchat_desktop.instance import AlreadyRunning, InstanceLock, read_note
from openchat_desktop.runtime import Runtime

# --- why the window cannot open ------------------------------------------------------------


def test_no_display_is_named(monkeypatch):
    monkeypatch.setattr(gui.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert gui.gui_problem() == (
        "there is no graphical display here (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    )


def test_missing_libraries_are_named_with_the_packages_to_install(monkeypatch):
    monkeypatch.setattr(gui.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(gui, "missing_libraries",
                        lambda: ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    assert gui.gui_problem() == (
        "the system libraries libxcb-cursor.so.0, libxcb-icccm.so.4 are missing. On Debian or"
        " Ubuntu, install them with: sudo apt install libxcb-cursor0 libxcb-icccm4"
    )


def test_a_display_that_does_not_answer_is_named(monkeypatch):
    monkeypatch.setattr(gui.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":4242")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(gui, "missing_libraries", lambda: [])
    assert gui.gui_problem() == "the X display :4242 does not answer"


def test_every_library_maps_to_a_package_and_loading_checks_for_real(monkeypatch):
    assert all(name.startswith("lib") and ".so" in name for name in system_libs.QT_LIBRARIES)
    monkeypatch.setattr(system_libs, "QT_LIBRARIES",
                        {"libc.so.6": "libc6", "libnothing-here.so.9": "nothing9"})
    assert system_libs.missing_libraries() == ["libnothing-here.so.9"]
    assert system_libs.packages_for(["libnothing-here.so.9"]) == ["nothing9"]


# --- the window's geometry -----------------------------------------------------------------


def test_geometry_round_trips_and_damaged_files_give_the_default(tmp_path):
    assert load(tmp_path) == Geometry()
    save(tmp_path, Geometry(width=1000, height=700, x=20, y=30, maximized=True))
    assert load(tmp_path) == Geometry(width=1000, height=700, x=20, y=30, maximized=True)
    (tmp_path / "window.json").write_text("{not json")
    assert load(tmp_path) == Geometry()
    (tmp_path / "window.json").write_text(json.dumps({"width": "wide"}))
    assert load(tmp_path) == Geometry()


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        # on the screen: kept
        (Geometry(1000, 700, 100, 50), Geometry(1000, 700, 100, 50)),
        # too small: raised to the minimum
        (Geometry(100, 100, 100, 50), Geometry(*MIN_SIZE, 100, 50)),
        # bigger than the screen: shrunk to it
        (Geometry(5000, 3000, 0, 0), Geometry(1920, 1080, 0, 0)),
        # on a monitor that is gone: position forgotten, size kept
        (Geometry(1000, 700, 3000, 200), Geometry(1000, 700, None, None)),
        # title bar above the screen: position forgotten
        (Geometry(1000, 700, 100, -400), Geometry(1000, 700, None, None)),
    ],
)
def test_geometry_is_fitted_to_the_screens(saved, expected):
    assert saved.fitted([(0, 0, 1920, 1080)]) == expected


# --- one OpenChat per data folder ----------------------------------------------------------


def test_a_second_runtime_on_the_same_folder_is_refused_before_opening_the_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = Runtime(data_dir=data, settings_path=tmp_path / "settings.toml", token="t" * 20)
    try:
        note = read_note(data)
        assert note is not None and note.base_url == first.base_url and note.window is False
        with pytest.raises(AlreadyRunning) as refused:
            Runtime(data_dir=data, settings_path=tmp_path / "settings.toml")
        assert refused.value.instance == note
        assert str(refused.value) == (
            f"OpenChat is already running with the data folder {data} at {first.base_url}"
            f" (process {note.pid})."
        )
    finally:
        first.shutdown()
    assert read_note(data) is None
    # released: the next one starts
    Runtime(data_dir=data, settings_path=tmp_path / "settings.toml").shutdown()


def test_the_lock_is_the_operating_systems_so_a_crash_never_leaves_it_held(tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path;"
         "from openchat_desktop.instance import InstanceLock;"
         "lock = InstanceLock(Path(sys.argv[1])); lock.acquire();"
         "print('held', flush=True); time.sleep(60)",
         str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning):
            InstanceLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()
    lock = InstanceLock(tmp_path)
    lock.acquire()
    lock.release()


# --- the web engine's flags ------------------------------------------------------------------


def test_web_engine_flags_keep_the_users_and_quiet_chromium(monkeypatch):
    from openchat_desktop.desktop import window

    monkeypatch.setattr(window.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
    window.webengine_flags()
    assert window.os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] == "--disable-gpu --log-level=3"

    monkeypatch.setattr(window.os, "geteuid", lambda: 0)  # root: the sandbox goes, once
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--log-level=0")
    window.webengine_flags()
    window.webengine_flags()
    assert window.os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] == "--log-level=0 --no-sandbox"
