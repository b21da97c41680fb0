"""The settings file: defaults, validation messages, reload, masking and comment-keeping saves."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from pathlib import Path

import pytest

from openchat_desktop.providers.base import ProviderConfig
from openchat_desktop.settings import (
    MCP_SERVER_SETTINGS,
    PROVIDER_SETTINGS,
    SETTINGS,
    Limits,
    Settings,
    SettingsError,
    SettingsStore,
    Timeouts,
    ollama_base_url,
)
from openchat_desktop.settings.key_source import VIEW_FIELDS
from openchat_desktop.settings.schema import SECTIONS
from openchat_desktop.settings.values import Chat, ContextWindow, LocalEngine, Tools

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

FULL = """\
default_model = "openrouter/meta-llama/llama-3.3-70b-instruct"
theme = "light"

[[providers]]
id = "ollama"
kind = "ollama"
base_url = "http://127.0.0.1:11434/"
first_byte_timeout = 600

[[providers]]
id = "openrouter"
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key = "sk-or-v1-0123456789abcdef"
models = ["meta-llama/llama-3.3-70b-instruct", "openai/gpt-4o-mini"]
headers = { "X-Title" = "OpenChat", "HTTP-Referer" = "https://example.org" }
connect_timeout = 2.5
idle_timeout = 30

[timeouts]
connect = 4
first_byte = 200
idle = 90

[limits]
max_message_chars = 5000
max_request_bytes = 65536

[local]
threads = 3
idle_unload = 300
hub_url = "https://hf-mirror.example.org"
hub_token_env = "MY_HF_TOKEN"

[context]
policy = "summarize"
max_ollama_context = 16384

[chat]
auto_title = true

[tools]
max_rounds = 4
approval_timeout = 60.0
approval = { "builtin/calculator" = "always" }
"""

COMMENTED = """\
# My OpenChat settings
default_model = "ollama/llama3.2:3b"  # small and quick

# Local models
[[providers]]
id = "ollama"
kind = "ollama"
base_url = "http://127.0.0.1:11434"   # the default port

# OpenRouter for the big ones
[[providers]]
id = "openrouter"
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key = "sk-or-v1-0123456789abcdef"

# Slow machine
[timeouts]
first_byte = 600  # loading takes a while
"""


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "settings.toml"


def write(path: Path, text: str) -> None:
    """Write a new version of the file with an mtime the store cannot mistake for the last one."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def store_for(path: Path, text: str | None = None) -> SettingsStore:
    if text is not None:
        write(path, text)
    return SettingsStore(path, check_interval=0)


# --- defaults and OLLAMA_HOST ---------------------------------------------------------------


def test_no_file_gives_defaults(path):
    store = store_for(path)
    assert store.problem is None
    assert store.current == Settings(
        default_model=None,
        theme="dark",
        providers=(
            ProviderConfig(id="ollama", kind="ollama", base_url="http://127.0.0.1:11434"),
            ProviderConfig(id="local", kind="local", base_url=""),
        ),
        timeouts=Timeouts(connect=5.0, first_byte=300.0, idle=120.0),
        limits=Limits(max_message_chars=1_000_000, max_request_bytes=12 * 1024 * 1024),
        local=LocalEngine(idle_unload=600.0),
    )
    assert not path.exists()


def test_the_default_ollama_takes_the_app_wide_timeouts(path):
    """A slow machine with no [[providers]]: `[timeouts]` reaches the default providers too."""
    store = store_for(path, "[timeouts]\nfirst_byte = 600\nconnect = 2\n")
    assert store.problem is None
    ollama, local = store.current.providers
    assert (ollama.id, ollama.kind) == ("ollama", "ollama")
    assert (local.id, local.kind) == ("local", "local")
    for provider in (ollama, local):
        assert provider.first_byte_timeout == 600.0
        assert provider.connect_timeout == 2.0


def test_empty_file_and_empty_providers_give_the_default_ollama(path):
    assert store_for(path, "").current == Settings()
    assert store_for(path, "providers = []\n").current.providers == Settings().providers


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:11500", "http://127.0.0.1:11500"),
        (":9999", "http://127.0.0.1:9999"),
        ("192.168.1.5", "http://192.168.1.5:11434"),
        ("gpu-box.lan:8080", "http://gpu-box.lan:8080"),
        ("http://gpu-box.lan", "http://gpu-box.lan:80"),
        ("https://ollama.example.com/base/", "https://ollama.example.com:443/base"),
        ("HTTP://Example.COM:11434", "http://example.com:11434"),
        ("[::]:11434", "http://[::1]:11434"),
        ("[fd12::1]", "http://[fd12::1]:11434"),
    ],
)
def test_ollama_host_forms(path, monkeypatch, host, url):
    assert ollama_base_url(host) == url
    monkeypatch.setenv("OLLAMA_HOST", host)
    store = store_for(path)
    assert store.current.providers[0].base_url == url
    assert store.problem is None


