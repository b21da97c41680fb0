"""Who is calling: the per-launch token (the window and whoever it was handed to) or an API key,
with what the caller may do (its scope) and how much (its limits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Scope = Literal["read", "chat", "admin"]
# In order: each scope allows what the ones before it allow.
SCOPES: tuple[Scope, ...] = get_args(Scope)


@dataclass(frozen=True, slots=True)
class Client:
    """`key_id` is None for the launch token. `rpm`/`tpm`: requests and tokens per minute
    (None: no limit). `record`: whether its OpenAI-compatible calls are kept as chats."""

    key_id: str | None
    name: str
    scope: Scope
    rpm: int | None = None
    tpm: int | None = None
    record: bool = True

    def allows(self, needed: Scope) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


# The per-launch token: whoever holds it may do everything, without limits.
LAUNCH = Client(key_id=None, name="launch token", scope="admin")
