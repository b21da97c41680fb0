"""What the settings page sends: a change, checked as sent and then applied to the tomlkit
document so the user's comments, order and layout survive; or one provider entry to try before
it is saved. Masked secrets sent back mean the stored ones.

A stored secret (`api_key`, the variable `api_key_env` names, a secret-looking header value) is
bound to the address it was saved with: it goes only there. An entry that changes the address
carries only the secrets it sends in the clear itself.

A typed key goes to the keychain when one is usable (the table then says `keychain = true`),
else to the file; a provider of the environment sent back unchanged is not copied into the
file, so its key never is either."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Array, Comment, Table, Whitespace

from ..providers.addresses import same_address
from ..providers.base import ProviderConfig
from ..tools.mcp.config import McpServerConfig
from .environment import unchanged_from_environment
from .errors import SettingsError
from .key_source import VIEW_FIELDS
from .key_storage import KeyChanges, file_only
from .loading import (
    check_mcp_server,
    check_provider,
    mcp_server_config,
    provider_config,
    values_of,
)
from .problems import (
    Invalid,
    Issue,
    KeyPath,
    invalid_issue,
    key_name,
    show_value,
    unknown_issue,
)
from .schema import (
    MCP_SERVER_SETTINGS,
    PROVIDER_SETTINGS,
    SECTION_KEYS,
    SECTIONS,
    SETTINGS,
    SETTINGS_BY_NAME,
    TOP_KEYS,
    Setting,
)
from .values import MASK, Settings, default_ollama_url


def _is_masked(value: Any) -> bool:
    """A masked secret sent back unchanged, as the page received it from public()."""
    return isinstance(value, str) and value.startswith(MASK)


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ()


def check_patch(patch: Any) -> None:
    """Check a change as sent, so errors name its own keys (`providers[0].kind`)."""
    if not isinstance(patch, Mapping):
        raise SettingsError("Send the settings to change as a JSON object.")
    for key, value in patch.items():
        if key not in TOP_KEYS:
            raise _refused(unknown_issue((key,), TOP_KEYS, fatal=True))
        if key == "providers":
            _check_patch_entries(value, PROVIDERS)
        elif key == "mcp_servers":
            _check_patch_entries(value, MCP_SERVERS)
        elif key in SECTIONS:
            known = SECTION_KEYS[key]
            if not isinstance(value, Mapping):
                raise _refused(
                    Issue(
                        (key,),
                        f"{key} is {show_value(value)}; send an object such as "
                        f'{{"{known[0]}": …}}.',
                    )
                )
            for name, item in value.items():
                if name not in known:
                    raise _refused(unknown_issue((key, name), known, fatal=True))
                _check_value(SETTINGS_BY_NAME[f"{key}.{name}"], (key, name), item)
        else:
            _check_value(SETTINGS_BY_NAME[key], (key,), value)


def _check_value(setting: Setting, path: KeyPath, value: Any) -> None:
    if value is None:  # null removes the key: back to the default
        return
    assert setting.check is not None
    try:
        setting.check(value)
    except Invalid as error:
        raise _refused(invalid_issue(path, value, error)) from None


def _refused(issue: Issue) -> SettingsError:
    return SettingsError(issue.text, key=key_name(issue.path))


# What the view adds to a provider, and `keychain`, which only OpenChat sets when it stores a
# key: a change sending them back changes nothing.
_VIEW_ONLY = frozenset({"api_key_set", "keychain", *VIEW_FIELDS})


def _as_written(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A provider from a change as it will be checked: no empty values, no masked secrets."""
    written: dict[str, Any] = {}
    for key, value in entry.items():
        if key in _VIEW_ONLY or _is_empty(value) or (key == "api_key" and _is_masked(value)):
            continue
        if key == "headers" and isinstance(value, Mapping):
            # A masked value is replaced by the stored one, which was checked when it was read.
            value = {name: "stored" if _is_masked(text) else text for name, text in value.items()}
        written[key] = value
    return written


@dataclass(frozen=True)
class EntryList:
    """A list of entries sent whole, each with its own `id`: `providers` or `mcp_servers`."""

    key: str
    what: str  # one entry, in a sentence: "provider", "server"
    fields: str  # what an entry holds at least, in a sentence
    check: Callable[..., dict[str, Any] | None]  # loading's check of one entry
    as_written: Callable[[Mapping[str, Any]], dict[str, Any]]


