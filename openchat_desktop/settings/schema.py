"""Every settings key declared once: its check, default and how the settings API shows it.

Loading the file, building the settings object, the settings API's view, saving a change and
docs/settings.md all follow this table; a key added here needs a field of the same name in
`Settings` (or its [table]'s class) or `ProviderConfig`, and a section in docs/settings.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..providers.addresses import address_refusal
from ..tools.base import APPROVALS
from ..tools.mcp.config import DEFAULT_CALL_TIMEOUT
from .problems import HEADER_NAME, Invalid, Issue, KeyPath, quoted_names
from .values import (
    CONTROL_CHARS,
    LOCAL_KIND,
    Chat,
    ContextWindow,
    Limits,
    LocalEngine,
    ModelSettings,
    Serve,
    Timeouts,
    Tools,
    mask_env,
    mask_header,
    mask_secret,
)

THEMES = ("dark", "light", "system")
CONTEXT_POLICIES = ("drop", "summarize")
PROVIDER_KINDS = ("ollama", "openai", "anthropic", "gemini", LOCAL_KIND)

_PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _as_is(name: str, value: Any) -> dict[str, Any]:
    """A value the way JSON has it: tuples become lists."""
    return {name: list(value) if isinstance(value, tuple) else value}


def _write_only(name: str, secret: str | None) -> dict[str, Any]:
    """A secret is write-only: the API says whether it is set and shows at most its end."""
    return {f"{name}_set": secret is not None, name: mask_secret(secret)}


def _flag(name: str, value: bool | None) -> dict[str, Any]:
    """A flag the file may leave out, which then means false."""
    return {name: bool(value)}


def _masked_headers(name: str, headers: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Headers as a table, values that look like credentials masked like API keys."""
    return {name: {header: mask_header(header, value) for header, value in headers}}


@dataclass(frozen=True)
class Setting:
    """One key of the settings file: checked at load, filled into the settings object under
    its own name, shown by the settings API and listed in docs/settings.md."""

    name: str  # as written in the file; "timeouts.connect" lives in the [timeouts] table
    type: str
    default: Any
    help: str
    # None for `providers` only: each entry is checked against PROVIDER_SETTINGS instead.
    check: Callable[[Any], Any] | None = field(default=None, repr=False, compare=False)
    # A required key says what to add when it is missing.
    add_if_missing: str | None = None
    # The app-wide key whose value applies while this provider key is unset.
    inherits: str | None = None
    # How the settings API shows the value, as the fields it adds to the view.
    shown: Callable[[str, Any], dict[str, Any]] = field(default=_as_is, repr=False, compare=False)


def _model_id(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}/\S.*", value):
        return value
    raise Invalid('use "<provider id>/<model name>", e.g. "ollama/llama3.2:3b"')


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value in choices:
            return value
        raise Invalid(f"use {quoted_names(choices)}")

    return check


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # a whole number too long for a float: no usable timeout
            seconds = math.inf
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    raise Invalid("use a number of seconds greater than 0, e.g. 30")


def _positive_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise Invalid("use a whole number greater than 0, without quotes")


def _whole_number(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise Invalid("use a whole number, 0 or more, without quotes")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid("use true or false, without quotes")


def _folder(value: Any) -> str:
    if isinstance(value, str) and value.strip() and not CONTROL_CHARS.search(value):
        return value.strip()
    raise Invalid('use the folder\'s path in quotes, e.g. "/home/me/models"')


def _provider_id(value: Any) -> str:
    if isinstance(value, str) and _PROVIDER_ID.fullmatch(value):
        return value
    raise Invalid(
        'use letters, digits, "-" and "_" only (no "/" or spaces, at most 64), e.g. "my-server"'
    )


def _base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid('use the address in quotes, e.g. "http://127.0.0.1:11434"')
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or CONTROL_CHARS.search(url)
        or " " in url
    ):
        raise Invalid(
            'use a full address starting with http:// or https://, e.g. "http://127.0.0.1:11434"'
        )
    if parts.username is not None or parts.password is not None:
        raise Invalid(
            "remove the user name and password from the address and put the key in api_key",
            show=False,
        )
    if parts.fragment:
        raise Invalid('remove the part from "#" on')
    refusal = address_refusal(url)
    if refusal:
        raise Invalid(refusal)
    return url.rstrip("/")


