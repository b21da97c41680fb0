"""Where a provider's API key comes from, as the settings API and the page say it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FILE = "file"
KEYCHAIN = "keychain"
ENVIRONMENT = "environment"

VIEW_FIELDS = ("key_place", "key_variable", "from_environment", "key_problem")
"""What the view adds to a provider entry; never settings, so a change sent back ignores them."""


@dataclass(frozen=True)
class KeySource:
    place: str | None = None  # FILE, KEYCHAIN, ENVIRONMENT, or None: no key
    variable: str | None = None  # the environment variable the key comes from
    created: bool = False  # the whole provider comes from `variable`, not from the file
    problem: str | None = None  # why the key could not be read, as a sentence

    def public(self) -> dict[str, Any]:
        return {
            "key_place": self.place,
            "key_variable": self.variable,
            "from_environment": self.variable if self.created else None,
            "key_problem": self.problem,
        }


NO_KEY = KeySource()
