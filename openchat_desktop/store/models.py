"""ORM mapping of the chat database; the schema itself is created by the migrations."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class JSONText(TypeDecorator[Any]):
    """JSON kept in a TEXT column, so SQLite's type affinity can never turn it into a number."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


# Column.info keys the store reads, so what a column is to the store is said once, where the
# column is defined:
#   INTERNAL       never leaves the store; no record carries it (store/codec.py)
#   KEPT_BY_STORE  a chat column the store sets by its own rules; update_session() refuses it,
#                  as it does the key (store/store.py)
INTERNAL = "internal"
KEPT_BY_STORE = "kept_by_store"


class Base(DeclarativeBase):
    """The tables below share one metadata, which the migrations are checked against."""


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("name", name="uq_roles_name"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    # NOCASE makes the unique index case-insensitive for ASCII; the store checks Unicode names
    name: Mapped[str] = mapped_column(String(collation="NOCASE"))
    instructions: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String)
    updated_at: Mapped[str] = mapped_column(String)


class ChatSession(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_pinned_updated_at", "pinned", "updated_at"),
        Index("ix_sessions_role_id", "role_id"),
        Index("ix_sessions_leaf_id", "leaf_id"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    role_id: Mapped[str | None] = mapped_column(
        ForeignKey("roles.id", ondelete="SET NULL", name="fk_sessions_role_id")
    )
    system_prompt: Mapped[str | None] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    draft: Mapped[str] = mapped_column(Text, server_default=text("''"))
    # use_alter: sessions and messages point at each other; the leaf moves as messages are
    # added or a branch is picked, never by update_session()
    leaf_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL", use_alter=True, name="fk_sessions_leaf_id"),
        info={KEPT_BY_STORE: True},
    )
    created_at: Mapped[str] = mapped_column(String, info={KEPT_BY_STORE: True})
    updated_at: Mapped[str] = mapped_column(String, info={KEPT_BY_STORE: True})
    # {"planner": model id, "executor": model id} while Plan Mode is on
    plan_mode: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # the chat's Think setting: true/false or a level such as "high"; null = model default
    think: Mapped[Any] = mapped_column(JSONText, nullable=True)
    # the chat's own model options ({"temperature": 0.2, …}); null = the model's defaults
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # what happens to turns that no longer fit the model's window: {"mode": "drop" |
    # "summarize", "model": the summarizing model's id or null}; null = the settings' default
    context_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # the person named the chat: a title written by a model never replaces theirs
    title_by_person: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    # the tool servers the chat uses (a list of ids; "builtin" for the app's own tools);
    # null = every enabled one
    tool_servers: Mapped[list[str] | None] = mapped_column(JSONText)
    # the models that answer, in order, when the chat's model fails before its first word (a
    # list of model ids); null = the settings' fallbacks for the model
    fallbacks: Mapped[list[str] | None] = mapped_column(JSONText)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("id", name="uq_messages_id"),
        CheckConstraint("role IN ('system', 'user', 'assistant')", name="ck_messages_role"),
        CheckConstraint(
            "status IN ('complete', 'streaming', 'stopped', 'error', 'interrupted')",
            name="ck_messages_status",
        ),
        Index("ix_messages_session_id_parent_id", "session_id", "parent_id", "created_at"),
        Index("ix_messages_parent_id", "parent_id", "created_at"),
        Index("ix_messages_streaming", "session_id", sqlite_where=text("status = 'streaming'")),
    )

    # seq is the rowid: the search index refers to it, and VACUUM may renumber an implicit rowid
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, info={INTERNAL: True})
    id: Mapped[str] = mapped_column(String)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE", name="fk_messages_session_id")
    )
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_messages_parent_id")
    )
    role: Mapped[str] = mapped_column(String)
    content: Mapped[str] = mapped_column(Text, server_default=text("''"))
    reasoning: Mapped[str] = mapped_column(Text, server_default=text("''"))
    html: Mapped[str | None] = mapped_column(Text)
    html_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    model: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    created_at: Mapped[str] = mapped_column(String)
    updated_at: Mapped[str] = mapped_column(String)
    # the planner's text of a Plan Mode reply
    plan: Mapped[str | None] = mapped_column(Text)
    # per-reply facts beyond usage: timings, the plan phase's model and time
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # the reply's tool rounds: each call with its arguments, approval, result and duration
    tools: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONText)


