"""The chat's rules, in one package:

- `service`: `ChatService` — sending, regenerating, stopping, following, chats and roles;
- `sending`: `SendRequest`, one message to send as the client asked;
- `views`: every object the HTTP API returns, as JSON;
- `context`: what a model receives for a normal reply; `planning`: Plan Mode;
- `capabilities`: what a model can do, and the rules that depend on it (`think`, images);
- `attachments`: files sent with messages; `replies`: replies and their rows;
- `export`: a chat as a file to keep; `errors`: what the chat refuses, one class per code.
"""

from __future__ import annotations

from .sending import UNSET, SendRequest, Unset
from .service import ChatService

__all__ = ["UNSET", "ChatService", "SendRequest", "Unset"]
