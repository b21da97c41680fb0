"""Plain, frozen copies of rows: safe to hand to any thread after the transaction is over.

Each record has its table's columns as fields, in the table's order (store/codec.py maps them
by name; tests/test_store.py fails when a column and a field disagree). New columns go last,
with a default, so code that builds records by keyword keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("system", "user", "assistant")
STATUSES = ("complete", "streaming", "stopped", "error", "interrupted")
FINISHED_STATUSES = tuple(s for s in STATUSES if s != "streaming")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    title: str
    model: str | None
    role_id: str | None
    system_prompt: str | None
    pinned: bool
    draft: str
    leaf_id: str | None
    created_at: str
    updated_at: str
    plan_mode: dict[str, Any] | None = None
    think: Any = None
    options: dict[str, Any] | None = None
    context_policy: dict[str, Any] | None = None
    title_by_person: bool = False
    tool_servers: list[str] | None = None
    fallbacks: list[str] | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    session_id: str
    parent_id: str | None
    role: str
    content: str
    reasoning: str
    html: str | None
    html_version: int
    model: str | None
    status: str
    error: dict[str, Any] | None
    usage: dict[str, Any] | None
    created_at: str
    updated_at: str
    plan: str | None = None
    meta: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: str
    name: str
    instructions: str
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: str
    sha256: str
    name: str
    mime: str
    kind: str  # "image" | "text" | "pdf"
    size: int
    text: str | None  # extracted text of text and PDF files, as sent to the model
    created_at: str


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """What stands for a branch's turns up to and including `message_id`."""

    message_id: str
    session_id: str
    content: str
    model: str  # the model that wrote it
    covered: int  # how many messages it stands for
    created_at: str


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored: never the key itself, only its hash and first characters."""

    id: str
    name: str
    secret_hash: str
    prefix: str
    scope: str  # "read" | "chat" | "admin"
    rpm: int | None
    tpm: int | None
    record: bool
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class OpenAIThreadRecord:
    """A recorded conversation of the OpenAI-compatible endpoint, up to the reply `message_id`."""

    fingerprint: str
    session_id: str
    message_id: str
    created_at: str


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    """One request made, attempted or refused to a host that is not this machine."""

    seq: int
    at: str
    source: str
    method: str
    host: str
    path: str
    status: int | None
    sent: int
    received: int
    outcome: str  # "sent" | "failed" | "refused"