@pytest.mark.parametrize("host", ["ftp://box", "box:notaport", "box:99999", "http://[::1"])
def test_unusable_ollama_host_warns_and_uses_the_default(path, monkeypatch, host):
    with pytest.raises(ValueError):
        ollama_base_url(host)
    monkeypatch.setenv("OLLAMA_HOST", host)
    store = store_for(path)
    assert store.current.providers[0].base_url == "http://127.0.0.1:11434"
    assert store.problem is not None
    assert not store.problem.fatal
    assert store.problem.key == "OLLAMA_HOST"
    assert store.problem.message.startswith("The OLLAMA_HOST environment variable is ")


def test_ollama_provider_without_base_url_follows_ollama_host(path, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:11434")
    store = store_for(path, '[[providers]]\nid = "local"\nkind = "ollama"\n')
    assert store.current.providers[0].base_url == "http://gpu-box:11434"


# --- a valid file ---------------------------------------------------------------------------


def test_full_valid_file(path):
    store = store_for(path, FULL)
    assert store.problem is None
    assert store.current == Settings(
        default_model="openrouter/meta-llama/llama-3.3-70b-instruct",
        theme="light",
        providers=(
            ProviderConfig(
                id="ollama",
                kind="ollama",
                base_url="http://127.0.0.1:11434",
                connect_timeout=4.0,
                first_byte_timeout=600.0,
                idle_timeout=90.0,
            ),
            ProviderConfig(
                id="openrouter",
                kind="openai",
                base_url="https://openrouter.ai/api/v1",
                api_key="sk-or-v1-0123456789abcdef",
                models=("meta-llama/llama-3.3-70b-instruct", "openai/gpt-4o-mini"),
                headers=(("X-Title", "OpenChat"), ("HTTP-Referer", "https://example.org")),
                connect_timeout=2.5,
                first_byte_timeout=200.0,
                idle_timeout=30.0,
            ),
        ),
        timeouts=Timeouts(connect=4.0, first_byte=200.0, idle=90.0),
        limits=Limits(max_message_chars=5000, max_request_bytes=65536),
        local=LocalEngine(threads=3, idle_unload=300.0,
                          hub_url="https://hf-mirror.example.org", hub_token_env="MY_HF_TOKEN"),
        context=ContextWindow(policy="summarize", max_ollama_context=16384),
        chat=Chat(auto_title=True),
        tools=Tools(max_rounds=4, approval_timeout=60.0,
                    approval={"builtin/calculator": "always"}),
    )
    assert store.current.provider("openrouter") is store.current.providers[1]
    assert store.current.provider("missing") is None


def test_api_keys_never_appear_in_repr(path):
    store = store_for(
        path, FULL.replace('"X-Title"', '"Authorization" = "Bearer tok-987654321", "X-Title"')
    )
    text = repr(store.current)
    assert "0123456789abcdef" not in text
    assert "tok-987654321" not in text
    assert "…cdef" in text
    assert "'X-Title', 'OpenChat'" in text


def test_api_key_env_resolution(path, monkeypatch):
    body = '[[providers]]\nid = "groq"\nkind = "openai"\nbase_url = "https://api.groq.com/v1"\n'
    monkeypatch.setenv("GROQ_KEY", "  gsk-from-environment  ")
    store = store_for(path, body + 'api_key_env = "GROQ_KEY"\n')
    assert store.current.providers[0].api_key == "gsk-from-environment"
    assert store.problem is None

    write(path, body + 'api_key_env = "GROQ_KEY"\napi_key = "gsk-in-file"\n')
    assert store.current.providers[0].api_key == "gsk-in-file"

    monkeypatch.delenv("GROQ_KEY")
    write(path, body + 'api_key_env = "GROQ_KEY"\n')
    assert store.current.providers[0].api_key is None
    assert store.problem is not None
    assert not store.problem.fatal
    assert store.problem.line == 5
    assert store.problem.key == "providers[0].api_key_env"
    assert store.problem.message == (
        f"{path} line 5: providers[0].api_key_env names GROQ_KEY, which is not set in "
        "OpenChat's environment; set it and restart OpenChat, or put the key in api_key."
    )


# --- invalid files --------------------------------------------------------------------------

PROVIDER = '[[providers]]\nid = "a"\nkind = "ollama"\n'


@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        (
            'theme = "dark"\n\n[[providers]]\nid = "ollama"\nkind = "ollama"\n\n'
            '[[providers]]\nid = "b"\nkind = "olama"\nbase_url = "http://x"\n',
            9,
            "providers[1].kind",
            'providers[1].kind is "olama"; use "ollama", "openai", "anthropic", "gemini" or '
            '"local".',
        ),
        (
            '# colours\n\ntheme = "blue"\n',
            3,
            "theme",
            'theme is "blue"; use "dark", "light" or "system".',
        ),
        (
            'default_model = "llama3"\n',
            1,
            "default_model",
            'default_model is "llama3"; use "<provider id>/<model name>", e.g. '
            '"ollama/llama3.2:3b".',
        ),
        (
            PROVIDER + '\n[[providers]]\nid = "a"\nkind = "ollama"\n',
            6,
            "providers[1].id",
            'providers[1].id "a" is already used by providers[0]; give each provider its own id.',
        ),
        (
            '[[providers]]\nkind = "ollama"\n',
            1,
            "providers[0]",
            'providers[0] has no id; add a line like id = "my-server".',
        ),
        (
            '[[providers]]\nid = "x"\n',
            1,
            "providers[0]",
            'providers[0] has no kind; add kind = "ollama" or kind = "openai".',
        ),
        (
            '[[providers]]\nid = "x"\nkind = "openai"\n',
            1,
            "providers[0]",
            "providers[0] has no base_url; add the endpoint's address, e.g. "
            'base_url = "https://api.openai.com/v1".',
        ),
        (
            '[[providers]]\nid = "a/b"\nkind = "ollama"\n',
            2,
            "providers[0].id",
            'providers[0].id is "a/b"; use letters, digits, "-" and "_" only (no "/" or spaces, '
            'at most 64), e.g. "my-server".',
        ),
        (
            PROVIDER + 'base_url = "localhost:11434"\n',
            4,
            "providers[0].base_url",
            'providers[0].base_url is "localhost:11434"; use a full address starting with '
            'http:// or https://, e.g. "http://127.0.0.1:11434".',
        ),
        (
            PROVIDER + 'base_url = "https://user:hunter2@example.com/v1"\n',
            4,
            "providers[0].base_url",
            "providers[0].base_url is not usable; remove the user name and password from the "
            "address and put the key in api_key.",
        ),
        (
            PROVIDER + "api_key = 12345\n",
            4,
            "providers[0].api_key",
            'providers[0].api_key is not usable; put the key in quotes, e.g. api_key = "sk-…".',
        ),
        (
            PROVIDER + 'api_key_env = "MY-KEY"\n',
            4,
            "providers[0].api_key_env",
            'providers[0].api_key_env is "MY-KEY"; use the name of an environment variable, e.g. '
            '"OPENROUTER_API_KEY".',
        ),
        (
            PROVIDER + 'models = [\n  "one",\n  2,\n]\n',
            4,
            "providers[0].models[1]",
            "providers[0].models[1] is 2; use a model name in quotes.",
        ),
        (
            PROVIDER + '\n[providers.headers]\n"X Title" = "OpenChat"\n',
            6,
            'providers[0].headers["X Title"]',
            'providers[0].headers["X Title"] is "X Title"; use a header name made of letters, '
            "digits and -.",
        ),
        (
            PROVIDER + "headers = { Authorization = 42 }\n",
            4,
            "providers[0].headers.Authorization",
            "providers[0].headers.Authorization is not usable; use a value in quotes, without "
            "line breaks.",
        ),
        (
            PROVIDER + "idle_timeout = 0\n",
            4,
            "providers[0].idle_timeout",
            "providers[0].idle_timeout is 0; use a number of seconds greater than 0, e.g. 30.",
        ),
        (
            '[providers]\nid = "a"\nkind = "ollama"\n',
            1,
            "providers",
            "providers is a single table; write each provider as its own [[providers]] "
            "section, with two square brackets.",
        ),
        (
            '\n[timeouts]\nconnect = "5"\n',
            3,
            "timeouts.connect",
            'timeouts.connect is "5"; use a number of seconds greater than 0, e.g. 30.',
        ),
        (
            "timeouts.idle = true\n",
            1,
            "timeouts.idle",
            "timeouts.idle is true; use a number of seconds greater than 0, e.g. 30.",
        ),
        (
            "timeouts = 5\n",
            1,
            "timeouts",
            "timeouts is 5; write it as a [timeouts] section with one key per line.",
        ),
        (
            "[limits]\nmax_request_bytes = 1.5\n",
            2,
            "limits.max_request_bytes",
            "limits.max_request_bytes is 1.5; use a whole number greater than 0, without quotes.",
        ),
        (
            'notes = """\n[[providers]]\nkind = 1\n"""\ntheme = 5\n',
            5,
            "theme",
            'theme is 5; use "dark", "light" or "system".',
        ),
    ],
)
def test_invalid_file_is_rejected_with_line_key_and_fix(path, text, line, key, says):
    store = store_for(path, text)
    problem = store.problem
    assert problem is not None
    assert problem.fatal
    assert (problem.line, problem.key) == (line, key)
    assert problem.message == f"{path} line {line}: {says}"
    assert store.current == Settings()


