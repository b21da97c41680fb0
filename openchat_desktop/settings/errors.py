"""Settings failures, each with a sentence that names the key and the fix.

    AppError (openchat_desktop.errors)
    ├── InvalidRequest
    │   └── SettingsError        422 invalid_settings: a change was refused; nothing was written
    └── Conflict
        ├── SettingsFileInvalid  409 settings_file_invalid: the file must be fixed by hand first
        └── KeychainFailed       409 keychain_failed: the keychain is locked, refused or absent

A problem found while reading the file is no error: it is a `SettingsProblem` the settings
report, and the app keeps running on the last good settings.
"""

from __future__ import annotations

from ..errors import Conflict, InvalidRequest


class SettingsError(InvalidRequest):
    code = "invalid_settings"

    def __init__(self, message: str, *, key: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.key = key  # the key to fix, as people write it: `providers[0].base_url`
        self.line = line  # its line in the file, when the file is what is wrong


class SettingsFileInvalid(Conflict):
    code = "settings_file_invalid"


class KeychainFailed(Conflict):
    code = "keychain_failed"
