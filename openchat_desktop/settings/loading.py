"""A parsed settings file turned into the settings object and the view the settings API shows,
both by walking the table of keys; every problem is collected, not just the first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..providers.addresses import address_refusal
from ..providers.base import ProviderConfig
from ..providers.redaction import remember_credentials
from ..tools.base import BUILTIN
from ..tools.mcp.config import McpServerConfig
from .environment import ProviderEntry, with_environment
from .errors import KeychainFailed
from .key_source import ENVIRONMENT, FILE, KEYCHAIN, NO_KEY, KeySource
from .keychain import read_key
from .problems import (
    Invalid,
    Issue,
    KeyPath,
    invalid_issue,
    key_name,
    quoted_names,
    show_value,
    unknown_issue,
)
from .schema import (
    MCP_SERVER_KEYS,
    MCP_SERVER_SETTINGS,
    PROVIDER_KEYS,
    PROVIDER_SETTINGS,
    SECTION_KEYS,
    SECTIONS,
    SETTINGS,
    TOP_KEYS,
    fallback_warnings,
)
from .values import (
    DEFAULT_OLLAMA_URL,
    LOCAL_ID,
    LOCAL_KIND,
    VENDOR_URLS,
    Settings,
    ollama_base_url,
)

# A provider key without a field of its own (api_key_env) only says where a value comes from.
_CONFIG_FIELDS = frozenset(item.name for item in fields(ProviderConfig))


@dataclass(frozen=True)
class LoadedSettings:
    """Valid settings plus each provider's keys as the file writes them: the view shows those
    where the settings in force would not say (api_key_env, a timeout left to the app-wide one)."""

    settings: Settings
    written: tuple[Mapping[str, Any], ...]  # one per provider: its checked values by key
    sources: tuple[KeySource, ...] = ()  # one per provider; none read yet: no keys at all

    def key_sources(self) -> dict[str, KeySource]:
        """Where each provider's key comes from, by provider id."""
        sources = self.sources or tuple(NO_KEY for _ in self.settings.providers)
        return {p.id: s for p, s in zip(self.settings.providers, sources, strict=True)}

    def environment(self) -> dict[str, Mapping[str, Any]]:
        """The providers the environment creates, as written entries by id."""
        return {
            config.id: written
            for config, written in zip(self.settings.providers, self.written, strict=True)
            if self.key_sources()[config.id].created
        }

    def public(self) -> dict[str, Any]:
        """The settings as the settings API shows them, secrets masked."""
        view: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.check is None:
                continue  # the providers, shown last, entry by entry
            section, _, key = setting.name.rpartition(".")
            table = view.setdefault(section, {}) if section else view
            table.update(setting.shown(key, _value(self.settings, setting.name)))
        sources = self.key_sources()
        view["providers"] = [
            {**_provider_view(config, written), **sources[config.id].public()}
            for config, written in zip(self.settings.providers, self.written, strict=True)
        ]
        view["mcp_servers"] = [mcp_server_view(server) for server in self.settings.mcp_servers]
        return view


def values_of(settings: Settings) -> dict[str, Any]:
    """The app-wide settings by their names in the table (`timeouts.connect`)."""
    return {s.name: _value(settings, s.name) for s in SETTINGS if s.check is not None}


def _value(settings: Settings, name: str) -> Any:
    value: Any = settings
    for part in name.split("."):
        value = getattr(value, part)
    return value


def _settings_from(
    values: Mapping[str, Any],
    providers: tuple[ProviderConfig, ...],
    mcp_servers: tuple[McpServerConfig, ...],
) -> Settings:
    """Each value goes to the field its name says: `timeouts.connect` to settings.timeouts."""
    top: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        section, _, key = name.rpartition(".")
        if section:
            tables.setdefault(section, {})[key] = value
        else:
            top[key] = value
    settings = Settings(providers=providers, mcp_servers=mcp_servers, **top)
    return replace(
        settings,
        **{
            section: replace(getattr(settings, section), **keys) for section, keys in tables.items()
        },
    )