def test_api_key_values_never_appear_in_messages(path):
    store = store_for(path, PROVIDER + 'api_key = "sk-line\\nbreak-123456"\n')
    assert store.problem is not None
    assert "sk-line" not in store.problem.message
    assert store.problem.key == "providers[0].api_key"


@pytest.mark.parametrize(
    ("text", "line", "column", "says"),
    [
        (
            "theme = dark\n",
            1,
            9,
            "this is not valid TOML (Unexpected character: 'd'); "
            'put text in "double quotes", and write one key = value per line.',
        ),
        (
            'theme = "dark"\ntheme = "light"\n',
            2,
            1,
            'this is not valid TOML (Key "theme" already '
            "exists); keep one of the two, since a key or "
            "table may appear only once.",
        ),
        (
            'theme = "dark\n',
            1,
            14,
            "this is not valid TOML (a text value is not closed on its "
            "line); close the text with a quote on the same line, or use "
            '""" for several lines.',
        ),
    ],
)
def test_toml_syntax_errors_name_line_and_column(path, text, line, column, says):
    problem = store_for(path, text).problem
    assert problem is not None
    assert problem.fatal
    assert problem.line == line
    assert problem.message == f"{path} line {line}, column {column}: {says}"


def test_file_that_is_not_utf8(path):
    path.write_bytes(b'# fine\ntheme = "\xff"\n')
    problem = SettingsStore(path).problem
    assert problem is not None
    assert problem.line == 2
    assert problem.message == (
        f"{path} line 2: the file is not UTF-8 text; save it as UTF-8 in your editor."
    )