def _api_key(value: Any) -> str | None:
    if not isinstance(value, str):
        raise Invalid('put the key in quotes, e.g. api_key = "sk-…"', show=False)
    key = value.strip()
    if CONTROL_CHARS.search(key):
        raise Invalid("paste the key again without line breaks or control characters", show=False)
    return key or None


def _env_name(value: Any) -> str:
    if isinstance(value, str) and _ENV_NAME.fullmatch(value):
        return value
    raise Invalid('use the name of an environment variable, e.g. "OPENROUTER_API_KEY"')


def _models(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid('use a list of model names, e.g. ["gpt-4o-mini"]')
    for index, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            raise Invalid("use a model name in quotes", at=(index,), value=name)
    return tuple(dict.fromkeys(name.strip() for name in value))


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise Invalid('use a table of names and values, e.g. { "X-Title" = "OpenChat" }')
    for name, text in value.items():
        if not HEADER_NAME.fullmatch(name):
            raise Invalid("use a header name made of letters, digits and -", at=(name,), value=name)
        if not isinstance(text, str) or CONTROL_CHARS.search(text):
            raise Invalid(
                "use a value in quotes, without line breaks", show=False, at=(name,), value=text
            )
    return tuple((name, text) for name, text in value.items())


def _table(value: Any, example: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise Invalid(f"write it as a table, e.g. {example}")


def _options(value: Any, at: KeyPath = ()) -> dict[str, Any]:
    """A table of model options, by the rules of chat/options.py: the same as a request's."""
    # Imported here: the chat package loads the settings when it loads, so the settings
    # cannot load it in turn.
    from ..chat import options

    table = _table(value, "{ temperature = 0.7 }")
    checked: dict[str, Any] = {}
    for name, item in table.items():
        where = at + (name,)
        if name not in options.SPECS_BY_NAME:
            raise Invalid(f"use {options.unknown_rule()}", at=where, what="is not an option")
        used = options.check_value(name, item)
        if used is None:
            raise Invalid(f"use {options.rule(name)}", at=where, value=item)
        checked[name] = used
    return checked


_MODEL_KEYS = ("options", "context_length")
_PRESET_NAME = re.compile(r"\S(?:[^\x00-\x1f\x7f]{0,38}\S)?")


def _models_table(value: Any) -> dict[str, ModelSettings]:
    models: dict[str, ModelSettings] = {}
    for model_id, entry in _table(value, '[models."ollama/llama3.2"]').items():
        try:
            _model_id(model_id)
        except Invalid as error:
            raise Invalid(error.fix, at=(model_id,), what="is not a model id") from None
        entry = _table(entry, "options = { temperature = 0.7 } and context_length = 8192")
        for key in entry:
            if key not in _MODEL_KEYS:
                raise Invalid(
                    f"a model's table holds {quoted_names(_MODEL_KEYS)}",
                    at=(model_id, key),
                    what="is not a model setting",
                )
        context_length = entry.get("context_length")
        if context_length is not None and not (
            isinstance(context_length, int)
            and not isinstance(context_length, bool)
            and context_length >= 256
        ):
            raise Invalid(
                "use a whole number of tokens, 256 or more, e.g. 8192",
                at=(model_id, "context_length"),
                value=context_length,
            )
        models[model_id] = ModelSettings(
            _options(entry.get("options", {}), (model_id, "options")), context_length
        )
    return models


def _fallbacks_table(value: Any) -> dict[str, tuple[str, ...]]:
    fallbacks: dict[str, tuple[str, ...]] = {}
    example = '"anthropic/claude-sonnet-4-5" = ["gemini/gemini-2.5-flash"]'
    for model_id, listed in _table(value, f"[fallbacks] with {example}").items():
        try:
            _model_id(model_id)
        except Invalid as error:
            raise Invalid(error.fix, at=(model_id,), what="is not a model id") from None
        if not isinstance(listed, list):
            raise Invalid(f"use a list of model ids, e.g. {example}", at=(model_id,),
                          value=listed)
        for index, fallback in enumerate(listed):
            try:
                _model_id(fallback)
            except Invalid as error:
                raise Invalid(error.fix, at=(model_id, index), value=fallback) from None
            if fallback == model_id:
                raise Invalid("leave the model itself out of its fallbacks",
                              at=(model_id, index), value=fallback)
            if fallback in listed[:index]:
                raise Invalid("name each fallback once", at=(model_id, index), value=fallback)
        fallbacks[model_id] = tuple(listed)
    return fallbacks


def fallback_warnings(
    fallbacks: Mapping[str, tuple[str, ...]], provider_ids: set[str]
) -> list[Issue]:
    """A fallback whose provider is not configured is skipped when a reply is sent: a warning,
    as for default_model."""
    issues = []
    for model_id, listed in fallbacks.items():
        for index, fallback in enumerate(listed):
            provider_id = fallback.partition("/")[0]
            if provider_id not in provider_ids:
                issues.append(Issue(
                    ("fallbacks", model_id, index),
                    f'fallbacks "{model_id}" names "{fallback}", whose provider "{provider_id}" '
                    f"is not configured, so it is skipped; use one of "
                    f"{quoted_names(sorted(provider_ids))}.",
                    fatal=False,
                ))
    return issues


def _presets_table(value: Any) -> dict[str, dict[str, Any]]:
    presets: dict[str, dict[str, Any]] = {}
    for name, entry in _table(value, '[presets."Short answers"]').items():
        if not _PRESET_NAME.fullmatch(name):
            raise Invalid("name a preset with 1 to 40 characters", at=(name,), value=name)
        presets[name] = _options(entry, (name,))
    return presets


def _model_tables(name: str, models: Mapping[str, ModelSettings]) -> dict[str, Any]:
    return {
        name: {
            model_id: {"options": dict(model.options), "context_length": model.context_length}
            for model_id, model in models.items()
        }
    }


_TIMEOUTS = Timeouts()
_LIMITS = Limits()
_LOCAL = LocalEngine()
_CONTEXT = ContextWindow()
_CHAT = Chat()
_TOOLS = Tools()
_SERVE = Serve()
_APPROVALS = ("ask", "always", "never")
_TOOL_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}/\S{1,128}")


def _approval_table(value: Any) -> dict[str, str]:
    table = _table(value, '{ "builtin/calculator" = "always" }')
    for key, policy in table.items():
        if not _TOOL_KEY.fullmatch(key):
            raise Invalid('name a tool as "<source>/<tool name>", e.g. "builtin/calculator"',
                          at=(key,), value=key)
        if policy not in _APPROVALS:
            raise Invalid(f"use {quoted_names(_APPROVALS)}", at=(key,), value=policy)
    return dict(table)

# A DNS name or IPv4 address, or an IPv6 address in brackets; then an optional port.
_HOST_NAME = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
)