def _provider_view(config: ProviderConfig, written: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for setting in PROVIDER_SETTINGS:
        if setting.inherits or setting.name not in _CONFIG_FIELDS:
            # As the file says, so the page does not save an inherited value into the entry.
            value = written.get(setting.name)
        else:
            value = getattr(config, setting.name)
        view.update(setting.shown(setting.name, value))
    return view


def check_document(
    data: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[LoadedSettings | None, list[Issue]]:
    """Check a parsed file; the settings are None if any issue is fatal."""
    issues: list[Issue] = []
    for key in data:
        if key not in TOP_KEYS:
            issues.append(unknown_issue((key,), TOP_KEYS))
    for section in SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, Mapping):
            issues.append(
                Issue(
                    (section,),
                    f"{section} is {show_value(table)}; write it as a [{section}] "
                    "section with one key per line.",
                )
            )
            continue
        known = SECTION_KEYS[section]
        issues.extend(unknown_issue((section, key), known) for key in table if key not in known)

    values: dict[str, Any] = {}  # every app-wide key: a rejected or missing one has its default
    for setting in SETTINGS:
        if setting.check is None:
            continue
        section, _, name = setting.name.rpartition(".")
        table = data.get(section, {}) if section else data
        values[setting.name] = setting.default
        if not isinstance(table, Mapping) or name not in table:
            continue
        path: KeyPath = (section, name) if section else (name,)
        try:
            values[setting.name] = setting.check(table[name])
        except Invalid as error:
            issues.append(invalid_issue(path, table[name], error))

    entries = with_environment(
        _check_providers(data, env, values, issues),
        env,
        lambda entry: provider_config(entry, ("providers",), values, env, issues),
        issues,
    )
    providers = tuple(config for config, _, _ in entries)
    mcp_servers = _check_mcp_servers(data, issues)

    default_model = values["default_model"]
    if default_model and providers:
        provider_id = default_model.partition("/")[0]
        if provider_id not in {p.id for p in providers}:
            issues.append(
                Issue(
                    ("default_model",),
                    f'default_model "{default_model}" names the provider "{provider_id}", which '
                    f"is not configured; use one of {quoted_names([p.id for p in providers])}.",
                    fatal=False,
                )
            )
    if providers:
        issues.extend(fallback_warnings(values["fallbacks"], {p.id for p in providers}))
    if any(issue.fatal for issue in issues):
        return None, issues
    settings = _settings_from(values, providers, mcp_servers)
    written = tuple(entry for _, _, entry in entries)
    return LoadedSettings(settings, written, tuple(source for _, source, _ in entries)), issues


def _check_providers(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    app_values: Mapping[str, Any],
    issues: list[Issue],
) -> list[ProviderEntry]:
    """Check the [[providers]] entries; none at all means the default Ollama and the built-in
    engine."""
    entries = data.get("providers", [])
    if isinstance(entries, Mapping):
        issues.append(
            Issue(
                ("providers",),
                "providers is a single table; write each provider as its own "
                "[[providers]] section, with two square brackets.",
            )
        )
        return []
    if not isinstance(entries, list):
        issues.append(
            Issue(
                ("providers",),
                f"providers is {show_value(entries)}; write each provider as a "
                "[[providers]] section with id, kind and base_url.",
            )
        )
        return []
    if not entries:
        # The default providers are entries like any other: they take the app-wide timeouts.
        defaults = ({"id": "ollama", "kind": "ollama"}, {"id": LOCAL_ID, "kind": LOCAL_KIND})
        return [
            (*provider_with_key(entry, ("providers", index), app_values, env, issues), {})
            for index, entry in enumerate(defaults)
        ]

    found: list[ProviderEntry] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        path: KeyPath = ("providers", index)
        if not isinstance(entry, Mapping):
            issues.append(
                Issue(
                    path,
                    f"{key_name(path)} is {show_value(entry)}; write each provider as a "
                    "[[providers]] section with id, kind and base_url.",
                )
            )
            continue
        checked = check_provider(entry, path, issues, strict=False)
        if checked is None:
            continue
        config, source = provider_with_key(checked, path, app_values, env, issues)
        if config.id in first_index:
            issues.append(
                Issue(
                    path + ("id",),
                    f'{key_name(path + ("id",))} "{config.id}" is already used by '
                    f"providers[{first_index[config.id]}]; give each provider its own id.",
                )
            )
            continue
        first_index[config.id] = index
        found.append((config, source, checked))
    return found


def _ollama_url(env: Mapping[str, str], issues: list[Issue]) -> str:
    """Ollama's address from OLLAMA_HOST, or on this machine."""
    host = env.get("OLLAMA_HOST")
    try:
        url = ollama_base_url(host)
    except ValueError:
        why = ", which is not an address; set it to host:port (e.g. 127.0.0.1:11434) or unset it."
    else:
        refusal = address_refusal(url)
        if refusal is None:
            return url
        why = f"; {refusal}, or unset it."
    issues.append(
        Issue(
            ("OLLAMA_HOST",),
            f"The OLLAMA_HOST environment variable is {show_value(host)}{why} Using "
            f"{DEFAULT_OLLAMA_URL} meanwhile.",
            fatal=False,
            in_file=False,
        )
    )
    return DEFAULT_OLLAMA_URL


def check_provider(
    entry: Mapping[str, Any], path: KeyPath, issues: list[Issue], *, strict: bool
) -> dict[str, Any] | None:
    """Check one provider entry: its checked values by key, or None if an issue is fatal.
    Strict (a change from the page): unknown keys are fatal too."""
    found: list[Issue] = [
        unknown_issue(path + (key,), PROVIDER_KEYS, fatal=strict)
        for key in entry
        if key not in PROVIDER_KEYS
    ]
    values: dict[str, Any] = {}
    for setting in PROVIDER_SETTINGS:
        assert setting.check is not None
        name = setting.name
        if name not in entry:
            if setting.add_if_missing:
                found.append(
                    Issue(path, f"{key_name(path)} has no {name}; add {setting.add_if_missing}.")
                )
            continue
        try:
            values[name] = setting.check(entry[name])
        except Invalid as error:
            found.append(invalid_issue(path + (name,), entry[name], error))
    if "base_url" not in entry and values.get("kind") == "openai":
        found.append(
            Issue(
                path,
                f"{key_name(path)} has no base_url; add the endpoint's address, e.g. "
                'base_url = "https://api.openai.com/v1".',
            )
        )
    issues.extend(found)
    return None if any(issue.fatal for issue in found) else values


def provider_config(
    written: Mapping[str, Any],
    path: KeyPath,
    app_values: Mapping[str, Any],
    env: Mapping[str, str],
    issues: list[Issue],
) -> ProviderConfig:
    """A checked provider entry as it runs: its key from the file, the keychain or
    api_key_env, Ollama's address from OLLAMA_HOST, and the app-wide value of each timeout
    left unset."""
    return provider_with_key(written, path, app_values, env, issues)[0]


def provider_with_key(
    written: Mapping[str, Any],
    path: KeyPath,
    app_values: Mapping[str, Any],
    env: Mapping[str, str],
    issues: list[Issue],
) -> tuple[ProviderConfig, KeySource]:
    """provider_config, and where its key came from. The file's api_key wins, then the
    keychain (`keychain = true`), then the variable api_key_env names."""
    config: dict[str, Any] = {name: v for name, v in written.items() if name in _CONFIG_FIELDS}
    for setting in PROVIDER_SETTINGS:
        if setting.inherits and setting.name not in written:
            config[setting.name] = app_values[setting.inherits]
    source = NO_KEY
    env_name = written.get("api_key_env")
    if written.get("api_key") is not None:
        source = KeySource(FILE)
    elif written.get("keychain"):
        config["api_key"], source = _from_keychain(written["id"])
    elif env_name:
        config["api_key"] = (env.get(env_name) or "").strip() or None
        if config["api_key"] is not None:
            source = KeySource(ENVIRONMENT, env_name)
        else:
            issues.append(
                Issue(
                    path + ("api_key_env",),
                    f"{key_name(path + ('api_key_env',))} names {env_name}, which is not set in "
                    f"OpenChat's environment; set it and restart OpenChat, or put the key in "
                    f"api_key.",
                    fatal=False,
                )
            )
    kind = written.get("kind")
    if kind == LOCAL_KIND:
        config["base_url"] = ""  # the engine manager gives each child its own address
    elif kind in VENDOR_URLS:
        config["base_url"] = written.get("base_url") or VENDOR_URLS[kind]
    else:
        config["base_url"] = written.get("base_url") or _ollama_url(env, issues)
    return ProviderConfig(**config), source


def _from_keychain(provider_id: str) -> tuple[str | None, KeySource]:
    """The provider's key from the keychain; a failure is its status, not the file's problem."""
    try:
        key = read_key(provider_id)
    except KeychainFailed as error:
        return None, KeySource(KEYCHAIN, problem=error.message)
    if key is None:
        return None, KeySource(
            KEYCHAIN,
            problem=f"The keychain has no key for “{provider_id}”; enter the key again in "
            "Settings.",
        )
    return key, KeySource(KEYCHAIN)


# [[mcp_servers]]: an entry that is wrong is left out with a warning; the rest of the file,
# and the other servers, stay in use.


def _check_mcp_servers(data: Mapping[str, Any], issues: list[Issue]) -> tuple[McpServerConfig, ...]:
    entries = data.get("mcp_servers", [])
    if not isinstance(entries, list):
        issues.append(
            Issue(
                ("mcp_servers",),
                f"mcp_servers is {show_value(entries)}; write each server as its own "
                "[[mcp_servers]] section, with two square brackets.",
                fatal=False,
            )
        )
        return ()
    servers: list[McpServerConfig] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        path: KeyPath = ("mcp_servers", index)
        if not isinstance(entry, Mapping):
            issues.append(
                Issue(
                    path,
                    f"{key_name(path)} is {show_value(entry)}; write each server as an "
                    "[[mcp_servers]] section with id and command or url.",
                    fatal=False,
                )
            )
            continue
        found: list[Issue] = []
        checked = check_mcp_server(entry, path, found, strict=False)
        if checked is not None and checked["id"] in first_index:
            found.append(
                Issue(
                    path + ("id",),
                    f'{key_name(path + ("id",))} "{checked["id"]}" is already used by '
                    f"mcp_servers[{first_index[checked['id']]}]; give each server its own id.",
                )
            )
            checked = None
        ignored = " This server is left out until it is fixed." if checked is None else ""
        issues.extend(
            Issue(issue.path, issue.text + (ignored if issue.fatal else ""), fatal=False)
            for issue in found
        )
        if checked is not None:
            first_index[checked["id"]] = index
            servers.append(mcp_server_config(checked))
    return tuple(servers)


def check_mcp_server(
    entry: Mapping[str, Any], path: KeyPath, issues: list[Issue], *, strict: bool
) -> dict[str, Any] | None:
    """Check one [[mcp_servers]] entry: its checked values by key, or None if it cannot be
    used. Strict (a change from the page): unknown keys are fatal too."""
    found: list[Issue] = [
        unknown_issue(path + (key,), MCP_SERVER_KEYS, fatal=strict)
        for key in entry
        if key not in MCP_SERVER_KEYS
    ]
    values: dict[str, Any] = {}
    for setting in MCP_SERVER_SETTINGS:
        assert setting.check is not None
        if setting.name not in entry:
            if setting.add_if_missing:
                missing = f"has no {setting.name}; add {setting.add_if_missing}."
                found.append(Issue(path, f"{key_name(path)} {missing}"))
            continue
        try:
            values[setting.name] = setting.check(entry[setting.name])
        except Invalid as error:
            found.append(invalid_issue(path + (setting.name,), entry[setting.name], error))
    if values.get("id") == BUILTIN:
        found.append(
            Issue(
                path + ("id",),
                f'{key_name(path + ("id",))} "{BUILTIN}" is the name of OpenChat\'s own tools; '
                "choose another id.",
            )
        )
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        found.append(
            Issue(
                path,
                f"{key_name(path)} has both command and url; keep command for a program on this "
                "machine, or url for a server reached over HTTP."
                if has_command
                else f'{key_name(path)} has no command or url; add command = "npx" (a program '
                'on this machine) or url = "http://127.0.0.1:8000/mcp".',
            )
        )
    for key, belongs in (("args", "command"), ("env", "command"), ("headers", "url")):
        if key in entry and belongs not in entry and has_command != has_url:
            found.append(
                Issue(
                    path + (key,),
                    f"{key_name(path + (key,))} is only used with {belongs}; remove it.",
                )
            )
    issues.extend(found)
    return None if any(issue.fatal for issue in found) else values


def mcp_server_config(checked: Mapping[str, Any]) -> McpServerConfig:
    """A checked entry as it runs; its secret-looking values are redacted from logs from now on."""
    remember_credentials(None, [*checked.get("headers", ()), *checked.get("env", ())])
    return McpServerConfig(**checked)


def mcp_server_view(server: McpServerConfig) -> dict[str, Any]:
    """An entry as the settings API shows it, secret-looking values masked."""
    view: dict[str, Any] = {}
    for setting in MCP_SERVER_SETTINGS:
        view.update(setting.shown(setting.name, getattr(server, setting.name)))
    return view
