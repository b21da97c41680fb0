"""The chat database's tables, declared with SQLAlchemy Core; the migrations create the schema.

Core tables, not ORM classes: every query is Core already, and importing the ORM alone would
cost an idle app megabytes it never uses.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
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


# The tables below share one metadata, which the migrations are checked against. Every column
# but the keys says whether it may be NULL: Core would otherwise allow it.
METADATA = MetaData()


ROLES_TABLE = Table(
    "roles",
    METADATA,
    Column("id", String, primary_key=True),
    # NOCASE makes the unique index case-insensitive for ASCII; the store checks Unicode names
    Column("name", String(collation="NOCASE"), nullable=False),
    Column("instructions", Text, nullable=False),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    UniqueConstraint("name", name="uq_roles_name"),
)


SESSIONS_TABLE = Table(
    "sessions",
    METADATA,
    Column("id", String, primary_key=True),
    Column("title", Text, nullable=False),
    Column("model", Text, nullable=True),
    Column(
        "role_id",
        String,
        ForeignKey("roles.id", ondelete="SET NULL", name="fk_sessions_role_id"),
        nullable=True,
    ),
    Column("system_prompt", Text, nullable=True),
    Column("pinned", Boolean, server_default=text("0"), nullable=False),
    Column("draft", Text, server_default=text("''"), nullable=False),
    # use_alter: sessions and messages point at each other; the leaf moves as messages are
    # added or a branch is picked, never by update_session()
    Column(
        "leaf_id",
        String,
        ForeignKey("messages.id", ondelete="SET NULL", use_alter=True, name="fk_sessions_leaf_id"),
        nullable=True,
        info={KEPT_BY_STORE: True},
    ),
    Column("created_at", String, nullable=False, info={KEPT_BY_STORE: True}),
    Column("updated_at", String, nullable=False, info={KEPT_BY_STORE: True}),
    # {"planner": model id, "executor": model id} while Plan Mode is on
    Column("plan_mode", JSONText, nullable=True),
    # the chat's Think setting: true/false or a level such as "high"; null = model default
    Column("think", JSONText, nullable=True),
    # the chat's own model options ({"temperature": 0.2, …}); null = the model's defaults
    Column("options", JSONText, nullable=True),
    # what happens to turns that no longer fit the model's window: {"mode": "drop" |
    # "summarize", "model": the summarizing model's id or null}; null = the settings' default
    Column("context_policy", JSONText, nullable=True),
    # the person named the chat: a title written by a model never replaces theirs
    Column("title_by_person", Boolean, server_default=text("0"), nullable=False),
    # the tool servers the chat uses (a list of ids; "builtin" for the app's own tools);
    # null = every enabled one
    Column("tool_servers", JSONText, nullable=True),
    # the models that answer, in order, when the chat's model fails before its first word (a
    # list of model ids); null = the settings' fallbacks for the model
    Column("fallbacks", JSONText, nullable=True),
    Index("ix_sessions_pinned_updated_at", "pinned", "updated_at"),
    Index("ix_sessions_role_id", "role_id"),
    Index("ix_sessions_leaf_id", "leaf_id"),
)


MESSAGES_TABLE = Table(
    "messages",
    METADATA,
    # seq is the rowid: the search index refers to it, and VACUUM may renumber an implicit rowid
    Column("seq", Integer, primary_key=True, info={INTERNAL: True}),
    Column("id", String, nullable=False),
    Column(
        "session_id",
        String,
        ForeignKey("sessions.id", ondelete="CASCADE", name="fk_messages_session_id"),
        nullable=False,
    ),
    Column(
        "parent_id",
        String,
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_messages_parent_id"),
        nullable=True,
    ),
    Column("role", String, nullable=False),
    Column("content", Text, server_default=text("''"), nullable=False),
    Column("reasoning", Text, server_default=text("''"), nullable=False),
    Column("html", Text, nullable=True),
    Column("html_version", Integer, server_default=text("0"), nullable=False),
    Column("model", Text, nullable=True),
    Column("status", String, nullable=False),
    Column("error", JSONText, nullable=True),
    Column("usage", JSONText, nullable=True),
    Column("created_at", String, nullable=False),
    Column("updated_at", String, nullable=False),
    # the planner's text of a Plan Mode reply
    Column("plan", Text, nullable=True),
    # per-reply facts beyond usage: timings, the plan phase's model and time
    Column("meta", JSONText, nullable=True),
    # the reply's tool rounds: each call with its arguments, approval, result and duration
    Column("tools", JSONText, nullable=True),
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


# A summary of a branch's turns up to and including `message_id`, sent in their place once
# they no longer fit the model's window; kept so later turns reuse it.
SUMMARIES_TABLE = Table(
    "summaries",
    METADATA,
    Column(
        "message_id",
        String,
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_summaries_message_id"),
        primary_key=True,
    ),
    Column(
        "session_id",
        String,
        ForeignKey("sessions.id", ondelete="CASCADE", name="fk_summaries_session_id"),
        nullable=False,
    ),
    Column("content", Text, nullable=False),
    Column("model", Text, nullable=False),  # the model that wrote it
    Column("covered", Integer, nullable=False),  # how many messages it stands for
    Column("created_at", String, nullable=False),
    Index("ix_summaries_session_id", "session_id"),
)


# A key a script or teammate uses to reach a served OpenChat. Only a hash of the secret is
# kept: the key itself is shown once, when it is made. A revoked key stays listed (when and
# what it was) and never works again; its name is free for a new key.
API_KEYS_TABLE = Table(
    "api_keys",
    METADATA,
    Column("id", String, primary_key=True),
    Column("name", Text, nullable=False),
    Column("secret_hash", String, nullable=False),  # sha256 of the key, hex
    Column("prefix", String, nullable=False),  # the key's first characters, to recognize it
    Column("scope", String, nullable=False),
    Column("rpm", Integer, nullable=True),  # requests per minute; null: no limit
    Column("tpm", Integer, nullable=True),  # tokens per minute; null: no limit
    # whether its OpenAI-compatible calls are kept as chats
    Column("record", Boolean, server_default=text("1"), nullable=False),
    Column("created_at", String, nullable=False),
    Column("last_used_at", String, nullable=True),
    Column("revoked_at", String, nullable=True),
    CheckConstraint("scope IN ('read', 'chat', 'admin')", name="ck_api_keys_scope"),
    Index("ix_api_keys_secret_hash", "secret_hash", unique=True),
    Index(
        "ix_api_keys_active_name", "name", unique=True,
        sqlite_where=text("revoked_at IS NULL"),
    ),
)


# Where a conversation sent to the OpenAI-compatible endpoint was recorded: a hash of its
# messages up to and including a reply, and that reply. Clients send the whole conversation
# with every call; the next call of the same conversation continues that chat instead of
# starting another.
OPENAI_THREADS_TABLE = Table(
    "openai_threads",
    METADATA,
    Column("fingerprint", String, primary_key=True),
    Column(
        "session_id",
        String,
        ForeignKey("sessions.id", ondelete="CASCADE", name="fk_openai_threads_session_id"),
        nullable=False,
    ),
    Column(
        "message_id",
        String,
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_openai_threads_message_id"),
        nullable=False,
    ),
    Column("created_at", String, nullable=False),
    Index("ix_openai_threads_session_id", "session_id"),
)


# A request OpenChat made, or refused to make, to a host that is not this machine: when,
# where and how much, so a person can check what left their computer. Never a key, a query
# string, a header or a message.
OUTBOUND_REQUESTS_TABLE = Table(
    "outbound_requests",
    METADATA,
    Column("seq", Integer, primary_key=True),
    Column("at", String, nullable=False),  # when the request started
    # who asked: a provider id, "downloads", "mcp:<id>"
    Column("source", Text, nullable=False),
    Column("method", String, nullable=False),
    # with the port when it is not the scheme's own
    Column("host", Text, nullable=False),
    Column("path", Text, nullable=False),  # without the query string
    Column("status", Integer, nullable=True),  # null: no answer (failed, refused)
    Column("sent", Integer, server_default=text("0"), nullable=False),  # body bytes out
    Column("received", Integer, server_default=text("0"), nullable=False),  # body bytes in
    # sent: it went out; failed: it was attempted but no answer came; refused: local-only
    # mode kept it on this machine
    Column("outcome", String, nullable=False),
    CheckConstraint("outcome IN ('sent', 'failed', 'refused')", name="ck_outbound_outcome"),
    Index("ix_outbound_requests_at", "at"),
)


# An uploaded file; its bytes live once per sha256 under the data folder.
ATTACHMENTS_TABLE = Table(
    "attachments",
    METADATA,
    Column("id", String, primary_key=True),
    Column("sha256", String, nullable=False),
    Column("name", Text, nullable=False),
    Column("mime", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("size", Integer, nullable=False),
    # extracted text of text and PDF files, as sent to the model
    Column("text", Text, nullable=True),
    Column("created_at", String, nullable=False),
    CheckConstraint("kind IN ('image', 'text', 'pdf')", name="ck_attachments_kind"),
    Index("ix_attachments_sha256", "sha256"),
)


MESSAGE_ATTACHMENTS_TABLE = Table(
    "message_attachments",
    METADATA,
    Column(
        "message_id",
        String,
        ForeignKey("messages.id", ondelete="CASCADE", name="fk_message_attachments_message_id"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column(
        "attachment_id",
        String,
        ForeignKey(
            "attachments.id", ondelete="CASCADE", name="fk_message_attachments_attachment_id"
        ),
        nullable=False,
    ),
    Index("ix_message_attachments_attachment_id", "attachment_id"),
)
