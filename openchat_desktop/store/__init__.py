"""The chat database (one SQLite file): sessions, message trees, roles, search, migrations."""

from __future__ import annotations

from .errors import MessageNotFound, RoleNameTaken, RoleNotFound, SessionNotFound, StoreError
from .migrate import SCHEMA_REVISION
from .records import (
    FINISHED_STATUSES,
    ROLES,
    STATUSES,
    AttachmentRecord,
    MessageRecord,
    RoleRecord,
    SessionRecord,
    SummaryRecord,
)
from .store import Store

__all__ = [
    "AttachmentRecord",
    "FINISHED_STATUSES",
    "ROLES",
    "SCHEMA_REVISION",
    "STATUSES",
    "MessageNotFound",
    "MessageRecord",
    "RoleNameTaken",
    "RoleNotFound",
    "RoleRecord",
    "SessionNotFound",
    "SessionRecord",
    "Store",
    "StoreError",
    "SummaryRecord",
]
