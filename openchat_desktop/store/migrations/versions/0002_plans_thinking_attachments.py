"""Plan Mode, the Think toggle, per-reply details and attachments.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds nullable columns without copying the table.
    op.add_column("sessions", sa.Column("plan_mode", sa.Text(), nullable=True))
    op.add_column("sessions", sa.Column("think", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("plan", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("meta", sa.Text(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mime", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        sa.CheckConstraint("kind IN ('image', 'text', 'pdf')", name="ck_attachments_kind"),
    )
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"])
    op.create_table(
        "message_attachments",
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "position", name="pk_message_attachments"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_attachments_message_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"], ["attachments.id"], name="fk_message_attachments_attachment_id",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_message_attachments_attachment_id", "message_attachments", ["attachment_id"]
    )


def downgrade() -> None:
    op.drop_table("message_attachments")
    op.drop_table("attachments")
    # ALTER TABLE … DROP COLUMN in place: a batch copy of messages would drop its FTS triggers
    for table, column in (
        ("messages", "meta"), ("messages", "plan"), ("sessions", "think"),
        ("sessions", "plan_mode"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