def test_utf8_bom_is_accepted(path):
    path.write_bytes('\ufefftheme = "light"\n'.encode())
    assert SettingsStore(path).current.theme == "light"


def test_unreadable_file_reports_and_uses_defaults(path):
    path.mkdir()  # opening a folder fails on every system, even for root
    store = SettingsStore(path)
    assert store.current == Settings()
    problem = store.problem
    assert problem is not None
    assert problem.fatal
    assert problem.message.startswith(f"{path} cannot be read (")
    assert problem.message.endswith(
        "check that it is a file you may read, e.g. chmod 600 on Linux and macOS."
    )


def test_unknown_keys_are_warnings_and_the_rest_loads(path):
    store = store_for(
        path, 'themes = "light"\ntheme = "light"\n\n' + PROVIDER + 'api_kee = "sk-123"\n'
    )
    assert store.current.theme == "light"
    assert store.current.providers[0].id == "a"
    problem = store.problem
    assert problem is not None
    assert not problem.fatal
    assert problem.message == (
        f'{path} line 1: themes is not a setting and is ignored; did you mean "theme"?'
    )
    write(path, PROVIDER + 'api_kee = "sk-123"\n')
    assert store.problem is not None
    assert store.problem.message == (
        f"{path} line 4: providers[0].api_kee is not a setting and is ignored; did you mean "
        '"api_key"?'
    )
    assert "sk-123" not in store.problem.message


def test_an_error_is_shown_before_a_warning(path):
    store = store_for(path, 'colour = "red"\ntheme = "red"\n')
    assert store.problem is not None
    assert store.problem.key == "theme"


def test_default_model_of_an_unknown_provider_is_a_warning(path):
    store = store_for(path, 'default_model = "nope/llama3"\n')
    assert store.current.default_model == "nope/llama3"
    assert store.problem is not None
    assert not store.problem.fatal
    assert store.problem.message == (
        f'{path} line 1: default_model "nope/llama3" names the provider "nope", which is not '
        'configured; use one of "ollama" or "local".'
    )


# --- reloading ------------------------------------------------------------------------------


def test_reread_when_the_file_changes(path):
    store = store_for(path, 'theme = "light"\n')
    assert store.current.theme == "light"
    version = store.version
    write(path, 'theme = "system"\n')
    assert store.current.theme == "system"
    assert store.version == version + 1
    assert store.version == version + 1  # reading again changes nothing
    write(path, 'theme = "system"\n# same settings, new comment\n')
    assert store.current.theme == "system"
    assert store.version == version + 1


def test_file_is_checked_at_most_once_per_interval(path):
    clock = [1000.0]
    write(path, 'theme = "light"\n')
    store = SettingsStore(path, check_interval=0.5, clock=lambda: clock[0])
    write(path, 'theme = "system"\n')
    clock[0] += 0.4
    assert store.current.theme == "light"
    clock[0] += 0.2
    assert store.current.theme == "system"


def test_broken_file_keeps_last_good_settings(path):
    store = store_for(path, 'theme = "light"\n')
    version = store.version
    write(path, 'theme = "light\n')
    assert store.current.theme == "light"
    assert store.problem is not None
    assert store.problem.line == 1
    assert store.version == version

    write(path, 'theme = "light"\n[[providers]]\nid = "x"\nkind = "olama"\n')
    assert store.current.theme == "light"
    assert store.current.providers == Settings().providers
    assert store.problem is not None
    assert store.problem.key == "providers[0].kind"

    write(path, 'theme = "system"\n')
    assert store.current.theme == "system"
    assert store.problem is None
    assert store.version == version + 1