def _hosts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid('use a list of names in quotes, e.g. ["chat.example.com"]')
    for index, name in enumerate(value):
        match = _HOST_NAME.fullmatch(name) if isinstance(name, str) else None
        port = match.group("port") if match else None
        if match is None or len(name) > 260 or (port is not None and not 0 < int(port) < 65536):
            raise Invalid(
                'use a host name, optionally with its port, without "http://" or a path, e.g. '
                '"chat.example.com" or "chat.example.com:8443"',
                at=(index,), value=name,
            )
    return tuple(dict.fromkeys(name.lower() for name in value))


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "default_model",
        'string "<provider id>/<model name>"',
        None,
        "The model new chats use; unset: the first model the providers list.",
        _model_id,
    ),
    Setting(
        "theme", quoted_names(THEMES), "dark", "The colour theme of the window.", _one_of(THEMES)
    ),
    Setting(
        "local_only",
        "true or false",
        False,
        "Refuse every request to another computer: only this machine's model servers, tool "
        "servers and the built-in engine are used.",
        _boolean,
    ),
    Setting(
        "providers",
        "array of tables",
        "Ollama and the built-in engine",
        "The model servers OpenChat talks to; see the keys below.",
    ),
    Setting(
        "mcp_servers",
        "array of tables",
        "none",
        "MCP servers whose tools chats may use; see the keys below.",
    ),
    Setting(
        "timeouts.connect",
        "number (seconds)",
        _TIMEOUTS.connect,
        "How long to wait for a provider to accept the connection.",
        _seconds,
    ),
    Setting(
        "timeouts.first_byte",
        "number (seconds)",
        _TIMEOUTS.first_byte,
        "How long to wait for the first byte of a reply; a local model may need a minute to load.",
        _seconds,
    ),
    Setting(
        "timeouts.idle",
        "number (seconds)",
        _TIMEOUTS.idle,
        "How long a streaming reply may pause before it counts as broken.",
        _seconds,
    ),
    Setting(
        "limits.max_message_chars",
        "integer",
        _LIMITS.max_message_chars,
        "The longest message, in characters, the server accepts.",
        _positive_int,
    ),
    Setting(
        "limits.max_request_bytes",
        "integer",
        _LIMITS.max_request_bytes,
        "The largest request body, in bytes, the server accepts.",
        _positive_int,
    ),
    Setting(
        "local.models_dir",
        "string (folder)",
        _LOCAL.models_dir,
        "Where the built-in engine finds `<name>.gguf` files; unset: `models` in the data "
        "folder.",
        _folder,
    ),
    Setting(
        "local.threads",
        "integer",
        _LOCAL.threads,
        "The built-in engine's threads; unset: the machine's cores less one, at least 1.",
        _positive_int,
    ),
    Setting(
        "local.context_size",
        "integer (tokens)",
        _LOCAL.context_size,
        "The built-in engine's context window; unset: 4096 (2048 with less than 8 GB of "
        "memory), at most the model's own.",
        _positive_int,
    ),
    Setting(
        "local.batch_size",
        "integer (tokens)",
        _LOCAL.batch_size,
        "How many prompt tokens the built-in engine reads at once; unset: 512.",
        _positive_int,
    ),
    Setting(
        "local.gpu_layers",
        "integer",
        _LOCAL.gpu_layers,
        "How many layers the built-in engine puts on the GPU; unset: all of them when the "
        "engine can use a GPU, else 0.",
        _whole_number,
    ),
    Setting(
        "local.idle_unload",
        "number (seconds)",
        _LOCAL.idle_unload,
        "How long the built-in engine keeps a model loaded after its last reply.",
        _seconds,
    ),
    Setting(
        "local.hub_url",
        "string (http or https URL)",
        _LOCAL.hub_url,
        "Where models are downloaded from: Hugging Face, or a mirror of it.",
        _base_url,
    ),
    Setting(
        "local.hub_token_env",
        "string",
        _LOCAL.hub_token_env,
        "The name of an environment variable holding a Hugging Face token, for gated models; "
        "the token is sent only to the hub's own address.",
        _env_name,
    ),
    Setting(
        "options",
        "table of model options",
        {},
        "The options every chat starts from, e.g. temperature = 0.7; unset: each server's own.",
        _options,
    ),
    Setting(
        "models",
        'tables, one per model id: [models."<model id>"]',
        {},
        "A model's own default options (`options = { … }`) and its window (`context_length`).",
        _models_table,
        shown=_model_tables,
    ),
    Setting(
        "fallbacks",
        'table: "<model id>" = ["<model id>", …]',
        {},
        "The models asked in turn, with the same request, when a model fails before its first "
        "word and retrying did not help; a chat's own list wins.",
        _fallbacks_table,
    ),
    Setting(
        "presets",
        'tables of model options, one per name: [presets."<name>"]',
        {},
        "Your own presets, shown beside Precise, Balanced and Creative.",
        _presets_table,
    ),
    Setting(
        "context.policy",
        quoted_names(CONTEXT_POLICIES),
        _CONTEXT.policy,
        "What happens to the oldest turns of a chat that no longer fits the model's window: "
        "left out, or summarized; a chat's own choice wins.",
        _one_of(CONTEXT_POLICIES),
    ),
    Setting(
        "context.summary_model",
        'string "<provider id>/<model name>"',
        _CONTEXT.summary_model,
        "The model that writes summaries; unset: the chat's model.",
        _model_id,
    ),
    Setting(
        "context.reply_room",
        "integer (tokens)",
        _CONTEXT.reply_room,
        "Tokens of the window kept free for the reply; unset: a quarter of the window, at "
        "most 2048 (a reply's max_tokens wins).",
        _positive_int,
    ),
    Setting(
        "context.max_ollama_context",
        "integer (tokens)",
        _CONTEXT.max_ollama_context,
        "The largest window OpenChat asks Ollama for (num_ctx) unless a chat sets "
        "context_length; a larger window takes more memory.",
        _positive_int,
    ),
    # [chat]
    Setting(
        "chat.auto_title",
        "true or false",
        _CHAT.auto_title,
        "After a chat's first reply, its model writes a short title for it; a title you gave "
        "the chat is never replaced.",
        _boolean,
    ),
    # [tools]
    Setting(
        "tools.max_rounds",
        "integer",
        _TOOLS.max_rounds,
        "How many times one reply may call tools before it is ended with a sentence saying "
        "so.",
        _positive_int,
    ),
    Setting(
        "tools.approval_timeout",
        "number (seconds)",
        _TOOLS.approval_timeout,
        "How long a reply waits for you to allow or deny a tool call; no answer counts as "
        "Deny.",
        _seconds,
    ),
    Setting(
        "tools.approval",
        'table: "<source>/<tool name>" = "ask" | "always" | "never"',
        {},
        "Each tool's approval: ask every time, always run, or never run; unset: ask (an MCP "
        "server's own default for its tools). Always allow in a reply adds the tool here.",
        _approval_table,
    ),
    # [serve]
    Setting(
        "serve.hosts",
        "array of strings",
        _SERVE.hosts,
        "Names besides this machine's own that requests may be addressed to (the Host a "
        "reverse proxy sends, or the name teammates use): a name alone also matches with "
        "OpenChat's port; read on every request.",
        _hosts,
    ),
)

