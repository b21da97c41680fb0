"""Initial schema: roles, sessions, messages (a tree) and the full-text index of finished replies.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The index holds a message only once it is finished, so per-token checkpoints of a streaming
# reply never touch it. External content: the text lives once, in messages.content.
FTS_DDL = [
    """
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        content,
        content='messages',
        content_rowid='seq',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages
    WHEN new.status != 'streaming'
    BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
    END
    """,
    """
    CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages
    WHEN old.status != 'streaming'
    BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.seq, old.content);
    END
    """,
    """
    CREATE TRIGGER messages_fts_au AFTER UPDATE OF content, status ON messages
    WHEN (old.status != 'streaming' OR new.status != 'streaming')
        AND (old.content IS NOT new.content
             OR (old.status = 'streaming') != (new.status = 'streaming'))
    BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.seq, old.content WHERE old.status != 'streaming';
        INSERT INTO messages_fts (rowid, content)
        SELECT new.seq, new.content WHERE new.status != 'streaming';
    END
    """,
]


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(collation="NOCASE"), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roles"),
        sa.UniqueConstraint("name", name="uq_roles_name"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("role_id", sa.String(), nullable=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("pinned", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("draft", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("leaf_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_sessions_role_id", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["leaf_id"], ["messages.id"], name="fk_sessions_leaf_id", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_sessions_pinned_updated_at", "sessions", ["pinned", "updated_at"])
    op.create_index("ix_sessions_role_id", "sessions", ["role_id"])
    op.create_index("ix_sessions_leaf_id", "sessions", ["leaf_id"])
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("reasoning", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("html_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("usage", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_messages"),
        sa.UniqueConstraint("id", name="uq_messages_id"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_messages_session_id", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["messages.id"], name="fk_messages_parent_id", ondelete="CASCADE"
        ),
        sa.CheckConstraint("role IN ('system', 'user', 'assistant')", name="ck_messages_role"),
        sa.CheckConstraint(
            "status IN ('complete', 'streaming', 'stopped', 'error', 'interrupted')",
            name="ck_messages_status",
        ),
    )
    op.create_index(
        "ix_messages_session_id_parent_id", "messages", ["session_id", "parent_id", "created_at"]
    )
    op.create_index("ix_messages_parent_id", "messages", ["parent_id", "created_at"])
    op.create_index(
        "ix_messages_streaming",
        "messages",
        ["session_id"],
        sqlite_where=sa.text("status = 'streaming'"),
    )
    for statement in FTS_DDL:
        op.execute(statement)


def downgrade() -> None:
    for trigger in ("messages_fts_au", "messages_fts_ad", "messages_fts_ai"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE messages_fts")
    op.drop_table("messages")
    op.drop_table("sessions")
    op.drop_table("roles")