def test_deleting_the_file_brings_back_the_defaults(path):
    store = store_for(path, 'theme = "light"\n')
    path.unlink()
    assert store.current == Settings()
    assert store.problem is None


def test_broken_file_at_start_uses_defaults(path):
    store = store_for(path, "[[providers]\n")
    assert store.current == Settings()
    assert store.problem is not None


# --- public() -------------------------------------------------------------------------------


def test_public_masks_keys_and_secret_headers(path, monkeypatch):
    monkeypatch.setenv("SHORT_KEY", "sk-short")
    text = (
        '[[providers]]\nid = "long"\nkind = "openai"\nbase_url = "https://a.example/v1"\n'
        'api_key = "sk-0123456789abcdef"\n'
        'headers = { Authorization = "Bearer 0123456789abcdef", "X-Api-Key" = "k-0123456789", '
        '"X-Auth-Token" = "t", "X-Title" = "OpenChat" }\n\n'
        '[[providers]]\nid = "short"\nkind = "openai"\nbase_url = "https://b.example/v1"\n'
        'api_key_env = "SHORT_KEY"\nmodels = ["m1"]\nidle_timeout = 9\n\n'
        '[[providers]]\nid = "none"\nkind = "ollama"\n'
    )
    store = store_for(path, text)
    public = store.public()
    assert public["path"] == str(path)
    assert public["problem"] is None
    long, short, none = public["settings"]["providers"]
    assert long == {
        "id": "long",
        "kind": "openai",
        "base_url": "https://a.example/v1",
        "models": [],
        "headers": {
            "Authorization": "…cdef",
            "X-Api-Key": "…6789",
            "X-Auth-Token": "…",
            "X-Title": "OpenChat",
        },
        "bare_think_models": [],
        "attribution": True,
        "api_key_env": None,
        "api_key_set": True,
        "api_key": "…cdef",
        "keychain": False,
        "key_place": "file",
        "key_variable": None,
        "from_environment": None,
        "key_problem": None,
        "connect_timeout": None,
        "first_byte_timeout": None,
        "idle_timeout": None,
    }
    assert short["api_key"] == "…"
    assert short["api_key_set"] is True
    assert short["api_key_env"] == "SHORT_KEY"
    assert short["models"] == ["m1"]
    assert short["idle_timeout"] == 9.0
    assert none["api_key"] is None
    assert none["api_key_set"] is False
    assert none["base_url"] == "http://127.0.0.1:11434"
    dumped = json.dumps(public)
    for secret in ("0123456789abcdef", "k-0123456789", "sk-short"):
        assert secret not in dumped
    assert public["settings"]["timeouts"] == {"connect": 5.0, "first_byte": 300.0, "idle": 120.0}
    assert public["settings"]["limits"] == {
        "max_message_chars": 1_000_000,
        "max_request_bytes": 12 * 1024 * 1024,
    }


def test_public_reports_the_problem(path):
    store = store_for(path, 'theme = "blue"\n')
    assert store.public()["problem"] == {
        "message": f'{path} line 1: theme is "blue"; use "dark", "light" or "system".',
        "line": 1,
        "key": "theme",
        "fatal": True,
    }


# --- update() -------------------------------------------------------------------------------


def test_update_preserves_comments_and_order(path):
    store = store_for(path, COMMENTED)
    store.update(
        {
            "theme": "light",
            "timeouts": {"idle": 60},
            "providers": [
                {"id": "ollama", "kind": "ollama", "base_url": "http://127.0.0.1:11500"},
                {
                    "id": "openrouter",
                    "kind": "openai",
                    "base_url": "https://openrouter.ai/api/v1",
                    "models": ["openai/gpt-4o-mini"],
                },
                {"id": "groq", "kind": "openai", "base_url": "https://api.groq.com/openai/v1"},
            ],
        }
    )
    assert (
        path.read_text()
        == """\
# My OpenChat settings
default_model = "ollama/llama3.2:3b"  # small and quick
theme = "light"

# Local models
[[providers]]
id = "ollama"
kind = "ollama"
base_url = "http://127.0.0.1:11500"   # the default port

# OpenRouter for the big ones
[[providers]]
id = "openrouter"
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key = "sk-or-v1-0123456789abcdef"
models = ["openai/gpt-4o-mini"]

[[providers]]
id = "groq"
kind = "openai"
base_url = "https://api.groq.com/openai/v1"

# Slow machine
[timeouts]
first_byte = 600  # loading takes a while
idle = 60
"""
    )
    assert store.current.theme == "light"
    assert store.current.provider("groq") is not None
    assert store.current.provider("openrouter").api_key == "sk-or-v1-0123456789abcdef"


