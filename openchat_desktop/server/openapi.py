"""The OpenAPI 3.1 description of every route (a test checks coverage), served by
routes/openapi.py.

Each object the API returns has a schema here named after its view in `chat/views.py`
(`Session` ↔ `session_view`); a test checks that every key a view returns is declared.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..chat.options import SPECS, json_schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/responses/Error"}
STREAM = {
    "description": "Server-Sent Events: start, retry (`{\"attempt\", \"seconds\", "
    "\"reason\"}`: a wait before the model server is asked again), fallback (`{\"from\", "
    "\"to\", \"reason\"}`: another model asked instead), plan (Plan Mode), "
    "reasoning, delta, render, tool_call (`{\"id\", \"name\", \"arguments\", \"at\"}`), "
    "tool_approval (`{\"id\", \"name\", \"arguments\", \"deadline\"}`: waiting for the "
    "person), tool_result (`{\"id\", \"content\", \"is_error\", \"ms\", \"status\"}`), "
    "then done or error.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}
NO_CONTENT = {"description": "Deleted."}


def _id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_NULLABLE_STR = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 10_000}
_PLAN_MODELS = {
    "oneOf": [{"$ref": "#/components/schemas/PlanModels"}, {"type": "null"}],
    "description": "Plan Mode's two models; null: off. Both must be known model ids (422).",
}
_OPTIONS = {
    "oneOf": [{"$ref": "#/components/schemas/Options"}, {"type": "null"}],
}
_THINK = {"oneOf": [{"type": ["boolean", "null"]}, {"enum": ["low", "medium", "high"]}]}
_CONTEXT_POLICY = {
    "type": ["object", "null"],
    "properties": {
        "mode": {"enum": ["drop", "summarize"]},
        "model": {"type": ["string", "null"],
                  "description": "The model that writes summaries; null: the chat's."},
    },
    "required": ["mode"],
    "additionalProperties": False,
}
PULL_STREAM = {
    "description": "Server-Sent Events: start (`{\"pull\"}`), progress (`{\"status\", "
    "\"completed\", \"total\"}`), then done or error (`{\"code\", \"message\"}`).",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}

SCHEMAS: dict[str, dict] = {
    "Options": {
        "type": "object",
        "description": "Model options by their canonical names; each provider gets the ones "
        "it accepts in its own dialect. A bad value or an unknown key is 422 naming it. A key "
        "set to null removes what a lower layer said (request > chat > model > global).",
        "properties": {spec.name: {**json_schema(spec), "description": spec.help}
                       for spec in SPECS},
        "additionalProperties": False,
    },
    "OptionChoices": {
        "type": "object",
        "properties": {
            "options": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "type": {"enum": ["number", "integer", "text list", "duration"]},
                "min": {"type": ["number", "null"]},
                "max": {"type": ["number", "null"]},
                "step": {"type": ["number", "null"]},
                "help": {"type": "string"},
            }}},
            "presets": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "options": {"type": "object"},
                "builtin": {"type": "boolean",
                            "description": "Precise, Balanced or Creative; false: the "
                            "settings' `[presets]`."},
            }}},
            "defaults": {"type": "object", "description": "The settings' `[options]`."},
            "models": {"type": "object", "description": "The settings' `[models]` by model "
                       "id: `{\"options\", \"context_length\"}`."},
        },
        "required": ["options", "presets", "defaults", "models"],
    },
    "LocalEngine": {
        "type": "object",
        "properties": {
            "state": {"enum": ["idle", "loading", "loaded"]},
            "model": {**_NULLABLE_STR, "description": "The model loading or loaded."},
            "since": {"type": ["number", "null"],
                      "description": "While loading: when it started (seconds since 1970)."},
            "pid": {"type": ["integer", "null"], "description": "The engine's process, loaded."},
            "settings": {"type": "object", "properties": {
                "models_dir": {"type": "string"},
                "threads": {"type": "integer"},
                "context_size": {"type": "integer"},
                "batch_size": {"type": "integer"},
                "gpu_layers": {"type": ["integer", "null"]},
                "idle_unload": {"type": "number"},
            }},
        },
        "required": ["state", "model", "since", "pid", "settings"],
    },
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    },
    "ReplyFailure": {
        "type": "object",
        "description": "A reply that failed after it started: the error, and the reply as "
        "saved (null only if it could not be saved).",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "message_id": {"type": "string"}},
                "required": ["code", "message"],
            },
            "message": {"oneOf": [_ref("Message"), {"type": "null"}]},
        },
        "required": ["error"],
    },
    "Session": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "model": _NULLABLE_STR,
            "role_id": _NULLABLE_STR,
            "system_prompt": _NULLABLE_STR,
            "pinned": {"type": "boolean"},
            "draft": {"type": "string"},
            "leaf_id": _NULLABLE_STR,
            "plan_mode": _PLAN_MODELS,
            "think": _THINK,
            "options": {**_OPTIONS,
                        "description": "The chat's own model options; null: the model's."},
            "context_policy": {
                "type": ["object", "null"],
                "description": "What happens to turns that no longer fit the model's window: "
                               "`{\"mode\": \"drop\" | \"summarize\", \"model\": id | null}`; "
                               "null: the settings' default.",
            },
            "title_by_person": {
                "type": "boolean",
                "description": "The person named the chat; a model's title never replaces it.",
            },
            "tool_servers": {
                "type": ["array", "null"], "items": {"type": "string"},
                "description": "The tool servers the chat uses (\"builtin\" for the app's own "
                               "tools); null: every enabled one.",
            },
            "fallbacks": {
                "type": ["array", "null"], "items": {"type": "string"},
                "description": "The model ids that answer, in order, when the chat's model "
                               "fails before its first word; null: the settings' fallbacks.",
            },
            "title_pending": {
                "type": "boolean",
                "description": "In the chat list only: the chat's model is writing its "
                               "title now (setting `chat.auto_title`); list again to see it.",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
        "required": ["id", "title", "model", "role_id", "system_prompt", "pinned",
                     "created_at", "updated_at"],
    },
    "SessionInput": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "model": _NULLABLE_STR,
            "role_id": _NULLABLE_STR,
            "system_prompt": _NULLABLE_STR,
            "pinned": {"type": "boolean"},
            "draft": {"type": "string"},
            "plan_mode": _PLAN_MODELS,
            "think": {**_THINK, "description": "PATCH only: the chat's Think setting."},
            "options": {**_OPTIONS, "description": "The chat's own model options. PATCH "
                        "changes them key by key: a key set to null goes back to the model's "
                        "default; `\"options\": null` removes them all."},
            "context_policy": {**_CONTEXT_POLICY,
                               "description": "PATCH only: the chat's context policy; null: "
                                              "the settings' default."},
            "tool_servers": {"type": ["array", "null"], "items": {"type": "string"},
                             "description": "PATCH only: the ids of the tool sources the chat "
                                            "uses (see GET /api/tools); null: every enabled "
                                            "one."},
            "fallbacks": {"type": ["array", "null"], "items": {"type": "string"},
                          "description": "PATCH only: the model ids asked in turn when the "
                                         "chat's model fails before its first word; null: the "
                                         "settings' fallbacks."},
        },
        "additionalProperties": False,
    },
    "ContextMeter": {
        "type": "object",
        "description": "What the composer's meter shows for the branch on screen plus the text "
                       "being typed.",
        "properties": {
            "window": {"type": ["integer", "null"],
                       "description": "The model's context window in tokens; null: unknown."},
            "used": {"type": "integer",
                     "description": "Estimated tokens the next request takes as the branch "
                                    "stands (with the summary it would reuse)."},
            "reply_room": {"type": "integer",
                           "description": "Tokens of the window kept for the reply; when "
                                          "used + reply_room exceeds the window, the next "
                                          "message cuts or summarizes history."},
            "policy": _CONTEXT_POLICY,
        },
        "required": ["window", "used", "reply_room", "policy"],
    },
    "Summary": {
        "type": "object",
        "description": "What stands for a branch's older turns, up to and including "
                       "`message_id`.",
        "properties": {
            "message_id": {"type": "string"},
            "session_id": {"type": "string"},
            "content": {"type": "string"},
            "model": {"type": "string", "description": "The model that wrote it."},
            "covered": {"type": "integer", "description": "How many messages it stands for."},
            "created_at": {"type": "string", "format": "date-time"},
        },
        "required": ["message_id", "session_id", "content", "model", "covered", "created_at"],
    },
    "PlanModels": {
        "type": "object",
        "properties": {
            "planner": {"type": "string", "description": "Writes the plan: a model id."},
            "executor": {"type": "string", "description": "Writes the answer: a model id."},
        },
        "required": ["planner", "executor"],
        "additionalProperties": False,
    },
    "Attachment": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"enum": ["image", "text", "pdf"]},
            "mime": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
        },
        "required": ["id", "name", "kind", "mime", "size", "sha256"],
    },
    "AttachmentLimits": {
        "type": "object",
        "properties": {
            "max_file_bytes": {"type": "integer"},
            "max_files": {"type": "integer"},
            "max_total_bytes": {"type": "integer"},
            "max_text_chars": {"type": "integer"},
        },
        "required": ["max_file_bytes", "max_files", "max_total_bytes", "max_text_chars"],
    },
    "LocalModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "size": {"type": ["integer", "null"]},
            "parameter_size": _NULLABLE_STR,
            "quantization": _NULLABLE_STR,
            "family": _NULLABLE_STR,
            "format": _NULLABLE_STR,
            "modified_at": _NULLABLE_STR,
            "capabilities": {"type": "array", "items": {"type": "string"}},
            "context_length": {"type": ["integer", "null"]},
            "loaded": {"type": "boolean"},
            "size_vram": {"type": ["integer", "null"]},
            "expires_at": {**_NULLABLE_STR, "description": "Loaded models: when Ollama unloads "
                           "it."},
        },
        "required": ["id", "name", "size", "capabilities", "loaded"],
    },
    "Pull": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "provider": {"type": "string"},
            "name": {"type": "string"},
            "state": {"enum": ["running", "done", "error", "cancelled"]},
            "status": {"type": "string"},
            "completed": {"type": ["integer", "null"]},
            "total": {"type": ["integer", "null"]},
            "error": {"type": ["object", "null"]},
        },
        "required": ["id", "provider", "name", "state", "status", "completed", "total"],
    },
    "CatalogEntry": {
        "type": "object",
        "description": "A model the built-in engine can download from Hugging Face.",
        "properties": {
            "id": {"type": "string", "description": "The name to pull, e.g. `qwen3-1.7b`."},
            "name": {"type": "string"},
            "repo": {"type": "string", "description": "`owner/name` on Hugging Face."},
            "file": {"type": "string", "description": "The .gguf file; `local/<file without "
                     ".gguf>` once downloaded."},
            "size": {"type": "integer", "description": "Bytes, approximate."},
            "ram": {"type": "integer", "description": "Memory it needs, bytes, approximate."},
            "parameters": {"type": "string"},
            "license": {"type": "string"},
            "gated": {"type": "boolean", "description": "Needs a Hugging Face token."},
            "good_at": {"type": "string"},
            "downloaded": {"type": "boolean"},
            "partial": {"type": "integer", "description": "Bytes of an unfinished download "
                        "that pulling again continues."},
            "recommended": {"type": "boolean"},
        },
        "required": ["id", "name", "repo", "file", "size", "ram", "parameters", "license",
                     "gated", "good_at", "downloaded", "partial", "recommended"],
    },
    "Message": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "session_id": {"type": "string"},
            "parent_id": _NULLABLE_STR,
            "role": {"enum": ["user", "assistant"]},
            "content": {"type": "string"},
            "reasoning": {"type": "string"},
            "html": {"type": "string"},
            "model": _NULLABLE_STR,
            "status": {"enum": ["complete", "streaming", "stopped", "error", "interrupted"]},
            "error": {"type": ["object", "null"]},
            "usage": {"type": ["object", "null"]},
            "plan": {"type": ["string", "null"],
                     "description": "Plan Mode: the planner's text; null for other replies."},
            "plan_html": {"type": ["string", "null"], "description": "`plan` rendered."},
            "tools": {"type": ["array", "null"], "items": {"type": "object"},
                      "description": "The reply's tool calls, in order: `{\"id\", \"name\", "
                                     "\"arguments\", \"at\", \"status\", \"content\", "
                                     "\"is_error\", \"ms\"}` each (and `deadline` while "
                                     "waiting for the person); status running, waiting, "
                                     "done, error, denied, or how the reply ended for a call "
                                     "it never finished; null: none."},
            "meta": {"type": ["object", "null"], "description": "Per-reply details: `options`, "
                     "the model options the reply used; Plan Mode adds `plan` and `executor`: "
                     "{\"model\", \"ms\", \"status\"} each. `context`: {\"window\", "
                     "\"prompt_tokens\", \"dropped_messages\", \"summarized_messages\"}, with "
                     "`summary_until` (the summary's message id) when a summary was sent and "
                     "`summary_error` when one failed. `fallback`: {\"asked\", \"answered\", "
                     "\"failures\": [{\"model\", \"reason\"}]} when a fallback model was "
                     "asked (`model` is then the one that answered)."},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "stream_seq": {"type": "integer", "description": "Live replies only: pass as `after`."},
            "sibling_ids": {"type": "array", "items": {"type": "string"}},
            "sibling_index": {"type": "integer"},
            "attachments": {"type": "array", "items": _ref("Attachment"),
                            "description": "User messages: the files sent with it."},
        },
        "required": ["id", "session_id", "parent_id", "role", "content", "reasoning", "html",
                     "model", "status", "error", "usage", "created_at"],
    },
    "ChatRequest": {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "model": {"type": "string", "description": "\"<provider id>/<model name>\""},
            "think": {**_THINK, "description": "This reply only; absent: the chat's setting."},
            "attachments": {"type": "array", "items": {"type": "string"}, "maxItems": 10,
                            "description": "Ids from POST /api/attachments."},
            "ignore_vision_warning": {
                "type": "boolean",
                "description": "Send even though the model cannot see images (they are left "
                "out of the request).",
            },
            "parent_id": {
                "type": ["string", "null"],
                "description": "Edit and resend: the message the new one answers (null: a new "
                "first message). Absent: the end of the current branch.",
            },
            "plan": {
                **_PLAN_MODELS,
                "description": "Plan Mode for this request only (null: none). Absent: the "
                "chat's `plan_mode`.",
            },
            "options": {**_OPTIONS, "description": "This reply's options, over the chat's."},
        },
        "required": ["message"],
        "additionalProperties": False,
    },
    "Role": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "instructions": {"type": "string"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
        },
        "required": ["id", "name", "instructions", "created_at", "updated_at"],
    },
    "RoleInput": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "instructions": {"type": "string"}},
        "additionalProperties": False,
    },
    "Model": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "provider": {"type": "string"},
            "name": {"type": "string"},
            "capabilities": {"type": "array", "items": {"type": "string"}},
            "context_length": {"type": ["integer", "null"]},
            "capabilities_known": {"type": "boolean"},
            "think_levels": {"type": "array", "items": {"type": "string"}},
            "details": {"type": "object", "description": "What the provider says of the "
                        "model: Ollama's details; the built-in engine's size, parameters, "
                        "quantization, `bundled`, and for the starter model `starter`, "
                        "`label` and `note`."},
        },
        "required": ["id", "provider", "name", "capabilities", "context_length"],
    },
    "ProviderStatus": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string"},
            "status": {"enum": ["ok", "unreachable", "unauthorized", "error"]},
            "message": _NULLABLE_STR,
        },
        "required": ["id", "kind", "status", "message"],
    },
    "ProviderCheck": {
        "type": "object",
        "properties": {
            "status": {"enum": ["ok", "unreachable", "unauthorized", "error"]},
            "message": _NULLABLE_STR,
            "models": {"type": "array", "items": {"type": "string"},
                       "description": "The models the server listed (empty unless ok)."},
            "note": {**_NULLABLE_STR, "description": "Which stored secrets were not sent "
                     "because the entry names another address than the saved one."},
            "address": {**_NULLABLE_STR, "description": "Where the server answered when "
                        "that is not the entry's address (the address with /v1 appended)."},
        },
        "required": ["status", "message", "models"],
    },
    "Tool": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "As the model is offered it."},
            "description": {"type": "string"},
            "approval": {"enum": ["ask", "always", "never"]},
        },
        "required": ["name", "description", "approval"],
    },
    "ToolSource": {
        "type": "object",
        "description": "The built-in tools or an MCP server (`[[mcp_servers]]`).",
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": ["builtin", "stdio", "http"]},
            "enabled": {"type": "boolean"},
            "status": {"enum": ["ok", "stopped", "starting", "error"],
                       "description": "A server starts when a chat first needs its tools."},
            "message": {**_NULLABLE_STR, "description": "Why the status is `error`."},
            "tools": {"type": "array", "items": _ref("Tool"),
                      "description": "As listed when the server last started."},
        },
        "required": ["id", "kind", "enabled", "status", "message", "tools"],
    },
    "McpServerCheck": {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "tools": {"type": "array", "items": _ref("Tool")},
            "message": {**_NULLABLE_STR,
                        "description": "Why the server could not be used, as a sentence."},
        },
        "required": ["ok", "tools", "message"],
    },
    "OutboundRequest": {
        "type": "object",
        "description": "A request OpenChat made, or refused to make, to another host: never a "
                       "header, key, query string or message.",
        "properties": {
            "seq": {"type": "integer", "description": "Orders the rows; page on with `before`."},
            "at": {"type": "string", "description": "When the request started (UTC)."},
            "source": {"type": "string",
                       "description": "What asked: a provider id, \"downloads\" or "
                                      "\"mcp:<server id>\"."},
            "method": {"type": "string"},
            "host": {"type": "string", "description": "With the port when not the scheme's."},
            "path": {"type": "string", "description": "Without the query string."},
            "status": {"type": ["integer", "null"], "description": "null: no answer."},
            "sent": {"type": "integer", "description": "Body bytes sent."},
            "received": {"type": "integer", "description": "Body bytes received."},
            "outcome": {"enum": ["sent", "failed", "refused"],
                        "description": "refused: local-only mode kept it on this machine."},
        },
    },
    "SearchResult": {
        "type": "object",
        "properties": {
            "message_id": {"type": "string"},
            "session_id": {"type": "string"},
            "session_title": _NULLABLE_STR,
            "role": {"enum": ["user", "assistant"]},
            "snippet": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
        "required": ["message_id", "session_id", "session_title", "role", "snippet",
                     "created_at"],
    },
    "Settings": {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "problem": {"type": ["object", "null"]},
            "settings": {"type": "object"},
        },
        "required": ["path", "problem", "settings"],
    },
    "ApiKey": {
        "type": "object",
        "description": "An API key as listed: never the key itself, nor its hash.",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "prefix": {"type": "string", "description": "The key's first characters."},
            "scope": {"enum": ["read", "chat", "admin"]},
            "rpm": {"type": ["integer", "null"], "description": "Requests per minute; null: "
                    "no limit."},
            "tpm": {"type": ["integer", "null"], "description": "Tokens per minute; null: "
                    "no limit."},
            "record": {"type": "boolean",
                       "description": "Whether its OpenAI-compatible calls are kept as chats."},
            "created_at": {"type": "string", "format": "date-time"},
            "last_used_at": {"type": ["string", "null"],
                             "description": "Noted at most once a minute."},
            "revoked_at": {"type": ["string", "null"]},
        },
        "required": ["id", "name", "prefix", "scope", "rpm", "tpm", "record", "created_at",
                     "last_used_at", "revoked_at"],
    },
    "ApiKeyInput": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "1 to 64 characters, no “/”; unique "
                     "among keys not revoked (409)."},
            "scope": {"enum": ["read", "chat", "admin"], "default": "chat"},
            "rpm": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000_000},
            "tpm": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000_000},
            "record": {"type": "boolean", "default": True},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
}

MESSAGE_LIST = {
    "type": "object",
    "properties": {"messages": {"type": "array", "items": _ref("Message")},
                   "has_more": {"type": "boolean"}},
}

_OPENAI_MODEL = {"type": "object", "properties": {
    "id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"},
    "owned_by": {"type": "string"}}, "required": ["id", "object", "created", "owned_by"]}
_OPENAI_USAGE = {"type": "object", "properties": {
    "prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"},
    "total_tokens": {"type": "integer"}}}
_OPENAI_COMPLETION = {"type": "object", "properties": {
    "id": {"type": "string"}, "object": {"const": "chat.completion"},
    "created": {"type": "integer"}, "model": {"type": "string"},
    "choices": {"type": "array", "items": {"type": "object", "properties": {
        "index": {"type": "integer"},
        "message": {"type": "object", "properties": {
            "role": {"const": "assistant"}, "content": _NULLABLE_STR,
            "reasoning_content": {"type": "string"},
            "tool_calls": {"type": "array", "items": {"type": "object"}}}},
        "finish_reason": {"enum": ["stop", "length", "tool_calls", "content_filter"]}}}},
    "usage": _OPENAI_USAGE}, "required": ["id", "object", "choices", "usage"]}
_OPENAI_STREAM: dict[str, Any] = {
    "description": "With `stream: true`: `chat.completion.chunk` events as OpenAI sends them "
    "(`delta.content`, `delta.reasoning_content`, `delta.tool_calls` by index), a last "
    "chunk with `finish_reason`, with `stream_options.include_usage` one more with empty "
    "`choices` and `usage`, then `data: [DONE]`; a failure midway is a `data: {\"error\"}` "
    "chunk that ends the stream.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}

PATHS: dict[str, dict] = {
    "/api/health": {
        "get": {"summary": "Liveness and version; needs no token.", "security": [],
                "responses": {"200": _json({"type": "object", "properties": {
                    "status": {"const": "ok"}, "version": {"type": "string"}}})}},
    },
    "/api/models": {
        "get": {"summary": "Models of every provider, and each provider's status.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "models": {"type": "array", "items": _ref("Model")},
                    "providers": {"type": "array", "items": _ref("ProviderStatus")},
                    "default_model": _NULLABLE_STR}})}},
    },
    "/v1/models": {
        "get": {"summary": "OpenAI-compatible: the model ids of `/api/models`.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "object": {"const": "list"},
                    "data": {"type": "array", "items": _OPENAI_MODEL}},
                    "required": ["object", "data"]})}},
    },
    "/v1/models/{model_id}": {
        "get": {"summary": "OpenAI-compatible: one model (its id may hold slashes).",
                "parameters": [_id_param("model_id")],
                "responses": {"200": _json(_OPENAI_MODEL), "404": ERROR}},
    },
    "/v1/chat/completions": {
        "post": {"summary": "OpenAI-compatible Chat Completions on any model of `/api/models`; "
                 "kept as a chat unless `store` is false or the caller's key says not to. "
                 "Errors carry OpenAI's `type` and `param` besides `code` and `message`.",
                 "requestBody": _body({"type": "object", "properties": {
                     "model": {"type": "string"},
                     "messages": {"type": "array", "items": {"type": "object"}},
                     "stream": {"type": "boolean"}, "store": {"type": "boolean"},
                     "stream_options": {"type": "object"},
                     "tools": {"type": "array", "items": {"type": "object"}},
                     "tool_choice": {"enum": ["auto", "none"]},
                     "temperature": {"type": "number"}, "top_p": {"type": "number"},
                     "max_tokens": {"type": "integer"},
                     "max_completion_tokens": {"type": "integer"},
                     "seed": {"type": "integer"},
                     "stop": {"type": ["string", "array"]},
                     "presence_penalty": {"type": "number"},
                     "frequency_penalty": {"type": "number"},
                     "reasoning_effort": {"enum": ["minimal", "low", "medium", "high"]}},
                     "required": ["model", "messages"]}),
                 "responses": {"200": {**_json(_OPENAI_COMPLETION), "content": {
                     **_json(_OPENAI_COMPLETION)["content"], **_OPENAI_STREAM["content"]},
                     "description": _OPENAI_STREAM["description"]},
                     "400": ERROR, "404": ERROR, "429": ERROR, "502": ERROR}},
    },
    "/api/settings": {
        "get": {"summary": "The settings (API keys masked), the file's path and any problem.",
                "responses": {"200": _json(_ref("Settings"))}},
        "patch": {"summary": "Change settings; written to the file keeping its comments.",
                  "requestBody": _body({"type": "object"}),
                  "responses": {"200": _json(_ref("Settings")), "422": ERROR, "409": ERROR}},
    },
    "/api/settings/keys": {
        "get": {"summary": "Where a new API key would be kept: `keychain` (usable or not, "
                "`keychain_name`, `reason` when not), and `file_keys`, how many keys the "
                "settings file holds.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "keychain": {"type": "boolean"}, "keychain_name": {"type": "string"},
                    "reason": {"type": ["string", "null"]}, "file_keys": {"type": "integer"}},
                    "required": ["keychain", "keychain_name", "reason", "file_keys"]})}},
    },
    "/api/settings/keys/move": {
        "post": {"summary": "Move every API key of the settings file to the keychain; "
                 "`moved` says how many, `message` what happened, with the settings after.",
                 "responses": {"200": _json({"type": "object", "properties": {
                     "moved": {"type": "integer"}, "message": {"type": "string"},
                     "path": {"type": "string"}, "settings": {"type": "object"}},
                     "required": ["moved", "message", "settings"]}),
                     "409": ERROR}},
    },
    "/api/providers/test": {
        "post": {"summary": "Try a provider entry (as in `[[providers]]`) before saving it; an "
                 "entry without `api_key` uses the stored key of the provider with its id, "
                 "only at that provider's saved address.",
                 "requestBody": _body({"type": "object", "properties": {
                     "id": {"type": "string"},
                     "kind": {"enum": ["ollama", "openai", "anthropic", "gemini"]},
                     "base_url": {"type": "string"}, "api_key": {"type": "string"},
                     "api_key_env": {"type": "string"}, "headers": {"type": "object"},
                     "models": {"type": "array", "items": {"type": "string"}}},
                     "required": ["id", "kind"]}),
                 "responses": {"200": _json(_ref("ProviderCheck")), "422": ERROR}},
    },
    "/api/tools": {
        "get": {"summary": "Every tool source (the built-in tools, each MCP server) with its "
                "status and tools; starts no server.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "sources": {"type": "array", "items": _ref("ToolSource")}},
                    "required": ["sources"]})}},
    },
    "/api/tools/servers/{server_id}/start": {
        "post": {"summary": "Start a configured MCP server now (one that failed is tried "
                 "again) to see its tools; a failure is in the answer's `message`.",
                 "parameters": [_id_param("server_id")],
                 "responses": {"200": _json(_ref("ToolSource")), "404": ERROR}},
    },
    "/api/tools/servers/test": {
        "post": {"summary": "Try an MCP server entry (as in `[[mcp_servers]]`) before saving "
                 "it: start it, list its tools, stop it. Masked env and header values mean "
                 "those stored for the server with its id, if it reaches the same command or "
                 "address.",
                 "requestBody": _body({"type": "object", "properties": {
                     "id": {"type": "string"}, "command": {"type": "string"},
                     "args": {"type": "array", "items": {"type": "string"}},
                     "env": {"type": "object"}, "url": {"type": "string"},
                     "headers": {"type": "object"}, "enabled": {"type": "boolean"},
                     "approval": {"enum": ["ask", "always", "never"]},
                     "tools": {"type": "object"}, "timeout": {"type": "number"}},
                     "required": ["id"]}),
                 "responses": {"200": _json(_ref("McpServerCheck")), "422": ERROR}},
    },
    "/api/options": {
        "get": {"summary": "The model options a chat can set (bounds, steps, help), the "
                "presets, and the settings' global and per-model defaults.",
                "responses": {"200": _json(_ref("OptionChoices"))}},
    },
    "/api/sessions": {
        "get": {"summary": "Chats: pinned first, then newest first.",
                "parameters": [_query("q", {"type": "string"}, "Filter by title."),
                               _query("limit", _COUNT, "At most this many.")],
                "responses": {"200": _json({"type": "object", "properties": {
                    "sessions": {"type": "array", "items": _ref("Session")}}})}},
        "post": {"summary": "Create a chat.", "requestBody": _body(_ref("SessionInput"), False),
                 "responses": {"201": _json(_ref("Session"), "Created"), "404": ERROR,
                               "422": ERROR}},
    },
    "/api/sessions/{session_id}": {
        "parameters": [_id_param("session_id")],
        "get": {"summary": "One chat.", "responses": {"200": _json(_ref("Session")),
                                                      "404": ERROR}},
        "patch": {"summary": "Rename, pin, choose model or role, set system prompt, draft, "
                  "Plan Mode or the chat's model options.",
                  "requestBody": _body(_ref("SessionInput")),
                  "responses": {"200": _json(_ref("Session")), "404": ERROR, "422": ERROR}},
        "delete": {"summary": "Delete a chat with its messages.",
                   "responses": {"204": NO_CONTENT, "404": ERROR}},
    },
    "/api/sessions/{session_id}/context": {
        "parameters": [_id_param("session_id")],
        "get": {"summary": "The context meter: the model's window and what the branch on screen "
                           "plus the text being typed would take of it. Asks no provider while "
                           "the model's facts are known.",
                "parameters": [
                    _query("chars", {"type": "integer", "minimum": 0},
                           "Characters of the text being typed."),
                    _query("model", {"type": "string"},
                           "The model the next message goes to; default: the chat's."),
                ],
                "responses": {"200": _json(_ref("ContextMeter")), "404": ERROR}},
    },
    "/api/sessions/{session_id}/summaries/{message_id}": {
        "parameters": [_id_param("session_id"), _id_param("message_id")],
        "get": {"summary": "The summary that stands for the chat's messages up to this one "
                           "(a reply's `meta.context.summary_until`).",
                "responses": {"200": _json(_ref("Summary")), "404": ERROR}},
    },
    "/api/sessions/{session_id}/messages": {
        "parameters": [_id_param("session_id")],
        "get": {"summary": "The current branch, oldest first (newest `limit` before `before`).",
                "parameters": [_query("limit", _COUNT, "Newest N messages."),
                               _query("before", {"type": "string"}, "A message id: older only.")],
                "responses": {"200": _json(MESSAGE_LIST), "404": ERROR}},
    },
    "/api/sessions/{session_id}/chat/stream": {
        "parameters": [_id_param("session_id")],
        "post": {"summary": "Send a message and stream the reply.",
                 "requestBody": _body(_ref("ChatRequest")),
                 "responses": {"200": STREAM, "404": ERROR, "413": ERROR, "422": ERROR,
                               "502": ERROR}},
    },
    "/api/sessions/{session_id}/chat": {
        "parameters": [_id_param("session_id")],
        "post": {"summary": "Send a message and answer the reply as JSON once it ends.",
                 "description": "The body of a streamed send. 200 when the reply ends "
                 "complete, stopped (Stop from elsewhere) or interrupted (shutdown). A reply "
                 "that fails after it started answers with its error's status, the error "
                 "with `message_id`, and the partial reply as saved in `message`.",
                 "requestBody": _body(_ref("ChatRequest")),
                 "responses": {"200": _json({"type": "object", "properties": {
                     "message": _ref("Message")}, "required": ["message"]}),
                     "404": ERROR, "413": ERROR, "422": ERROR, "429": ERROR,
                     "502": _json(_ref("ReplyFailure"), "The model server failed"),
                     "504": _json(_ref("ReplyFailure"), "The model server timed out")}},
    },
    "/ws/chat/{session_id}": {
        "parameters": [_id_param("session_id")],
        "get": {"summary": "A WebSocket for chatting (`Authorization: Bearer` on the upgrade).",
                "description": "Send `{\"message\", ...the fields of a send}`, "
                "`{\"stop\": true}` or `{\"after\": <event id>, \"message_id\"?}`; receive "
                "the stream's events as text frames `{\"event\", \"id\", \"data\"}`. A "
                "frame that cannot be acted on is answered with `{\"event\": \"error\", "
                "\"id\": null, \"data\": {\"code\", \"message\"}}`. An unknown chat "
                "closes with code 4404; shutdown with 1001.",
                "responses": {"101": {"description": "Switching Protocols: the WebSocket."},
                              "426": ERROR}},
    },
    "/api/messages/{message_id}": {
        "parameters": [_id_param("message_id")],
        "get": {"summary": "One message (a live reply shows its newest text).",
                "responses": {"200": _json(_ref("Message")), "404": ERROR}},
    },
    "/api/messages/{message_id}/events": {
        "parameters": [_id_param("message_id"),
                       _query("after", {"type": "integer", "minimum": 0, "maximum": 10**9},
                              "Replay events after this id.")],
        "get": {"summary": "Re-attach to a reply's stream (or `Last-Event-ID`).",
                "responses": {"200": STREAM, "404": ERROR}},
    },
    "/api/messages/{message_id}/stop": {
        "parameters": [_id_param("message_id")],
        "post": {"summary": "Stop a reply; the partial text is saved as `stopped`.",
                 "responses": {"200": _json({"type": "object", "properties": {
                     "message": _ref("Message")}}), "404": ERROR}},
    },
    "/api/messages/{message_id}/regenerate": {
        "parameters": [_id_param("message_id")],
        "post": {"summary": "A new reply beside this one (a sibling branch).",
                 "requestBody": _body({"type": "object", "properties": {
                     "model": {"type": "string"},
                     "options": {**_OPTIONS, "description": "This reply's options, over the "
                                 "chat's."}}}, False),
                 "responses": {"200": STREAM, "404": ERROR, "422": ERROR, "502": ERROR}},
    },
    "/api/messages/{message_id}/continue": {
        "parameters": [_id_param("message_id")],
        "post": {"summary": "Stream more text into a reply cut short (by its length, Stop, an "
                 "error or a crash): `start` has the reply as it is, the deltas are the new "
                 "text only, the final message holds both.",
                 "responses": {"200": STREAM, "404": ERROR, "409": ERROR, "422": ERROR,
                               "502": ERROR}},
    },
    "/api/messages/{message_id}/tool-calls/{call_id}": {
        "parameters": [_id_param("message_id"), _id_param("call_id")],
        "post": {"summary": "Answer a reply's question about a tool call (a `tool_approval` "
                 "event): allow it, or deny it; `always` also sets the tool's policy to "
                 "`always` in the settings.",
                 "requestBody": _body({"type": "object", "required": ["approve"],
                                       "properties": {"approve": {"type": "boolean"},
                                                      "always": {"type": "boolean"}}}),
                 "responses": {"200": _json({"type": "object", "properties": {
                     "ok": {"type": "boolean"}}}), "404": ERROR, "409": ERROR,
                               "422": ERROR}},
    },
    "/api/messages/{message_id}/siblings": {
        "parameters": [_id_param("message_id")],
        "get": {"summary": "The versions of a message (same parent), oldest first.",
                "responses": {"200": _json(MESSAGE_LIST), "404": ERROR}},
    },
    "/api/messages/{message_id}/select": {
        "parameters": [_id_param("message_id")],
        "post": {"summary": "Show the branch through this message; returns that branch.",
                 "responses": {"200": _json({"type": "object", "properties": {
                     "session": _ref("Session"), "messages": {"type": "array",
                                                              "items": _ref("Message")}}}),
                               "404": ERROR}},
    },
    "/api/roles": {
        "get": {"summary": "Roles ordered by name.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "roles": {"type": "array", "items": _ref("Role")}}})}},
        "post": {"summary": "Create a role.", "requestBody": _body(_ref("RoleInput")),
                 "responses": {"201": _json(_ref("Role"), "Created"), "409": ERROR,
                               "422": ERROR}},
    },
    "/api/roles/{role_id}": {
        "parameters": [_id_param("role_id")],
        "get": {"summary": "One role.", "responses": {"200": _json(_ref("Role")), "404": ERROR}},
        "put": {"summary": "Rename or edit a role.", "requestBody": _body(_ref("RoleInput")),
                "responses": {"200": _json(_ref("Role")), "404": ERROR, "409": ERROR}},
        "delete": {"summary": "Delete a role; chats using it have none.",
                   "responses": {"204": NO_CONTENT, "404": ERROR}},
    },
    "/api/search": {
        "get": {"summary": "Full-text search over finished messages.",
                "parameters": [{"name": "q", "in": "query", "required": True,
                                "schema": {"type": "string"}},
                               _query("limit", {"type": "integer", "minimum": 1, "maximum": 500},
                                      "At most this many (50 unless given).")],
                "responses": {"200": _json({"type": "object", "properties": {
                    "results": {"type": "array", "items": _ref("SearchResult")}}}),
                    "422": ERROR}},
    },
    "/api/sessions/{session_id}/export": {
        "get": {"summary": "The chat's current branch as a file to download.",
                "parameters": [_id_param("session_id"), _query(
                    "format", {"enum": ["markdown", "json"], "default": "markdown"},
                    "Markdown to read, or JSON with every message's fields.")],
                "responses": {"200": {"description": "The file, sent as an attachment.",
                                      "content": {"text/markdown": {}, "application/json": {}}},
                              "404": ERROR, "422": ERROR}},
    },
    "/api/sessions/{session_id}/export/save": {
        "post": {"summary": "Desktop window only: save the export where the user picks in the "
                 "system's Save dialog.",
                 "parameters": [_id_param("session_id")],
                 "requestBody": _body({"type": "object", "properties": {
                     "format": {"enum": ["markdown", "json"], "default": "markdown"}}},
                     required=False),
                 "responses": {"200": _json({"type": "object", "properties": {
                     "saved": {"type": ["string", "null"],
                               "description": "The file written; null when cancelled."}}}),
                     "404": ERROR, "409": ERROR, "422": ERROR}},
    },
    "/api/instance": {
        "get": {"summary": "Whether this OpenChat shows a desktop window.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "window": {"type": "boolean"}}})}},
    },
    "/api/instance/show": {
        "post": {"summary": "Bring this OpenChat's window to the front (a second launch asks).",
                 "responses": {"200": _json({"type": "object", "properties": {
                     "window": {"type": "boolean",
                                "description": "false when this OpenChat has no window."}}})}},
    },
    "/api/keys": {
        "get": {"summary": "Every API key, revoked ones too, oldest first (needs admin).",
                "responses": {"200": _json({"type": "object", "properties": {
                    "keys": {"type": "array", "items": _ref("ApiKey")}},
                    "required": ["keys"]})}},
        "post": {"summary": "Make an API key; the answer holds the key, shown this once.",
                 "requestBody": _body(_ref("ApiKeyInput")),
                 "responses": {"201": _json({"type": "object", "properties": {
                     "key": {"type": "string", "description": "oc_ and 43 characters."},
                     "api_key": _ref("ApiKey")}, "required": ["key", "api_key"]}, "Created"),
                     "409": ERROR}},
    },
    "/api/outbound": {
        "get": {"summary": "The outbound log: every request to another host, newest first.",
                "parameters": [
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                           "At most this many (100 unless given)."),
                    _query("before", {"type": "integer", "minimum": 1},
                           "Only rows older than this `seq` (the previous page's `next`).")],
                "responses": {"200": _json({"type": "object", "properties": {
                    "local_only": {"type": "boolean"},
                    "requests": {"type": "array", "items": _ref("OutboundRequest")},
                    "next": {"type": ["integer", "null"],
                             "description": "`before` for the next page; null: no more."}}}),
                    "422": ERROR}},
        "delete": {"summary": "Empty the outbound log.", "responses": {"204": NO_CONTENT}},
    },
    "/api/keys/{name}": {
        "parameters": [_id_param("name")],
        "delete": {"summary": "Revoke the active key with this name: refused from its next "
                   "request on.", "responses": {"204": {"description": "Revoked."},
                                                  "404": ERROR}},
    },
    "/api/attachments": {
        "post": {"summary": "Upload one file (multipart field `file`); its type is sniffed.",
                 "requestBody": {"required": True, "content": {"multipart/form-data": {
                     "schema": {"type": "object", "properties": {
                         "file": {"type": "string", "format": "binary"}}}}}},
                 "responses": {"201": _json({"allOf": [_ref("Attachment"), {
                     "type": "object", "required": ["note"], "properties": {"note": {
                         "type": ["string", "null"],
                         "description": "When the model gets only part of the file: a "
                         "sentence for the person saying which part and why."}}}]}, "Created"),
                               "413": ERROR,
                               "415": ERROR, "422": ERROR}},
    },
    "/api/attachments/limits": {
        "get": {"summary": "Upload limits, for checking before uploading.",
                "responses": {"200": _json(_ref("AttachmentLimits"))}},
    },
    "/api/attachments/{attachment_id}/save": {
        "post": {"summary": "Desktop window only: save a copy where the user picks in the "
                 "system's Save dialog.",
                 "parameters": [_id_param("attachment_id")],
                 "responses": {"200": _json({"type": "object", "properties": {
                     "saved": {"type": ["string", "null"],
                               "description": "The file written; null when cancelled."}}}),
                     "404": ERROR, "409": ERROR}},
    },
    "/api/attachments/{attachment_id}": {
        "parameters": [_id_param("attachment_id")],
        "get": {"summary": "The file: images inline, other files as a download.",
                "responses": {"200": {"description": "The file's bytes"}, "404": ERROR}},
        "delete": {"summary": "Remove an upload no message carries (409 once sent).",
                   "responses": {"204": NO_CONTENT, "404": ERROR, "409": ERROR}},
    },
    "/api/providers/{provider_id}/models": {
        "parameters": [_id_param("provider_id")],
        "get": {"summary": "An Ollama provider's installed models, with details and whether "
                "each is loaded.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "models": {"type": "array", "items": _ref("LocalModel")}}}),
                    "404": ERROR, "422": ERROR, "502": ERROR}},
    },
    "/api/providers/{provider_id}/models/pull": {
        "parameters": [_id_param("provider_id")],
        "post": {"summary": "Download a model in the background and follow its progress. "
                 "For provider `local` the name is a catalog id, a Hugging Face address "
                 "or `owner/repo[/file.gguf]`; its progress events add `speed` (bytes/s) "
                 "and `seconds_left`.",
                 "requestBody": _body({"type": "object", "properties": {
                     "name": {"type": "string"}}, "required": ["name"],
                     "additionalProperties": False}),
                 "responses": {"200": PULL_STREAM, "404": ERROR, "422": ERROR}},
    },
    "/api/providers/{provider_id}/models/{name}": {
        "parameters": [_id_param("provider_id"), _id_param("name")],
        "delete": {"summary": "Delete an installed model: from Ollama, or the built-in engine's "
                   "model file (409 `bundled_model` for a model that came with the app).",
                   "responses": {"204": NO_CONTENT, "404": ERROR, "409": ERROR, "502": ERROR}},
    },
    "/api/local/engine": {
        "get": {"summary": "The built-in engine: loading, loaded or idle, and its settings in "
                "effect (the machine's defaults filled in).",
                "responses": {"200": _json(_ref("LocalEngine"))}},
    },
    "/api/local/catalog": {
        "get": {"summary": "Models the built-in engine can download, which suits this "
                "machine's memory, and which are downloaded.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "ram": {"type": ["integer", "null"], "description": "This machine's "
                            "memory in bytes."},
                    "recommended": {**_NULLABLE_STR, "description": "The catalog id that "
                                    "fits best; null when only the starter model fits."},
                    "models": {"type": "array", "items": _ref("CatalogEntry")}},
                    "required": ["ram", "recommended", "models"]})}},
    },
    "/api/local/models": {
        "post": {"summary": "Add a GGUF model file to the built-in engine's models folder: "
                 "JSON `{\"path\", \"mode\"}` for a file on this computer (copied, moved or "
                 "linked), or a multipart upload in the field `file` (no size limit of its own: "
                 "streamed to disk, checked against the disk's free space).",
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": {"type": "object", "properties": {
                         "path": {"type": "string", "description": "The file's absolute path."},
                         "mode": {"enum": ["copy", "move", "link"]}},
                         "required": ["path", "mode"], "additionalProperties": False}},
                     "multipart/form-data": {"schema": {"type": "object", "properties": {
                         "file": {"type": "string", "format": "binary"}},
                         "required": ["file"]}}}},
                 "responses": {"201": _json({"type": "object", "properties": {
                     "model": {"oneOf": [_ref("Model"), {"type": "null"}],
                               "description": "The model as `/api/models` lists it; null "
                               "for a vision projector or with the built-in engine off."},
                     "note": {**_NULLABLE_STR, "description": "A sentence for the person, "
                              "when there is something to know."}},
                     "required": ["model", "note"]}, "Created"),
                     "409": ERROR, "422": ERROR, "507": ERROR}},
    },
    "/api/local/models/pick": {
        "post": {"summary": "Desktop window only: the system's Open dialog for a .gguf file.",
                 "responses": {"200": _json({"type": "object", "properties": {
                     "path": {"type": ["string", "null"],
                              "description": "The file chosen; null when cancelled."}},
                     "required": ["path"]}), "409": ERROR}},
    },
    "/api/pulls": {
        "get": {"summary": "Downloads running now or ended in the last ten minutes.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "pulls": {"type": "array", "items": _ref("Pull")}}})}},
    },
    "/api/pulls/{pull_id}/events": {
        "parameters": [_id_param("pull_id")],
        "get": {"summary": "Follow a download again (the current state, then live).",
                "responses": {"200": PULL_STREAM, "404": ERROR}},
    },
    "/api/pulls/{pull_id}/cancel": {
        "parameters": [_id_param("pull_id")],
        "post": {"summary": "Stop a download; Ollama continues from there next time.",
                 "responses": {"200": _json({"type": "object", "properties": {
                     "pull": _ref("Pull")}}), "404": ERROR}},
    },
    "/api/openapi.json": {
        "get": {"summary": "This document.", "responses": {"200": _json({"type": "object"})}},
    },
    "/": {
        "get": {"summary": "The chat page; it keeps `?token=` and sends it as a header.",
                "security": [],
                "parameters": [_query("token", {"type": "string"}, "The launch token.")],
                "responses": {"200": {"description": "HTML"}, "401": ERROR}},
    },
    "/css/highlight.css": {
        "get": {"summary": "Code highlighting styles for the dark and light themes.",
                "security": [], "responses": {"200": {"description": "CSS"}}},
    },
    "/{filename}": {
        "parameters": [{"name": "filename", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "get": {"summary": "Static files of the page (web/).", "security": [],
                "responses": {"200": {"description": "A file"}, "404": ERROR}},
    },
}


METHODS = ("get", "post", "put", "patch", "delete")


def _with_shared_responses(paths: dict[str, dict]) -> dict[str, dict]:
    """Each operation with the answers every route can give, added here once: 422 when the
    address or the JSON body holds text that is not text (server.validation checks them for
    every route), 413 for a body over the size limit, 401 without the token or a valid API key,
    403 for a key whose scope does not allow the route, 429 for a key over its limits."""
    complete: dict[str, dict] = {}
    for path, item in paths.items():
        complete[path] = dict(item)
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            responses = dict(operation["responses"])
            takes_input = bool(item.get("parameters") or operation.get("parameters"))
            if "requestBody" in operation:
                responses.setdefault("413", ERROR)
                takes_input = True
            if takes_input:
                responses.setdefault("422", ERROR)
            if operation.get("security") != []:
                for status in ("401", "403", "429"):
                    responses.setdefault(status, ERROR)
            complete[path][method] = {**operation, "responses": responses}
    return complete


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenChat Desktop", "version": __version__},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": _with_shared_responses(PATHS),
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": _json(_ref("Error"), "An error")},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