PROVIDER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "id",
        "string",
        None,
        'The name in model ids ("<id>/<model>"): letters, digits, - and _.',
        _provider_id,
        add_if_missing='a line like id = "my-server"',
    ),
    Setting(
        "kind",
        quoted_names(PROVIDER_KINDS),
        None,
        "The wire protocol.",
        _one_of(PROVIDER_KINDS),
        add_if_missing='kind = "ollama" or kind = "openai"',
    ),
    Setting(
        "base_url",
        "string (http or https URL)",
        "OLLAMA_HOST or http://127.0.0.1:11434 for ollama; required for openai; the vendor's "
        "root for anthropic and gemini; none for local",
        "Where the server listens.",
        _base_url,
    ),
    Setting(
        "api_key", "string", None, "The API key, stored in this file.", _api_key, shown=_write_only
    ),
    Setting(
        "api_key_env",
        "string",
        None,
        "The name of an environment variable holding the API key; used when api_key is unset.",
        _env_name,
    ),
    Setting(
        "keychain",
        "boolean",
        False,
        "Whether the API key is kept in the system keychain; set by OpenChat when it saves one.",
        _boolean,
        shown=_flag,
    ),
    Setting(
        "models",
        "array of strings",
        (),
        "Model names listed even if the server lists none.",
        _models,
    ),
    Setting(
        "headers",
        "table of strings",
        {},
        "Extra HTTP headers sent with every request.",
        _headers,
        shown=_masked_headers,
    ),
    Setting(
        "bare_think_models",
        "array of strings",
        (),
        "Model-name patterns whose replies start inside reasoning, ended by a bare </think>.",
        _models,
    ),
    Setting(
        "attribution",
        "true or false",
        True,
        "Send OpenRouter the app's name and site (X-Title, HTTP-Referer) with each request.",
        _boolean,
    ),
    Setting(
        "connect_timeout",
        "number (seconds)",
        None,
        "Overrides timeouts.connect.",
        _seconds,
        inherits="timeouts.connect",
    ),
    Setting(
        "first_byte_timeout",
        "number (seconds)",
        None,
        "Overrides timeouts.first_byte.",
        _seconds,
        inherits="timeouts.first_byte",
    ),
    Setting(
        "idle_timeout",
        "number (seconds)",
        None,
        "Overrides timeouts.idle.",
        _seconds,
        inherits="timeouts.idle",
    ),
)

