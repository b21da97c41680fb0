"""Fallback models per chat, and the log of requests made to other hosts.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("fallbacks", sa.Text(), nullable=True))
    op.create_table(
        "outbound_requests",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("received", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('sent', 'failed', 'refused')", name="ck_outbound_outcome"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_outbound_requests"),
    )
    op.create_index("ix_outbound_requests_at", "outbound_requests", ["at"])


def downgrade() -> None:
    op.drop_table("outbound_requests")
    op.execute("ALTER TABLE sessions DROP COLUMN fallbacks")
