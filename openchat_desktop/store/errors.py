"""Store failures, each with a sentence a person can act on.

    AppError (openchat_desktop.errors)
    ├── StoreError           500 store_error: the chat database could not do what was asked
    ├── NotFound
    │   ├── SessionNotFound  404 session_not_found: the chat does not exist (deleted, or never)
    │   ├── MessageNotFound  404 message_not_found: the message does not exist
    │   └── RoleNotFound     404 role_not_found: the role does not exist
    └── Conflict
        └── RoleNameTaken    409 role_name_taken: another role has that name (any case)

A missing record is a 404 whether the chat service finds it missing before a write or the
store does during one (a delete won the race), so both raise the same class.
"""

from __future__ import annotations

from ..errors import AppError, Conflict, NotFound


class StoreError(AppError):
    code = "store_error"
    status = 500


class SessionNotFound(NotFound):
    code = "session_not_found"


class MessageNotFound(NotFound):
    code = "message_not_found"


class RoleNotFound(NotFound):
    code = "role_not_found"


class RoleNameTaken(Conflict):
    code = "role_name_taken"