class Summary(Base):
    """A summary of a branch's turns up to and including `message_id`, sent in their place once
    they no longer fit the model's window; kept so later turns reuse it."""

    __tablename__ = "summaries"
    __table_args__ = (Index("ix_summaries_session_id", "session_id"),)

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_summaries_message_id"),
        primary_key=True,
    )
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE", name="fk_summaries_session_id")
    )
    content: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)  # the model that wrote it
    covered: Mapped[int] = mapped_column(Integer)  # how many messages it stands for
    created_at: Mapped[str] = mapped_column(String)


class ApiKey(Base):
    """A key a script or teammate uses to reach a served OpenChat. Only a hash of the secret is
    kept: the key itself is shown once, when it is made. A revoked key stays listed (when and
    what it was) and never works again; its name is free for a new key."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("scope IN ('read', 'chat', 'admin')", name="ck_api_keys_scope"),
        Index("ix_api_keys_secret_hash", "secret_hash", unique=True),
        Index(
            "ix_api_keys_active_name", "name", unique=True,
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(String)  # sha256 of the key, hex
    prefix: Mapped[str] = mapped_column(String)  # the key's first characters, to recognize it
    scope: Mapped[str] = mapped_column(String)
    rpm: Mapped[int | None] = mapped_column(Integer)  # requests per minute; null: no limit
    tpm: Mapped[int | None] = mapped_column(Integer)  # tokens per minute; null: no limit
    # whether its OpenAI-compatible calls are kept as chats
    record: Mapped[bool] = mapped_column(Boolean, server_default=text("1"))
    created_at: Mapped[str] = mapped_column(String)
    last_used_at: Mapped[str | None] = mapped_column(String)
    revoked_at: Mapped[str | None] = mapped_column(String)


class OpenAIThread(Base):
    """Where a conversation sent to the OpenAI-compatible endpoint was recorded: a hash of its
    messages up to and including a reply, and that reply. Clients send the whole conversation
    with every call; the next call of the same conversation continues that chat instead of
    starting another."""

    __tablename__ = "openai_threads"
    __table_args__ = (Index("ix_openai_threads_session_id", "session_id"),)

    fingerprint: Mapped[str] = mapped_column(String, primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE", name="fk_openai_threads_session_id")
    )
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_openai_threads_message_id")
    )
    created_at: Mapped[str] = mapped_column(String)


class OutboundRequest(Base):
    """A request OpenChat made, or refused to make, to a host that is not this machine: when,
    where and how much, so a person can check what left their computer. Never a key, a query
    string, a header or a message."""

    __tablename__ = "outbound_requests"
    __table_args__ = (
        CheckConstraint("outcome IN ('sent', 'failed', 'refused')", name="ck_outbound_outcome"),
        Index("ix_outbound_requests_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String)  # when the request started
    source: Mapped[str] = mapped_column(Text)  # who asked: a provider id, "downloads", "mcp:<id>"
    method: Mapped[str] = mapped_column(String)
    host: Mapped[str] = mapped_column(Text)  # with the port when it is not the scheme's own
    path: Mapped[str] = mapped_column(Text)  # without the query string
    status: Mapped[int | None] = mapped_column(Integer)  # null: no answer (failed, refused)
    sent: Mapped[int] = mapped_column(Integer, server_default=text("0"))  # body bytes out
    received: Mapped[int] = mapped_column(Integer, server_default=text("0"))  # body bytes in
    # sent: it went out; failed: it was attempted but no answer came; refused: local-only
    # mode kept it on this machine
    outcome: Mapped[str] = mapped_column(String)


class Attachment(Base):
    """An uploaded file; its bytes live once per sha256 under the data folder."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("kind IN ('image', 'text', 'pdf')", name="ck_attachments_kind"),
        Index("ix_attachments_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    sha256: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(Text)
    mime: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(Integer)
    # extracted text of text and PDF files, as sent to the model
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String)


class MessageAttachment(Base):
    __tablename__ = "message_attachments"
    __table_args__ = (Index("ix_message_attachments_attachment_id", "attachment_id"),)

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_message_attachments_message_id"),
        primary_key=True,
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    attachment_id: Mapped[str] = mapped_column(
        ForeignKey(
            "attachments.id", ondelete="CASCADE", name="fk_message_attachments_attachment_id"
        )
    )
