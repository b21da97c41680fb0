"""Alembic environment: runs on the connection the store hands over, inside its transaction."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "OpenChat migrations run from openchat_desktop.store.migrate, on an open connection."
    )

# The caller holds one transaction around every step: a failure anywhere rolls all back.
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
