"""What each route of the server needs: the one table of scopes, by URL rule and method.

`read` lists and reads; `chat` also chats (sends, stops, branches, chats and roles changed,
attachments, answers to tool calls, the OpenAI-compatible completions and the WebSocket);
`admin` also changes how OpenChat runs: settings, providers, keys, model downloads and files,
the built-in engine, tool servers, the instance, and the window's Save dialogs (they open on
the desktop of whoever runs OpenChat). A route missing from the table needs `admin`: a new
route is closed to keys until it is given its scope here (a test walks the app's routes).
"""

from __future__ import annotations

from .clients import Scope

OPEN_RULES = frozenset({"/api/health", "/", "/css/highlight.css", "/<path:filename>"})
"""Routes anyone who may reach the server may call: the health check and the page's files
(the page itself asks for the token before it shows anything)."""

ROUTE_SCOPES: dict[str, dict[str, Scope]] = {
    # reading
    "/api/openapi.json": {"GET": "read"},
    "/api/models": {"GET": "read"},
    "/api/options": {"GET": "read"},
    "/api/tools": {"GET": "read"},
    "/api/search": {"GET": "read"},
    # chats, messages, roles and attachments
    "/api/sessions": {"GET": "read", "POST": "chat"},
    "/api/sessions/<session_id>": {"GET": "read", "PATCH": "chat", "DELETE": "chat"},
    "/api/sessions/<session_id>/messages": {"GET": "read"},
    "/api/sessions/<session_id>/context": {"GET": "read"},
    "/api/sessions/<session_id>/summaries/<message_id>": {"GET": "read"},
    "/api/sessions/<session_id>/export": {"GET": "read"},
    "/api/sessions/<session_id>/chat/stream": {"POST": "chat"},
    "/api/sessions/<session_id>/chat": {"POST": "chat"},
    "/api/messages/<message_id>": {"GET": "read"},
    "/api/messages/<message_id>/events": {"GET": "read"},
    "/api/messages/<message_id>/siblings": {"GET": "read"},
    "/api/messages/<message_id>/stop": {"POST": "chat"},
    "/api/messages/<message_id>/regenerate": {"POST": "chat"},
    "/api/messages/<message_id>/continue": {"POST": "chat"},
    "/api/messages/<message_id>/tool-calls/<call_id>": {"POST": "chat"},
    "/api/messages/<message_id>/select": {"POST": "chat"},
    "/api/roles": {"GET": "read", "POST": "chat"},
    "/api/roles/<role_id>": {"GET": "read", "PUT": "chat", "DELETE": "chat"},
    "/api/attachments": {"POST": "chat"},
    "/api/attachments/limits": {"GET": "read"},
    "/api/attachments/<attachment_id>": {"GET": "read", "DELETE": "chat"},
    "/api/providers/<provider_id>/models": {"GET": "read"},
    # streaming and OpenAI-compatible clients
    "/ws/chat/<session_id>": {"GET": "chat"},
    "/v1/models": {"GET": "read"},
    "/v1/models/<path:model_id>": {"GET": "read"},
    "/v1/chat/completions": {"POST": "chat"},
    # how OpenChat runs
    "/api/settings": {"GET": "admin", "PATCH": "admin"},
    "/api/settings/keys": {"GET": "admin"},
    "/api/settings/keys/move": {"POST": "admin"},
    "/api/providers/test": {"POST": "admin"},
    "/api/keys": {"GET": "admin", "POST": "admin"},
    "/api/keys/<name>": {"DELETE": "admin"},
    "/api/outbound": {"GET": "admin", "DELETE": "admin"},
    "/api/providers/<provider_id>/models/pull": {"POST": "admin"},
    "/api/providers/<provider_id>/models/<path:name>": {"DELETE": "admin"},
    "/api/pulls": {"GET": "admin"},
    "/api/pulls/<pull_id>/events": {"GET": "admin"},
    "/api/pulls/<pull_id>/cancel": {"POST": "admin"},
    "/api/local/catalog": {"GET": "admin"},
    "/api/local/engine": {"GET": "admin"},
    "/api/local/models": {"POST": "admin"},
    "/api/local/models/pick": {"POST": "admin"},
    "/api/tools/servers/<server_id>/start": {"POST": "admin"},
    "/api/tools/servers/test": {"POST": "admin"},
    "/api/instance": {"GET": "admin"},
    "/api/instance/show": {"POST": "admin"},
    "/api/attachments/<attachment_id>/save": {"POST": "admin"},
    "/api/sessions/<session_id>/export/save": {"POST": "admin"},
}


def needed_scope(rule: str | None, method: str) -> Scope:
    """The scope a request needs, by the URL rule it matched (None: none matched) and its
    method. HEAD and OPTIONS are a GET; an address that matched nothing needs only `read`, so
    a key learns it is wrong (404) and nothing else."""
    if rule is None:
        return "read"
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    return ROUTE_SCOPES.get(rule, {}).get(method, "admin")


def scope_sentence(needed: Scope) -> str:
    what = {
        "read": "read chats",
        "chat": "chat",
        "admin": "change settings, providers, models or keys",
    }[needed]
    return f"This key may not {what}: that needs a key with the “{needed}” scope."
