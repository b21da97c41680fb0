"""Where data, settings and resources are found: flags, environment, portable mode, frozen app."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

import openchat_desktop
from openchat_desktop import paths

REPO_ROOT = Path(openchat_desktop.__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def platform_dirs(tmp_path, monkeypatch):
    """Send platformdirs' answers into tmp_path, recording how it was asked."""
    calls = []

    def user_data_dir(appname, appauthor=None):
        calls.append(("data", appname, appauthor))
        return str(tmp_path / "platform-data" / appname)

    def user_config_dir(appname, appauthor=None):
        calls.append(("config", appname, appauthor))
        return str(tmp_path / "platform-config" / appname)

    monkeypatch.setattr(paths.platformdirs, "user_data_dir", user_data_dir)
    monkeypatch.setattr(paths.platformdirs, "user_config_dir", user_config_dir)
    monkeypatch.delenv("OPENCHAT_HOME")
    monkeypatch.delenv("OPENCHAT_SETTINGS")
    return calls


@pytest.fixture
def frozen_app(tmp_path, monkeypatch):
    """Pretend to be a PyInstaller app whose executable lives in tmp_path/app."""
    app = tmp_path / "app"
    app.mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app / "openchat"))
    return app


def test_data_dir_flag_wins_over_environment(tmp_path):
    chosen = paths.data_dir(str(tmp_path / "flag"))
    assert chosen == tmp_path / "flag"
    assert chosen.is_dir()
    assert not (tmp_path / "data").exists()


def test_data_dir_from_openchat_home(tmp_path):
    assert paths.data_dir() == tmp_path / "data"
    assert (tmp_path / "data").is_dir()


def test_relative_data_dir_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.data_dir("here") == tmp_path / "here"


@posix_only
def test_created_data_dir_is_private(tmp_path):
    created = paths.data_dir(str(tmp_path / "new" / "data"))
    assert stat.S_IMODE(created.stat().st_mode) == 0o700


@posix_only
def test_existing_data_dir_keeps_its_permissions(tmp_path):
    existing = tmp_path / "shared"
    existing.mkdir()
    existing.chmod(0o755)
    assert paths.data_dir(str(existing)) == existing
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755


def test_platform_dirs_when_nothing_is_set(tmp_path, platform_dirs):
    assert paths.data_dir() == tmp_path / "platform-data" / "OpenChat"
    assert paths.settings_path() == tmp_path / "platform-config" / "OpenChat" / "settings.toml"
    assert platform_dirs == [("data", "OpenChat", False), ("config", "OpenChat", False)]


def test_empty_environment_variables_count_as_unset(tmp_path, platform_dirs, monkeypatch):
    monkeypatch.setenv("OPENCHAT_HOME", "")
    monkeypatch.setenv("OPENCHAT_SETTINGS", "")
    assert paths.data_dir() == tmp_path / "platform-data" / "OpenChat"
    assert paths.settings_path() == tmp_path / "platform-config" / "OpenChat" / "settings.toml"


def test_settings_path_flag_then_environment(tmp_path):
    assert paths.settings_path(str(tmp_path / "mine.toml")) == tmp_path / "mine.toml"
    assert paths.settings_path() == tmp_path / "settings.toml"


def test_settings_path_does_not_create_anything(tmp_path, platform_dirs):
    paths.settings_path()
    assert not (tmp_path / "platform-config").exists()


def test_frozen_portable_mode_keeps_everything_beside_the_executable(frozen_app, platform_dirs):
    (frozen_app / "portable").write_text("")
    assert paths.portable_dir() == frozen_app
    assert paths.data_dir() == frozen_app / "data"
    assert (frozen_app / "data").is_dir()
    assert paths.settings_path() == frozen_app / "settings.toml"
    assert platform_dirs == []


def test_frozen_without_marker_uses_platform_dirs(tmp_path, frozen_app, platform_dirs):
    assert paths.portable_dir() is None
    assert paths.data_dir() == tmp_path / "platform-data" / "OpenChat"


def test_a_folder_named_portable_is_not_the_marker(frozen_app, platform_dirs):
    (frozen_app / "portable").mkdir()
    assert paths.portable_dir() is None


def test_flags_and_environment_win_over_portable_mode(tmp_path, frozen_app, monkeypatch):
    (frozen_app / "portable").write_text("")
    assert paths.data_dir() == tmp_path / "data"
    assert paths.settings_path() == tmp_path / "settings.toml"
    assert paths.data_dir(str(tmp_path / "flag")) == tmp_path / "flag"


def test_source_tree_portable_marker_is_at_the_repository_root(
    tmp_path, monkeypatch, platform_dirs
):
    assert paths.app_dir() == REPO_ROOT
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "portable").write_text("")
    monkeypatch.setattr(paths, "_SOURCE_ROOT", checkout)
    assert paths.data_dir() == checkout / "data"
    assert paths.settings_path() == checkout / "settings.toml"


def test_resource_dir_from_the_source_tree():
    assert paths.resource_dir("web") == REPO_ROOT / "web"
    assert paths.resource_dir("web").is_dir()


def test_resource_dir_in_a_frozen_app_is_under_meipass(tmp_path, frozen_app, monkeypatch):
    bundle = tmp_path / "bundle"
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert paths.resource_dir("web") == bundle / "web"


def test_meipass_is_ignored_when_not_frozen(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "stale"), raising=False)
    assert paths.resource_dir("web") == REPO_ROOT / "web"


def test_database_path_is_in_the_data_dir(tmp_path):
    assert paths.database_path(tmp_path) == tmp_path / "openchat.sqlite3"