def _check_patch_entries(value: Any, entries: EntryList) -> None:
    if not isinstance(value, list):
        raise _refused(
            Issue((entries.key,), f"{entries.key} is {show_value(value)}; send a list of "
                                  f"{entries.what}s.")
        )
    seen: dict[str, int] = {}
    for index, entry in enumerate(value):
        path: KeyPath = (entries.key, index)
        if not isinstance(entry, Mapping):
            raise _refused(
                Issue(
                    path,
                    f"{key_name(path)} is {show_value(entry)}; send an object with "
                    f"{entries.fields}.",
                )
            )
        issues: list[Issue] = []
        checked = entries.check(entries.as_written(entry), path, issues, strict=True)
        if checked is None:
            raise _refused(next(issue for issue in issues if issue.fatal))
        entry_id = checked["id"]
        if entry_id in seen:
            id_path = path + ("id",)
            raise _refused(
                Issue(
                    id_path,
                    f'{key_name(id_path)} "{entry_id}" is already used by '
                    f"{entries.key}[{seen[entry_id]}]; give each {entries.what} its own id.",
                )
            )
        seen[entry_id] = index


def apply_patch(
    document: tomlkit.TOMLDocument,
    patch: Mapping[str, Any],
    keys: KeyChanges | None = None,
    environment: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Edit the parsed file in place; only what the change touches is rewritten. `keys`
    collects what the change does to the keychain; `environment` holds the providers the
    environment creates (by id, as written), which are not copied into the file."""
    for setting in SETTINGS:
        if setting.check is not None and "." not in setting.name and setting.name in patch:
            if setting.name in TABLE_LEVELS:
                _put_tables(document, setting.name, patch[setting.name], TABLE_LEVELS[setting.name])
            elif setting.name in document or patch[setting.name] != setting.default:
                # A default the file does not write stays unwritten (`local_only = false`).
                _set(document, setting.name, patch[setting.name], setting.check)
    if "providers" in patch:
        entries = [
            entry
            for entry in patch["providers"]
            if not unchanged_from_environment(_checked(entry), environment or {})
        ]
        _apply_providers(document, entries, keys or file_only())
    if "mcp_servers" in patch:
        _apply_mcp_servers(document, patch["mcp_servers"])
    for section in SECTIONS:
        if section not in patch:
            continue
        table = document.get(section)
        for name, value in patch[section].items():
            if _is_empty(value):  # unset: no key, and no [table] made for it
                if table is not None and name in table:
                    del table[name]
                continue
            if table is None:
                document.append(section, tomlkit.table())
                table = document[section]
            _set(table, name, value, SETTINGS_BY_NAME[f"{section}.{name}"].check)


TABLE_LEVELS = {"options": 1, "fallbacks": 1, "models": 2, "presets": 2}
"""Keys written as [tables]: `[options]` and `[fallbacks]`, and `[models."<id>"]` and
`[presets."<name>"]` one level further down."""


def _put_tables(container: Any, key: str, value: Any, levels: int) -> None:
    """Make a table (and the tables in it, `levels` deep) say what the change says, keeping the
    comments of the keys that stay; a table written inline becomes a [table]."""
    if _is_empty(value):
        if key in container:
            del container[key]
        return
    existing = container.get(key)
    if not isinstance(existing, Table):
        if existing is not None:
            del container[key]
        container.append(key, tomlkit.table(is_super_table=levels > 1))
        existing = container[key]
    for name in [name for name in existing if name not in value]:
        del existing[name]
    for name, item in value.items():
        if levels > 1:
            _put_tables(existing, name, item, levels - 1)
        else:
            _set(existing, name, item)


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same(check: Callable[[Any], Any] | None, stored: Any, value: Any) -> bool:
    """Whether a value means what the file already says (`5` and `5.0`, a trailing `/`)."""
    stored = _plain(stored)
    if check is None:
        return stored == value
    try:
        return check(stored) == check(value)
    except Invalid:
        return False


def _set(container: Any, key: str, value: Any, check: Callable[[Any], Any] | None = None) -> None:
    """Set one key: replace it where it is, or add it after the table's last key. None removes."""
    if _is_empty(value):
        if key in container:
            del container[key]
        return
    if key in container and _same(check, container[key], value):
        return
    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        inline.update(value)
        value = inline
    if key in container:
        container[key] = value
        return
    _insert_key(container, key, value)


def _insert_key(container: Any, key: str, value: Any) -> None:
    """Add a key after the last key of its table, not after the comments that lead into the
    next table (tomlkit would append it below them)."""
    if isinstance(container, Table) and not container.is_super_table():
        body = container.value.body
        trailing = []
        while body and body[-1][0] is None and isinstance(body[-1][1], (Whitespace, Comment)):
            trailing.append(body.pop()[1])
        container.append(key, value)
        for item in reversed(trailing):
            container.value.append(None, item)
        return
    if isinstance(container, Container):
        body = container.body
        end = next(
            (i for i, (k, v) in enumerate(body) if k is not None and isinstance(v, (Table, AoT))),
            len(body),
        )
        last_key = max((i for i in range(end) if body[i][0] is not None), default=None)
        if last_key is not None:
            index = last_key + 1
        else:
            # No keys yet: go after the file's opening comments, before the ones that lead
            # into the first table.
            index = end
            while index > 0 and isinstance(body[index - 1][1], Comment):
                index -= 1
        if index < len(body):
            container._insert_at(index, key, value)
            return
    container[key] = value


def _table_id(table: Any) -> str | None:
    value = table.get("id") if isinstance(table, Mapping) else None
    return value if isinstance(value, str) else None


def _checked(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """A provider entry of a change (checked already) with its values as the file reads them."""
    return check_provider(_as_written(entry), ("providers",), [], strict=True) or {}


def _apply_providers(
    document: tomlkit.TOMLDocument, entries: list[Mapping[str, Any]], keys: KeyChanges
) -> None:
    """Update provider tables in place by id, append new ones, remove the ones not sent."""
    existing = document.get("providers")
    if not entries:
        if existing is not None:
            for table in existing:
                _forget_keychain_key(table, keys)
            _remove_providers(document)
        return
    gap = False  # whether the first table of a new array needs a blank line above it
    if existing is None:
        so_far = document.as_string()
        gap = bool(so_far.strip()) and not so_far.endswith("\n\n")
        document.append("providers", tomlkit.aot())
        existing = document["providers"]
    # The file was checked before the change: [[providers]] tables, or an inline array of them.
    assert isinstance(existing, (AoT, Array))
    wanted = {entry["id"]: entry for entry in entries}
    present = set()
    for table in existing:
        provider_id = _table_id(table)
        if provider_id in wanted:
            entry = wanted[provider_id]
            if not same_address(_address(table), _address(entry)):
                entry = _moved(table, entry)
            _update_provider(table, entry, keys)
            present.add(provider_id)
    for entry in entries:
        if entry["id"] in present:
            continue
        if isinstance(existing, AoT):
            table = tomlkit.table()
            _update_provider(table, entry, keys)
            if len(existing) == 0 and gap:
                table.trivia.indent = "\n"  # a blank line between the keys above and the table
            _append_table(existing, table)
        else:
            inline = tomlkit.inline_table()
            _update_provider(inline, entry, keys)
            existing.append(inline)
    # Removing last lets a removed table hand its trailing comments to a neighbour that stays.
    for index in reversed(range(len(existing))):
        if _table_id(existing[index]) not in wanted:
            _forget_keychain_key(existing[index], keys)
            _remove_entry(existing, index)


def _address(entry: Mapping[str, Any]) -> str:
    """A provider's address as a file table or a change writes it; none means the default
    Ollama's (only Ollama may leave it out)."""
    written = _plain(entry.get("base_url"))
    return written if isinstance(written, str) and written.strip() else default_ollama_url()


def _moved(table: Any, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The change for a provider that moves to another address: what it stored for the old
    one stays behind (its key, the variable naming its key, its secret header values, which
    come back masked); only what the change sends in the clear goes along."""
    moved = dict(entry)
    if _is_masked(moved.get("api_key")) or "api_key" not in moved:
        moved["api_key"] = None  # removes the stored key
    if moved.get("api_key_env") == _plain(table.get("api_key_env")):
        moved.pop("api_key_env", None)  # the same name sent back: removed like the key
    headers = moved.get("headers")
    if isinstance(headers, Mapping):
        moved["headers"] = {name: v for name, v in headers.items() if not _is_masked(v)}
    return moved


def _forget_keychain_key(table: Any, keys: KeyChanges) -> None:
    """A provider leaving the file takes its keychain key along."""
    provider_id = _table_id(table)
    if provider_id is not None and _plain(table.get("keychain")) is True:
        keys.remove(provider_id)


def _put_key(table: Any, provider_id: str, key: str | None, keys: KeyChanges) -> None:
    """Store a typed key (None: remove the stored one) in the keychain or the file."""
    if key and keys.to_keychain():
        _set(table, "api_key", None)
        _set(table, "keychain", True)
        keys.save(provider_id, key)
        return
    _forget_keychain_key(table, keys)
    _set(table, "keychain", None)
    _set(table, "api_key", key)


def _update_provider(table: Any, entry: Mapping[str, Any], keys: KeyChanges) -> None:
    """Make a provider table say what the entry says; API keys and masked values stay put."""
    for setting in PROVIDER_SETTINGS:
        name = setting.name
        if name == "keychain":
            continue  # only _put_key says where a key is
        if name == "api_key":
            if name in entry and not _is_masked(entry[name]):
                _put_key(table, entry["id"], entry[name] or None, keys)
            continue
        value = entry.get(name)
        if name not in table and value == setting.default:
            continue  # a default the file does not write stays unwritten (attribution = true)
        if name == "headers" and isinstance(value, Mapping):
            stored = _plain(table.get("headers")) or {}
            lowered = {str(k).lower(): v for k, v in stored.items()}
            value = {
                k: (lowered.get(k.lower(), v) if _is_masked(v) else v) for k, v in value.items()
            }
        _set(table, name, value, setting.check)


def _trailing_trivia(table: Table) -> list[Any]:
    """Remove and return the blank lines and comments at the end of a table: they lead into
    whatever follows it."""
    body = table.value.body
    items = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Whitespace, Comment)):
        items.append(body.pop()[1])
    return list(reversed(items))


def _append_table(array: AoT, table: Table) -> None:
    """Append a [[providers]] table after the last one, separated by a blank line, keeping the
    comments that lead into the next section above that section."""
    if len(array) == 0:
        array.append(table)
        return
    last = array[len(array) - 1]
    lead_out = _trailing_trivia(last)
    last.value.append(None, tomlkit.ws("\n"))
    array.append(table)
    for item in lead_out:
        table.value.append(None, item)


def _remove_entry(array: AoT | Array, index: int) -> None:
    """Remove one provider with the comments just above it, keeping those above the next one."""
    if not isinstance(array, AoT):
        del array[index]
        return
    gone = array[index]
    lead_out = _trailing_trivia(gone)
    if index > 0:
        previous = array[index - 1]
        _trailing_trivia(previous)  # the comments that introduced the removed table
        for item in lead_out:
            previous.value.append(None, item)
    elif index + 1 < len(array):
        following = array[index + 1]
        following.trivia.indent = "".join(i.as_string() for i in lead_out) + following.trivia.indent
    del array[index]


def _remove_providers(document: tomlkit.TOMLDocument) -> None:
    """Drop the providers array (no providers means the default Ollama), keeping the comments
    that lead into the table after it."""
    existing = document["providers"]
    lead_out = []
    if isinstance(existing, AoT) and len(existing):
        lead_out = _trailing_trivia(existing[len(existing) - 1])
    items = [item for _, item in document.body]
    position = next((i for i, item in enumerate(items) if item is existing), len(items))
    following = next((item for item in items[position + 1 :] if isinstance(item, Table)), None)
    if following is not None:
        following.trivia.indent = "".join(i.as_string() for i in lead_out) + following.trivia.indent
    del document["providers"]


_ENTRY_PATH = ("provider",)  # how errors name a lone entry: "provider.kind is …"


def provider_from_entry(
    body: Mapping[str, Any], settings: Settings
) -> tuple[ProviderConfig, str | None]:
    """One provider entry as the page sends it (to test a connection before saving), checked
    by the same rules as the file, with a sentence naming the stored secrets it did not get.

    At the address saved for the provider with that id, a key left out or sent back masked
    means the stored key, and masked header values the stored ones. At any other address only
    what the entry sends in the clear goes along: no stored key, no key from the environment.
    Raises SettingsError."""
    issues: list[Issue] = []
    checked = check_provider(_as_written(body), _ENTRY_PATH, issues, strict=True)
    if checked is None:
        fatal = next(issue for issue in issues if issue.fatal)
        raise SettingsError(fatal.text, key=key_name(_ENTRY_PATH))
    config = provider_config(checked, _ENTRY_PATH, values_of(settings), os.environ, issues)
    stored = settings.provider(config.id)
    if stored is not None and same_address(config.base_url, stored.base_url):
        return _with_stored_secrets(config, body, checked, stored), None
    return _without_stored_secrets(config, body, checked, stored)


def _with_stored_secrets(
    config: ProviderConfig,
    body: Mapping[str, Any],
    checked: Mapping[str, Any],
    stored: ProviderConfig,
) -> ProviderConfig:
    """The entry at its saved address: what it sends back masked or leaves out is stored."""
    saved = {name.lower(): value for name, value in stored.headers}
    headers = []
    for name, value in config.headers:
        if _sent_masked(body, name):
            if name.lower() not in saved:
                continue
            value = saved[name.lower()]
        headers.append((name, value))
    config = replace(config, headers=tuple(headers))
    keep_key = "api_key" not in body or _is_masked(body.get("api_key"))
    if keep_key and config.api_key is None and "api_key_env" not in checked:
        config = replace(config, api_key=stored.api_key)
    return config


def _without_stored_secrets(
    config: ProviderConfig,
    body: Mapping[str, Any],
    checked: Mapping[str, Any],
    stored: ProviderConfig | None,
) -> tuple[ProviderConfig, str | None]:
    """The entry at another address (or a new one): only the secrets it sends in the clear,
    and a sentence naming the ones left out."""
    saved = {name.lower() for name, _ in stored.headers} if stored else set()
    headers = []
    left_out = []
    for name, value in config.headers:
        if not _sent_masked(body, name):
            headers.append((name, value))
        elif name.lower() in saved:
            left_out.append(f"the stored value of the {name} header")
    typed = checked.get("api_key")  # a key in the clear; None if left out, masked or ""
    notes = []
    if typed is None and config.api_key is not None:  # read from api_key_env
        notes.append(
            f"The key from {checked['api_key_env']} was not sent: a key from the environment "
            "goes only to the address saved with it. Save the provider, then test it."
        )
    elif "api_key" not in body or _is_masked(body["api_key"]):
        if stored is not None and stored.api_key:
            left_out.insert(0, "the stored key")
    if left_out:
        notes.insert(0, _left_out_sentence(left_out))
    config = replace(config, api_key=typed, headers=tuple(headers))
    return config, " ".join(notes) or None


def _sent_masked(body: Mapping[str, Any], header: str) -> bool:
    """Whether the entry sent this header's value back masked, meaning the stored one."""
    headers = body.get("headers")
    return isinstance(headers, Mapping) and _is_masked(headers.get(header))


def _left_out_sentence(left_out: list[str]) -> str:
    """`The stored key and the stored value of the X-Api-Key header were not sent: …`"""
    if len(left_out) == 1:
        listed, were, them = left_out[0], "was", "it"
    else:
        listed, were, them = ", ".join(left_out[:-1]) + " and " + left_out[-1], "were", "them"
    return (
        f"{listed[0].upper()}{listed[1:]} {were} not sent: the address changed, so enter {them} "
        f"again to test with {them}."
    )


# [[mcp_servers]]: entries are sent whole, by id; a value sent back masked (an env or header
# value that looks secret) means the stored one, as long as the entry still reaches the same
# command or address: a secret never follows a server somewhere else.

_SECRET_TABLES = ("env", "headers")


def _mcp_as_written(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as it will be checked: no empty values, masked values standing for stored
    ones (checked when they were read)."""
    written: dict[str, Any] = {}
    for key, value in entry.items():
        if _is_empty(value):
            continue
        if key in _SECRET_TABLES and isinstance(value, Mapping):
            value = {name: "stored" if _is_masked(text) else text for name, text in value.items()}
        written[key] = value
    return written


def _reaches(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """What an entry runs or connects to: a secret stored for it goes there only."""
    return tuple(_plain(entry.get(key)) or None for key in ("command", "args", "url"))


def _with_stored_values(
    entry: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The entry with masked values replaced by the stored ones (or left out when the entry
    reaches something else now)."""
    resolved = dict(entry)
    same = stored is not None and _reaches(stored) == _reaches(entry)
    for key in _SECRET_TABLES:
        table = entry.get(key)
        if not isinstance(table, Mapping):
            continue
        kept = _plain(stored.get(key)) if same and stored is not None else None
        kept = kept if isinstance(kept, Mapping) else {}
        resolved[key] = {
            name: kept[name] if _is_masked(text) else text
            for name, text in table.items()
            if not _is_masked(text) or name in kept
        }
    return resolved


def _apply_mcp_servers(document: tomlkit.TOMLDocument, entries: list[Mapping[str, Any]]) -> None:
    """Update server tables in place by id, append new ones, remove the ones not sent."""
    existing = document.get("mcp_servers")
    if not entries:
        if existing is not None:
            del document["mcp_servers"]
        return
    if existing is None:
        document.append("mcp_servers", tomlkit.aot())
        existing = document["mcp_servers"]
    assert isinstance(existing, (AoT, Array))
    wanted = {entry["id"]: entry for entry in entries}
    present = set()
    for table in existing:
        server_id = _table_id(table)
        if server_id in wanted:
            _update_mcp_server(table, _with_stored_values(wanted[server_id], table))
            present.add(server_id)
    for entry in entries:
        if entry["id"] in present:
            continue
        resolved = _with_stored_values(entry, None)
        if isinstance(existing, AoT):
            table = tomlkit.table()
            _update_mcp_server(table, resolved)
            _append_table(existing, table)
        else:
            inline = tomlkit.inline_table()
            _update_mcp_server(inline, resolved)
            existing.append(inline)
    # A table the file has but the page never saw (one left out for a mistake) stays for the
    # person to fix: only servers in use are removed by leaving them out.
    for index in reversed(range(len(existing))):
        if _table_id(existing[index]) not in wanted and _in_use(existing[index]):
            _remove_entry(existing, index)


def _in_use(table: Any) -> bool:
    return check_mcp_server(_plain(table), ("mcp_servers",), [], strict=False) is not None


def _update_mcp_server(table: Any, entry: Mapping[str, Any]) -> None:
    for setting in MCP_SERVER_SETTINGS:
        value = entry.get(setting.name)
        if setting.name not in table and value == setting.default:
            continue  # a default the file does not write stays unwritten
        _set(table, setting.name, value, setting.check)


_MCP_ENTRY_PATH = ("mcp_server",)  # how errors name a lone entry: "mcp_server.url is …"


def mcp_server_from_entry(body: Any, settings: Settings) -> McpServerConfig:
    """One server entry as the page sends it (to test it before saving), checked by the rules
    of the file; masked values mean those stored for the server with that id, when it reaches
    the same command or address. Raises SettingsError."""
    if not isinstance(body, Mapping):
        raise SettingsError("Send the server to test as a JSON object.")
    issues: list[Issue] = []
    checked = check_mcp_server(_mcp_as_written(body), _MCP_ENTRY_PATH, issues, strict=True)
    if checked is None:
        fatal = next(issue for issue in issues if issue.fatal)
        raise SettingsError(fatal.text, key=key_name(_MCP_ENTRY_PATH))
    stored = next((s for s in settings.mcp_servers if s.id == checked["id"]), None)
    stored_entry = (
        {
            "command": stored.command,
            "args": list(stored.args),
            "url": stored.url,
            "env": dict(stored.env),
            "headers": dict(stored.headers),
        }
        if stored is not None
        else None
    )
    resolved = _with_stored_values({**checked, **_secret_tables(body)}, stored_entry)
    for key in _SECRET_TABLES:
        if key in resolved:
            resolved[key] = tuple(resolved[key].items())
    return mcp_server_config(resolved)


def _secret_tables(body: Mapping[str, Any]) -> dict[str, Any]:
    """The env and headers tables as sent, masked values included."""
    return {key: dict(body[key]) for key in _SECRET_TABLES if isinstance(body.get(key), Mapping)}


PROVIDERS = EntryList("providers", "provider", "id, kind and base_url", check_provider, _as_written)
MCP_SERVERS = EntryList(
    "mcp_servers", "server", "id and command or url", check_mcp_server, _mcp_as_written
)
