"""Store failures, each with a sentence a person can act on.

StoreError           the chat database could not do what was asked
├── RoleNameTaken    another role already has that name (names are case-insensitive)
├── SessionNotFound  the chat does not exist (deleted, or never was)
└── MessageNotFound  the message does not exist
"""

from __future__ import annotations


class StoreError(Exception):
    code = "store_error"


class RoleNameTaken(StoreError):
    code = "role_name_taken"


class SessionNotFound(StoreError):
    code = "session_not_found"


class MessageNotFound(StoreError):
    code = "message_not_found"
