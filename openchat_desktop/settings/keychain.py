"""API keys in the operating system's keychain (macOS Keychain, Windows Credential Manager,
the Secret Service on Linux) through the keyring library: one entry per provider, under the
service "OpenChat" with the provider's id as the user name.

keyring is imported only when a key is read from or written to the keychain, or when the app
asks whether one is usable: the server idles in a few tens of megabytes, and keyring's Linux
backend brings D-Bus and crypto libraries that an app keeping no key there should not carry.

Whatever goes wrong (a locked keychain, a refusal, no keychain at all) becomes a
KeychainFailed sentence that names no key; every key read or saved here is remembered by
providers/redaction.py so it is removed from logs and errors like any other credential.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..paths import portable_dir
from ..providers.redaction import redact, remember_credentials
from .errors import KeychainFailed

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE = "OpenChat"

# keyring's stand-ins for "no keychain": the fail backend refuses everything, the null one
# forgets everything.
_NO_KEYCHAIN = ("keyring.backends.fail", "keyring.backends.null")

# How people know the keychains, by keyring's backend module.
_NAMES = {
    "keyring.backends.macOS": "the macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Manager",
    "keyring.backends.SecretService": "the Secret Service keyring",
    "keyring.backends.libsecret": "the Secret Service keyring",
    "keyring.backends.kwallet": "KWallet",
}


@dataclass(frozen=True)
class KeychainState:
    """Whether new keys go to a keychain, and which one, or why they stay in the file."""

    usable: bool
    name: str  # the keychain as people know it
    reason: str | None  # why keys stay in the settings file; None when usable


def _backend() -> KeyringBackend:
    import keyring

    return keyring.get_keyring()


def _name(backend: Any) -> str:
    module = type(backend).__module__
    return _NAMES.get(module, "the system keychain")


def keychain_state() -> KeychainState:
    """The keychain new keys would go to. Portable mode keeps keys beside the app, in the file."""
    if portable_dir() is not None:
        return KeychainState(
            False,
            "the settings file",
            "OpenChat runs in portable mode, so keys stay in the settings file beside the app.",
        )
    try:
        backend = _backend()
        priority = float(backend.priority)
    except Exception:  # any failure of a backend's probe means: no keychain to use
        log.info("no keychain: its backend failed to start", exc_info=True)
        priority = 0.0
        backend = None
    if backend is None or type(backend).__module__ in _NO_KEYCHAIN or priority <= 0:
        return KeychainState(
            False,
            "the settings file",
            "This computer has no keychain OpenChat can use, so keys are kept in the settings "
            "file, readable by you only.",
        )
    return KeychainState(True, _name(backend), None)


def _failure(doing: str, provider_id: str, error: Exception) -> KeychainFailed:
    """A keychain error as a sentence; keyring's own text is logged (redacted), never shown."""
    from keyring.errors import KeyringLocked, NoKeyringError

    log.warning("keychain: %s for %s failed: %s", doing, provider_id, redact(repr(error)))
    if isinstance(error, KeyringLocked):
        why = "the keychain is locked; unlock it (or log in again) and try again"
    elif isinstance(error, NoKeyringError):
        why = "this computer has no keychain OpenChat can use"
    else:
        why = "the keychain refused or could not be reached; check that it is unlocked and " \
              "that OpenChat may use it"
    return KeychainFailed(f"The key of “{provider_id}” could not be {doing}: {why}.")


def read_key(provider_id: str) -> str | None:
    """The provider's key from the keychain, or None if the keychain has none for it."""
    try:
        key = _backend().get_password(SERVICE, provider_id)
    except Exception as error:  # backends raise their own kinds (D-Bus, COM); all mean failure
        raise _failure("read from the keychain", provider_id, error) from None
    if key:
        remember_credentials(key, ())
    return key or None


def save_key(provider_id: str, key: str) -> None:
    """Put the provider's key in the keychain, replacing any it had."""
    remember_credentials(key, ())
    try:
        _backend().set_password(SERVICE, provider_id, key)
    except Exception as error:  # as in read_key
        raise _failure("saved in the keychain", provider_id, error) from None


def delete_key(provider_id: str) -> None:
    """Remove the provider's key from the keychain; a key already gone is no failure."""
    from keyring.errors import PasswordDeleteError

    try:
        backend = _backend()
        if backend.get_password(SERVICE, provider_id) is None:
            return
        backend.delete_password(SERVICE, provider_id)
    except PasswordDeleteError:
        return  # gone meanwhile
    except Exception as error:  # as in read_key
        raise _failure("removed from the keychain", provider_id, error) from None