def test_update_removes_a_provider_with_the_comment_above_it(path):
    store = store_for(path, COMMENTED)
    store.update(
        {"providers": [{"id": "ollama", "kind": "ollama", "base_url": "http://127.0.0.1:11434"}]}
    )
    assert (
        path.read_text()
        == """\
# My OpenChat settings
default_model = "ollama/llama3.2:3b"  # small and quick

# Local models
[[providers]]
id = "ollama"
kind = "ollama"
base_url = "http://127.0.0.1:11434"   # the default port

# Slow machine
[timeouts]
first_byte = 600  # loading takes a while
"""
    )


def test_update_removing_the_first_provider_keeps_the_comments_of_the_next(path):
    store = store_for(path, COMMENTED)
    store.update(
        {
            "default_model": "openrouter/x",
            "providers": [
                {"id": "openrouter", "kind": "openai", "base_url": "https://openrouter.ai/api/v1"}
            ],
        }
    )
    assert (
        path.read_text()
        == """\
# My OpenChat settings
default_model = "openrouter/x"  # small and quick

# Local models

# OpenRouter for the big ones
[[providers]]
id = "openrouter"
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key = "sk-or-v1-0123456789abcdef"

# Slow machine
[timeouts]
first_byte = 600  # loading takes a while
"""
    )
    assert store.problem is None


def test_update_removing_every_provider_brings_back_the_default(path):
    store = store_for(path, COMMENTED)
    store.update({"providers": [], "default_model": None})
    text = path.read_text()
    assert "[[providers]]" not in text
    assert "# Slow machine\n[timeouts]\n" in text
    # the default providers, with the file's own [timeouts] (first_byte = 600)
    assert store.current.providers == tuple(
        dataclasses.replace(default, first_byte_timeout=600.0) for default in Settings().providers
    )
    assert store.current.default_model is None


def test_sending_back_what_public_shows_changes_nothing(path):
    store = store_for(
        path, FULL.replace('"X-Title"', '"Authorization" = "Bearer 0123456789ab", "X-Title"')
    )
    before = path.read_text()
    version = store.version
    store.update(store.public()["settings"])
    assert path.read_text() == before
    assert store.current.provider("openrouter").headers[0] == (
        "Authorization",
        "Bearer 0123456789ab",
    )
    assert store.version == version


def test_update_creates_a_private_file_and_its_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "settings.toml"
    store = SettingsStore(path, check_interval=0)
    store.update({"theme": "system"})
    text = path.read_text()
    assert text.startswith("# OpenChat settings.")
    assert text.endswith('\ntheme = "system"\n')
    assert store.current.theme == "system"
    assert SettingsStore(path).current.theme == "system"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@posix_only
