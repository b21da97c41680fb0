"""Where OpenChat keeps its data, its settings file and its bundled resources.

Each rule lives here once, so the command line, the server and the packaged app agree:

- data dir: `--data-dir`, else `OPENCHAT_HOME`, else portable mode, else the platform's user
  data dir;
- settings file: `--settings`, else `OPENCHAT_SETTINGS`, else portable mode, else the
  platform's user config dir;
- portable mode: a file named `portable` next to the executable (or at the source tree root)
  keeps everything beside it, for running from a USB stick or an unzipped folder;
- resources (`web/`, migration scripts, `bundled-models/`): under `sys._MEIPASS` in a
  frozen app, else the source tree root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "OpenChat"
PORTABLE_MARKER = "portable"
SETTINGS_FILE = "settings.toml"
DATABASE_FILE = "openchat.sqlite3"
BUNDLED_MODELS = "bundled-models"

# The repository root: the folder holding `openchat_desktop/`, `web/` and `pyproject.toml`.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def is_frozen() -> bool:
    """Whether we run as a PyInstaller app, where files live beside the executable."""
    return bool(getattr(sys, "frozen", False))


def app_dir() -> Path:
    """The folder where a `portable` marker is looked for: the executable's, or the source root."""
    if is_frozen():
        return Path(sys.executable).resolve().parent
    return _SOURCE_ROOT


def portable_dir() -> Path | None:
    """The folder that keeps data and settings in portable mode, or None when not portable."""
    folder = app_dir()
    return folder if (folder / PORTABLE_MARKER).is_file() else None


def _from_env(name: str) -> Path | None:
    """An environment variable as a path; empty counts as unset so `VAR= openchat` works."""
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().absolute() if value else None


def data_dir(override: str | None = None) -> Path:
    """The data dir (database, attachments), created private to the user if it is missing."""
    if override:
        path = Path(override).expanduser().absolute()
    elif (env := _from_env("OPENCHAT_HOME")) is not None:
        path = env
    elif (portable := portable_dir()) is not None:
        path = portable / "data"
    else:
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        # Only a folder we create is narrowed: chats are private, but a user-chosen existing
        # folder (say `--data-dir ~`) keeps the permissions its owner gave it.
        if os.name == "posix":
            path.chmod(0o700)
    return path


def settings_path(override: str | None = None) -> Path:
    """The settings file's path; the file itself may not exist yet."""
    if override:
        return Path(override).expanduser().absolute()
    if (env := _from_env("OPENCHAT_SETTINGS")) is not None:
        return env
    if (portable := portable_dir()) is not None:
        return portable / SETTINGS_FILE
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / SETTINGS_FILE


def resource_dir(name: str) -> Path:
    """A bundled resource folder such as `web`, from a frozen app or from the source tree."""
    bundle = getattr(sys, "_MEIPASS", None) if is_frozen() else None
    base = Path(bundle) if bundle else _SOURCE_ROOT
    return base / name


def bundled_models_dir() -> Path:
    """Models shipped with the app (the starter model): read-only, apart from the person's own
    models folder, so deleting a model never deletes what came with the app."""
    return resource_dir(BUNDLED_MODELS)


def models_dir(data_dir: Path) -> Path:
    """The person's models folder by default: `<name>.gguf` here is listed as `local/<name>`."""
    return data_dir / "models"


def attachments_dir(data_dir: Path) -> Path:
    """Where attached files are kept, one per sha256 (see `attachments`)."""
    return data_dir / "attachments"


def database_path(data_dir: Path) -> Path:
    """The SQLite file inside a data dir."""
    return data_dir / DATABASE_FILE
