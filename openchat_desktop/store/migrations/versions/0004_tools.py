"""Tools: the calls and results of a reply, and which tool servers a chat uses.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite adds these without copying the table.
    op.add_column("messages", sa.Column("tools", sa.Text(), nullable=True))
    op.add_column("sessions", sa.Column("tool_servers", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place: a batch copy of messages would drop its FTS triggers
    op.execute("ALTER TABLE sessions DROP COLUMN tool_servers")
    op.execute("ALTER TABLE messages DROP COLUMN tools")
