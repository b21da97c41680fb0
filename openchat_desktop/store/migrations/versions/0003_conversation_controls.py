"""Conversation controls: a chat's options and context policy, whose title it is, and the
summaries that stand in for older turns.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds these without copying the table.
    op.add_column("sessions", sa.Column("options", sa.Text(), nullable=True))
    op.add_column("sessions", sa.Column("context_policy", sa.Text(), nullable=True))
    op.add_column(
        "sessions",
        sa.Column("title_by_person", sa.Boolean(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "summaries",
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_summaries"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_summaries_message_id", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_summaries_session_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_summaries_session_id", "summaries", ["session_id"])


def downgrade() -> None:
    op.drop_table("summaries")
    for column in ("title_by_person", "context_policy", "options"):
        op.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
