"""A parsed settings file checked into Settings, collecting every problem rather than the first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..providers.base import ProviderConfig
from .model import DEFAULT_OLLAMA_URL, Limits, Settings, Timeouts, ollama_base_url
from .problems import (
    KeyPath,
    _Invalid,
    _invalid_issue,
    _Issue,
    _names,
    _show,
    _unknown_issue,
    key_name,
)
from .schema import (
    _OWN_TIMEOUTS,
    _PROVIDER_KEYS,
    _REQUIRED_EXAMPLES,
    _SECTIONS,
    _TIMEOUTS,
    _TOP_KEYS,
    PROVIDER_SETTINGS,
    SETTINGS,
)


@dataclass(frozen=True)
class _Loaded:
    """Valid settings plus what the file said per provider, which public() shows."""

    settings: Settings
    key_env: tuple[str | None, ...] = ()
    own_timeouts: tuple[dict[str, float], ...] = ()


def _check_document(
    data: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[_Loaded | None, list[_Issue]]:
    """Check a parsed file; the settings are None if any issue is fatal."""
    issues: list[_Issue] = []
    for key in data:
        if key not in _TOP_KEYS:
            issues.append(_unknown_issue((key,), _TOP_KEYS))
    for section in _SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, Mapping):
            issues.append(
                _Issue(
                    (section,),
                    f"{section} is {_show(table)}; write it as a [{section}] "
                    "section with one key per line.",
                )
            )
            continue
        known = [s.name.partition(".")[2] for s in SETTINGS if s.name.startswith(section + ".")]
        issues.extend(_unknown_issue((section, key), known) for key in table if key not in known)

    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.check is None:
            continue
        section, _, name = setting.name.rpartition(".")
        table = data.get(section, {}) if section else data
        if not isinstance(table, Mapping) or name not in table:
            values[setting.name] = setting.default
            continue
        path: KeyPath = (section, name) if section else (name,)
        try:
            values[setting.name] = setting.check(table[name])
        except _Invalid as error:
            issues.append(_invalid_issue(path, table[name], error))

    timeouts = Timeouts(
        connect=values.get("timeouts.connect", _TIMEOUTS.connect),
        first_byte=values.get("timeouts.first_byte", _TIMEOUTS.first_byte),
        idle=values.get("timeouts.idle", _TIMEOUTS.idle),
    )
    providers, key_env, own_timeouts = _check_providers(data, env, timeouts, issues)

    default_model = values.get("default_model")
    if default_model and providers:
        provider_id = default_model.partition("/")[0]
        if provider_id not in {p.id for p in providers}:
            issues.append(
                _Issue(
                    ("default_model",),
                    f'default_model "{default_model}" names the provider "{provider_id}", which '
                    f"is not configured; use one of {_names([p.id for p in providers])}.",
                    fatal=False,
                )
            )
    if any(issue.fatal for issue in issues):
        return None, issues
    settings = Settings(
        default_model=default_model,
        theme=values["theme"],
        providers=providers,
        timeouts=timeouts,
        limits=Limits(
            max_message_chars=values["limits.max_message_chars"],
            max_request_bytes=values["limits.max_request_bytes"],
        ),
    )
    return _Loaded(settings, key_env, own_timeouts), issues


def _check_providers(
    data: Mapping[str, Any], env: Mapping[str, str], timeouts: Timeouts, issues: list[_Issue]
) -> tuple[tuple[ProviderConfig, ...], tuple[str | None, ...], tuple[dict[str, float], ...]]:
    """Check the [[providers]] entries; none at all means the default Ollama."""
    entries = data.get("providers", [])
    if isinstance(entries, Mapping):
        issues.append(
            _Issue(
                ("providers",),
                "providers is a single table; write each provider as its own "
                "[[providers]] section, with two square brackets.",
            )
        )
        return (), (), ()
    if not isinstance(entries, list):
        issues.append(
            _Issue(
                ("providers",),
                f"providers is {_show(entries)}; write each provider as a "
                "[[providers]] section with id, kind and base_url.",
            )
        )
        return (), (), ()
    if not entries:
        ollama = _ollama_entry(env, issues)
        return (ollama,), (None,), ({},)

    configs: list[ProviderConfig] = []
    key_env: list[str | None] = []
    own_timeouts: list[dict[str, float]] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        path: KeyPath = ("providers", index)
        if not isinstance(entry, Mapping):
            issues.append(
                _Issue(
                    path,
                    f"{key_name(path)} is {_show(entry)}; write each provider as a "
                    "[[providers]] section with id, kind and base_url.",
                )
            )
            continue
        checked = _check_provider(entry, path, env, timeouts, issues, strict=False)
        if checked is None:
            continue
        config, env_name, own = checked
        if config.id in first_index:
            issues.append(
                _Issue(
                    path + ("id",),
                    f'{key_name(path + ("id",))} "{config.id}" is already used by '
                    f"providers[{first_index[config.id]}]; give each provider its own id.",
                )
            )
            continue
        first_index[config.id] = index
        configs.append(config)
        key_env.append(env_name)
        own_timeouts.append(own)
    return tuple(configs), tuple(key_env), tuple(own_timeouts)


def _ollama_entry(env: Mapping[str, str], issues: list[_Issue]) -> ProviderConfig:
    """The default provider: Ollama at OLLAMA_HOST, or on this machine."""
    return ProviderConfig(id="ollama", kind="ollama", base_url=_ollama_url(env, issues))


def _ollama_url(env: Mapping[str, str], issues: list[_Issue]) -> str:
    host = env.get("OLLAMA_HOST")
    try:
        return ollama_base_url(host)
    except ValueError:
        issues.append(
            _Issue(
                ("OLLAMA_HOST",),
                f"The OLLAMA_HOST environment variable is {_show(host)}, which is not an address; "
                f"set it to host:port (e.g. 127.0.0.1:11434) or unset it. Using "
                f"{DEFAULT_OLLAMA_URL} meanwhile.",
                fatal=False,
                in_file=False,
            )
        )
        return DEFAULT_OLLAMA_URL


def _check_provider(
    entry: Mapping[str, Any],
    path: KeyPath,
    env: Mapping[str, str],
    timeouts: Timeouts,
    issues: list[_Issue],
    *,
    strict: bool,
) -> tuple[ProviderConfig, str | None, dict[str, float]] | None:
    """Check one provider entry; None if it has a fatal issue. Strict: unknown keys are fatal."""
    found: list[_Issue] = []
    found.extend(
        _unknown_issue(path + (key,), _PROVIDER_KEYS, fatal=strict)
        for key in entry
        if key not in _PROVIDER_KEYS
    )
    values: dict[str, Any] = {}
    for setting in PROVIDER_SETTINGS:
        assert setting.check is not None
        name = setting.name
        if name not in entry:
            if setting.required:
                found.append(
                    _Issue(path, f"{key_name(path)} has no {name}; add {_REQUIRED_EXAMPLES[name]}.")
                )
            continue
        try:
            values[name] = setting.check(entry[name])
        except _Invalid as error:
            found.append(_invalid_issue(path + (name,), entry[name], error))
    if "base_url" not in entry and values.get("kind") == "openai":
        found.append(
            _Issue(
                path,
                f"{key_name(path)} has no base_url; add the endpoint's address, e.g. "
                'base_url = "https://api.openai.com/v1".',
            )
        )
    fatal = any(issue.fatal for issue in found)
    issues.extend(found)
    if fatal:
        return None

    env_name = values.get("api_key_env")
    api_key = values.get("api_key")
    if api_key is None and env_name:
        api_key = (env.get(env_name) or "").strip() or None
        if api_key is None:
            issues.append(
                _Issue(
                    path + ("api_key_env",),
                    f"{key_name(path + ('api_key_env',))} names {env_name}, which is not set in "
                    f"OpenChat's environment; set it and restart OpenChat, or put the key in "
                    f"api_key.",
                    fatal=False,
                )
            )
    base_url = values.get("base_url") or _ollama_url(env, issues)
    own = {name: values[name] for name in _OWN_TIMEOUTS if name in values}
    config = ProviderConfig(
        id=values["id"],
        kind=values["kind"],
        base_url=base_url,
        api_key=api_key,
        models=values.get("models", ()),
        headers=values.get("headers", ()),
        bare_think_models=values.get("bare_think_models", ()),
        connect_timeout=own.get("connect_timeout", timeouts.connect),
        first_byte_timeout=own.get("first_byte_timeout", timeouts.first_byte),
        idle_timeout=own.get("idle_timeout", timeouts.idle),
    )
    return config, env_name, own
