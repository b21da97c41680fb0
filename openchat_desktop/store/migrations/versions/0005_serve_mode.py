"""Serve mode: API keys, and where conversations sent to the OpenAI-compatible endpoint were
recorded.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.Integer(), nullable=True),
        sa.Column("record", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("last_used_at", sa.String(), nullable=True),
        sa.Column("revoked_at", sa.String(), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'chat', 'admin')", name="ck_api_keys_scope"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
    )
    op.create_index("ix_api_keys_secret_hash", "api_keys", ["secret_hash"], unique=True)
    op.create_index(
        "ix_api_keys_active_name", "api_keys", ["name"], unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "openai_threads",
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_openai_threads"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_openai_threads_session_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_openai_threads_message_id",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_openai_threads_session_id", "openai_threads", ["session_id"])


def downgrade() -> None:
    op.drop_table("openai_threads")
    op.drop_table("api_keys")