def test_update_tightens_loose_permissions(path):
    store = store_for(path, 'theme = "dark"\n')
    path.chmod(0o644)
    store.update({"theme": "light"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]  # no temporary left


@posix_only
def test_update_keeps_a_symlinked_file_a_symlink(tmp_path):
    real = tmp_path / "dotfiles" / "openchat.toml"
    real.parent.mkdir()
    real.write_text('theme = "dark"\n')
    link = tmp_path / "settings.toml"
    link.symlink_to(real)
    SettingsStore(link).update({"theme": "light"})
    assert link.is_symlink()
    assert real.read_text() == 'theme = "light"\n'


def test_new_provider_in_a_new_file(path):
    store = store_for(path)
    store.update(
        {
            "default_model": "lm/qwen",
            "providers": [
                {
                    "id": "lm",
                    "kind": "openai",
                    "base_url": "http://127.0.0.1:1234/v1",
                    "api_key": "lm-studio-key-123",
                    "models": ["qwen"],
                    "headers": {"X-Title": "OpenChat"},
                    "idle_timeout": 30,
                },
            ],
            "limits": {"max_message_chars": 2000},
        }
    )
    assert (
        path.read_text().split("\n\n", 1)[1]
        == """\
default_model = "lm/qwen"

[[providers]]
id = "lm"
kind = "openai"
base_url = "http://127.0.0.1:1234/v1"
api_key = "lm-studio-key-123"
models = ["qwen"]
headers = {X-Title = "OpenChat"}
idle_timeout = 30

[limits]
max_message_chars = 2000
"""
    )
    current = store.current
    assert current.provider("lm") == ProviderConfig(
        id="lm",
        kind="openai",
        base_url="http://127.0.0.1:1234/v1",
        api_key="lm-studio-key-123",
        models=("qwen",),
        headers=(("X-Title", "OpenChat"),),
        idle_timeout=30.0,
    )
    assert current.limits.max_message_chars == 2000


def test_api_keys_are_write_only(path):
    store = store_for(path, COMMENTED)
    entry = {"id": "openrouter", "kind": "openai", "base_url": "https://openrouter.ai/api/v1"}

    def key() -> str | None:
        return store.current.provider("openrouter").api_key

    store.update({"providers": [entry]})  # no api_key: the stored key stays
    assert key() == "sk-or-v1-0123456789abcdef"
    store.update({"providers": [{**entry, "api_key": "…cdef", "api_key_set": True}]})
    assert key() == "sk-or-v1-0123456789abcdef"
    store.update({"providers": [{**entry, "api_key": "sk-new-key-555555"}]})
    assert key() == "sk-new-key-555555"
    assert 'api_key = "sk-new-key-555555"' in path.read_text()
    store.update({"providers": [{**entry, "api_key": ""}]})
    assert key() is None
    assert "api_key" not in path.read_text()
    store.update({"providers": [{**entry, "api_key": "sk-again-666666"}]})
    store.update({"providers": [{**entry, "api_key": None}]})
    assert key() is None


def test_masked_secret_header_values_keep_the_stored_value(path):
    store = store_for(path, PROVIDER + 'headers = { authorization = "Bearer 0123456789ab" }\n')
    store.update(
        {
            "providers": [
                {
                    "id": "a",
                    "kind": "ollama",
                    "headers": {"Authorization": "…89ab", "X-Title": "OpenChat"},
                }
            ]
        }
    )
    assert store.current.providers[0].headers == (
        ("Authorization", "Bearer 0123456789ab"),
        ("X-Title", "OpenChat"),
    )


@pytest.mark.parametrize(
    ("patch", "key", "message"),
    [
        ({"theme": "blue"}, "theme", 'theme is "blue"; use "dark", "light" or "system".'),
        ({"themes": "dark"}, "themes", 'themes is not a setting; did you mean "theme"?'),
        (
            {"timeouts": {"idle": -5}},
            "timeouts.idle",
            "timeouts.idle is -5; use a number of seconds greater than 0, e.g. 30.",
        ),
        (
            {"timeouts": {"idel": 5}},
            "timeouts.idel",
            'timeouts.idel is not a setting; did you mean "idle"?',
        ),
        ({"limits": 5}, "limits", 'limits is 5; send an object such as {"max_message_chars": …}.'),
        (
            {"providers": {"id": "x"}},
            "providers",
            "providers is a table; send a list of providers.",
        ),
        (
            {"providers": [{"id": "x", "kind": "olama", "base_url": "http://x"}]},
            "providers[0].kind",
            'providers[0].kind is "olama"; use "ollama", "openai", "anthropic", "gemini" or '
            '"local".',
        ),
        (
            {"providers": [{"id": "a", "kind": "ollama"}, {"id": "b", "kind": "openai"}]},
            "providers[1]",
            "providers[1] has no base_url; add the endpoint's address, e.g. "
            'base_url = "https://api.openai.com/v1".',
        ),
        (
            {"providers": [{"id": "a", "kind": "ollama"}, {"id": "a", "kind": "ollama"}]},
            "providers[1].id",
            'providers[1].id "a" is already used by providers[0]; give each provider its own id.',
        ),
        (
            {"providers": [{"id": "a", "kind": "ollama", "modles": ["x"]}]},
            "providers[0].modles",
            'providers[0].modles is not a setting; did you mean "models"?',
        ),
        (
            {"providers": [{"kind": "ollama"}]},
            "providers[0]",
            'providers[0] has no id; add a line like id = "my-server".',
        ),
    ],
)
def test_invalid_update_is_refused_and_writes_nothing(path, patch, key, message):
    store = store_for(path, COMMENTED)
    version = store.version
    with pytest.raises(SettingsError) as caught:
        store.update(patch)
    assert caught.value.key == key
    assert str(caught.value) == message
    assert path.read_text() == COMMENTED
    assert store.version == version


def test_update_refuses_to_overwrite_a_broken_file(path):
    store = store_for(path, 'theme = "light"\n')
    write(path, 'theme = "light\n# half-typed edit\n')
    with pytest.raises(SettingsError) as caught:
        store.update({"theme": "dark"})
    assert str(caught.value) == (
        "Fix the settings file first; OpenChat will not overwrite it while it is broken. "
        f"{path} line 1, column 15: this is not valid TOML (a text value is not closed on its "
        'line); close the text with a quote on the same line, or use """ for several lines.'
    )
    assert caught.value.line == 1
    assert path.read_text() == 'theme = "light\n# half-typed edit\n'


def test_update_is_allowed_despite_a_warning(path):
    store = store_for(path, 'colour = "red"\n')
    store.update({"theme": "light"})
    assert path.read_text() == 'colour = "red"\ntheme = "light"\n'
    assert store.problem is not None
    assert store.problem.key == "colour"


def test_update_bumps_the_version(path):
    store = store_for(path)
    version = store.version
    store.update({"theme": "light"})
    assert store.version == version + 1


def test_null_removes_a_key_so_its_default_applies(path):
    store = store_for(path, COMMENTED)
    store.update({"default_model": None, "timeouts": {"first_byte": None}})
    assert path.read_text().startswith("# My OpenChat settings\n\n# Local models\n")
    assert "first_byte" not in path.read_text()
    assert store.current.default_model is None
    assert store.current.timeouts.first_byte == 300.0


def test_update_of_inline_provider_array(path):
    store = store_for(path, 'providers = [{ id = "a", kind = "ollama" }]  # mine\n')
    store.update(
        {
            "providers": [
                {"id": "a", "kind": "ollama", "models": ["m"]},
                {"id": "b", "kind": "ollama"},
            ]
        }
    )
    assert [p.id for p in store.current.providers] == ["a", "b"]
    assert store.current.providers[0].models == ("m",)
    assert "# mine" in path.read_text()


def test_update_sees_an_edit_made_just_before(path):
    write(path, 'theme = "light"\n')
    # The clock stands still: only the re-read that update() forces can see the edit.
    store = SettingsStore(path, check_interval=60, clock=lambda: 1000.0)
    write(path, 'theme = "light"\n# added by hand\n')
    store.update({"theme": "dark"})
    assert path.read_text() == 'theme = "dark"\n# added by hand\n'


# --- documentation --------------------------------------------------------------------------


def test_every_setting_is_documented():
    documented = set(re.findall(r"^### `([^`]+)`$", DOCS.read_text(encoding="utf-8"), re.M))
    declared = (
        {s.name for s in SETTINGS}
        | {f"providers.{s.name}" for s in PROVIDER_SETTINGS}
        | {f"mcp_servers.{s.name}" for s in MCP_SERVER_SETTINGS}
    )
    assert declared - documented == set(), "document these in docs/settings.md"
    assert documented - declared == set(), "docs/settings.md describes settings that do not exist"


def test_the_settings_object_has_a_field_for_every_key_and_no_other():
    # The settings object and the API's view are built from the table: a key without a field,
    # or a field without a key, would be lost between the file and the app.
    settings = Settings(providers=())
    assert {f.name for f in dataclasses.fields(settings)} == {
        s.name.partition(".")[0] for s in SETTINGS
    }
    for section in {s.name.partition(".")[0] for s in SETTINGS if "." in s.name}:
        assert {f.name for f in dataclasses.fields(getattr(settings, section))} == {
            s.name.partition(".")[2] for s in SETTINGS if s.name.startswith(section + ".")
        }
    provider_keys = {s.name for s in PROVIDER_SETTINGS}
    config_fields = {f.name for f in dataclasses.fields(ProviderConfig)}
    # Keys that only say where api_key comes from.
    assert provider_keys - config_fields == {"api_key_env", "keychain"}
    assert config_fields - provider_keys == {"outbound"}  # set by the app, not the file
    app_wide = {s.name for s in SETTINGS}
    assert all(s.inherits in app_wide for s in PROVIDER_SETTINGS if s.inherits)


def test_declared_defaults_are_those_of_the_settings_object():
    settings = Settings(providers=())
    for setting in SETTINGS:
        if setting.check is None:
            continue  # providers: its default is described in words
        value = settings
        for part in setting.name.split("."):
            value = getattr(value, part)
        assert value == setting.default, setting.name


def test_the_api_shows_every_key_of_the_table(path):
    view = store_for(path, PROVIDER).public()["settings"]
    shown = set()
    for name, value in view.items():
        if name == "providers":
            shown |= {"providers"} | {f"providers.{key}" for key in value[0]}
        elif name in SECTIONS:  # [options], [models] and [presets] are values themselves
            shown |= {f"{name}.{key}" for key in value}
        else:
            shown.add(name)
    declared = {s.name for s in SETTINGS} | {f"providers.{s.name}" for s in PROVIDER_SETTINGS}
    where_keys_are = {f"providers.{name}" for name in VIEW_FIELDS}
    assert shown == declared | {"providers.api_key_set"} | where_keys_are


def test_documented_defaults_match_the_declaration():
    docs = DOCS.read_text(encoding="utf-8")
    for setting in SETTINGS:
        if isinstance(setting.default, (int, float)) and not isinstance(setting.default, bool):
            section = docs.split(f"### `{setting.name}`", 1)[1].split("###", 1)[0]
            shown = (
                f"{setting.default:g}"
                if isinstance(setting.default, float)
                else str(setting.default)
            )
            assert f"- default: `{shown}`" in section, setting.name


def test_documented_example_file_is_valid(path, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-example-0000")
    example = DOCS.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    store = store_for(path, example)
    assert store.problem is None
    assert [p.id for p in store.current.providers] == ["ollama", "openrouter", "llamacpp"]
