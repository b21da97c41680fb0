"""GET/PATCH /api/settings: the settings file, keys masked, its path and any problem; where
API keys are kept, and moving the file's keys to the keychain."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...settings import SettingsFileInvalid
from ...settings.keychain import keychain_state
from .. import services
from ..validation import json_body

bp = Blueprint("settings", __name__)


@bp.get("/api/settings")
def get_settings() -> ResponseReturnValue:
    return services().settings.public()


@bp.patch("/api/settings")
def patch_settings() -> ResponseReturnValue:
    store = services().settings
    body = json_body()
    if store.problem is not None and store.problem.fatal:
        raise SettingsFileInvalid(
            f"{store.problem.message} Fix the file first; the settings were not changed."
        )
    store.update(body)
    return store.public()


@bp.get("/api/settings/keys")
def key_storage() -> ResponseReturnValue:
    """Where a new key would go and how many keys the file holds (asking loads keyring, so
    only the settings panel asks, when it opens)."""
    in_file = services().settings.file_key_count()
    state = keychain_state()
    return {
        "keychain": state.usable,
        "keychain_name": state.name,
        "reason": state.reason,
        "file_keys": in_file,
    }


@bp.post("/api/settings/keys/move")
def move_keys() -> ResponseReturnValue:
    """Move every key the file holds to the keychain."""
    store = services().settings
    if store.problem is not None and store.problem.fatal:
        raise SettingsFileInvalid(
            f"{store.problem.message} Fix the file first; no key was moved."
        )
    moved = store.move_keys_to_keychain()
    return {"moved": len(moved.moved), "message": moved.sentence(), **store.public()}