# [[mcp_servers]]: each entry is checked against MCP_SERVER_SETTINGS, then as a whole
# (loading.check_mcp_server): a command or an address, not both.


def _command(value: Any) -> str:
    if isinstance(value, str) and value.strip() and not CONTROL_CHARS.search(value):
        return value.strip()
    raise Invalid('use the program to run in quotes, e.g. "npx" or "/usr/local/bin/my-server"')


def _arguments(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise Invalid('use a list of arguments in quotes, e.g. ["-y", "some-mcp-server"]')
    for index, item in enumerate(value):
        if not isinstance(item, str) or "\x00" in item:
            raise Invalid("use an argument in quotes", at=(index,), value=item)
    return tuple(value)


def _environment(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise Invalid('use a table of names and values, e.g. { "API_TOKEN" = "…" }')
    for name, text in value.items():
        if not _ENV_NAME.fullmatch(name):
            raise Invalid(
                "use a variable name made of letters, digits and _", at=(name,), value=name
            )
        if not isinstance(text, str) or "\x00" in text:
            raise Invalid("use a value in quotes", show=False, at=(name,), value=text)
    return tuple((name, text) for name, text in value.items())


def _mcp_url(value: Any) -> str:
    if isinstance(value, str) and "@" in urlsplit(value.strip()).netloc:
        raise Invalid(
            "remove the user name and password from the address and send them in headers",
            show=False,
        )
    _base_url(value)  # the rules of any address OpenChat connects to
    return str(value).strip()


def _tool_approvals(value: Any) -> dict[str, str]:
    table = _table(value, '{ "delete_file" = "never" }')
    for name, approval in table.items():
        if approval not in APPROVALS:
            raise Invalid(f"use {quoted_names(APPROVALS)}", at=(name,), value=approval)
    return dict(table)


def _masked_env(name: str, env: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Environment variables as a table, values that look like credentials masked."""
    return {name: {variable: mask_env(variable, value) for variable, value in env}}


MCP_SERVER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "id",
        "string",
        None,
        'The server\'s name in the app: letters, digits, - and _ ("builtin" is taken).',
        _provider_id,
        add_if_missing='a line like id = "files"',
    ),
    Setting(
        "command",
        "string",
        None,
        "The program that runs a stdio server on this machine; or set url.",
        _command,
    ),
    Setting("args", "array of strings", (), "The command's arguments.", _arguments),
    Setting(
        "env",
        "table of strings",
        {},
        "Environment variables for the command, added to a few of OpenChat's own (PATH, HOME).",
        _environment,
        shown=_masked_env,
    ),
    Setting(
        "url",
        "string (http or https URL)",
        None,
        "The address of a streamable HTTP server; or set command.",
        _mcp_url,
    ),
    Setting(
        "headers",
        "table of strings",
        {},
        "HTTP headers sent to the server at url, e.g. Authorization.",
        _headers,
        shown=_masked_headers,
    ),
    Setting("enabled", "true or false", True, "Whether chats may use the server.", _boolean),
    Setting(
        "approval",
        quoted_names(APPROVALS),
        "ask",
        "Whether its tools run after asking you, always, or never.",
        _one_of(APPROVALS),
    ),
    Setting(
        "tools",
        "table of approvals by tool name",
        {},
        "A tool's own approval, instead of the server's.",
        _tool_approvals,
    ),
    Setting(
        "timeout",
        "number (seconds)",
        DEFAULT_CALL_TIMEOUT,
        "How long one tool call may take.",
        _seconds,
    ),
)

MCP_SERVER_KEYS = [s.name for s in MCP_SERVER_SETTINGS]
"""The keys allowed in an [[mcp_servers]] entry."""

SECTIONS = tuple(dict.fromkeys(s.name.partition(".")[0] for s in SETTINGS if "." in s.name))
"""The [tables] of the file, in the order of the table of keys."""

SECTION_KEYS = {
    section: [s.name.partition(".")[2] for s in SETTINGS if s.name.startswith(section + ".")]
    for section in SECTIONS
}
"""The keys of each [table], as written inside it."""

TOP_KEYS = [s.name for s in SETTINGS if "." not in s.name] + list(SECTIONS)
"""The keys allowed at the top of the file, [tables] included."""

PROVIDER_KEYS = [s.name for s in PROVIDER_SETTINGS]
"""The keys allowed in a [[providers]] entry."""

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
"""Each app-wide setting by its name in the table (`timeouts.connect`)."""
