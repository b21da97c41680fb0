"""The vendors' own environment variables create providers or fill their keys, as the vendors'
tools read them; the settings file wins, and the page never copies such a key into the file."""

from __future__ import annotations

import tomllib

import pytest

from openchat_desktop.settings.loading import check_document

from .fake_provider import FakeProvider
from .support import provider_settings

OPENAI = "sk-openai-env-0123456789"
ANTHROPIC = "sk-ant-env-0123456789abc"
GEMINI = "AIzaEnvironmentKey0123456789abcdef"
OLLAMA = "ollama-cloud-env-0123456789"


def _load(data: dict, env: dict) -> tuple[dict, list]:
    loaded, issues = check_document(data, env)
    assert loaded is not None
    view = loaded.public()["providers"]
    keys = {p.id: p.api_key for p in loaded.settings.providers}
    return {p["id"]: {**p, "key": keys[p["id"]]} for p in view}, issues


@pytest.mark.parametrize(
    ("variable", "key", "provider_id", "kind", "base_url"),
    [
        ("OPENAI_API_KEY", OPENAI, "openai", "openai", "https://api.openai.com/v1"),
        ("ANTHROPIC_API_KEY", ANTHROPIC, "anthropic", "anthropic", "https://api.anthropic.com"),
        ("GEMINI_API_KEY", GEMINI, "gemini", "gemini",
         "https://generativelanguage.googleapis.com"),
    ],
)
def test_a_vendor_variable_creates_its_provider_beside_the_defaults(
    variable, key, provider_id, kind, base_url
):
    providers, issues = _load({}, {variable: key})
    assert list(providers) == ["ollama", "local", provider_id]
    created = providers[provider_id]
    assert (created["kind"], created["base_url"], created["key"]) == (kind, base_url, key)
    assert created["from_environment"] == variable
    assert created["key_place"] == "environment" and created["key_variable"] == variable
    assert issues == []


def test_openai_base_url_says_where_the_openai_provider_is():
    providers, _ = _load({}, {"OPENAI_API_KEY": OPENAI,
                              "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1/"})
    assert providers["openai"]["base_url"] == "http://127.0.0.1:8080/v1"


def test_a_bad_openai_base_url_is_a_warning_and_the_key_is_not_used():
    providers, issues = _load({}, {"OPENAI_API_KEY": OPENAI, "OPENAI_BASE_URL": "not a url"})
    assert "openai" not in providers
    assert len(issues) == 1 and not issues[0].fatal
    assert issues[0].text.startswith('The OPENAI_BASE_URL environment variable is "not a url";')


def _entry(provider_id: str, kind: str, base_url: str, **extra: object) -> dict:
    return {"id": provider_id, "kind": kind, "base_url": base_url, **extra}


def test_a_variable_fills_a_keyless_entry_at_its_address_and_creates_nothing_more():
    data = {"providers": [
        _entry("mine", "anthropic", "https://api.anthropic.com/"),
        _entry("cloud", "ollama", "https://ollama.com"),
        _entry("home", "ollama", "http://127.0.0.1:11434"),
    ]}
    providers, _ = _load(data, {"ANTHROPIC_API_KEY": ANTHROPIC, "OLLAMA_API_KEY": OLLAMA})
    assert list(providers) == ["mine", "cloud", "home"]
    assert providers["mine"]["key"] == ANTHROPIC
    assert providers["mine"]["from_environment"] is None
    assert providers["mine"]["key_variable"] == "ANTHROPIC_API_KEY"
    assert providers["cloud"]["key"] == OLLAMA
    assert providers["home"]["key"] is None  # Ollama on this machine takes no key


def test_the_file_wins():
    data = {"providers": [
        _entry("openai", "openai", "https://example.com/v1"),  # the id is taken
        _entry("claude", "anthropic", "https://api.anthropic.com", api_key="sk-ant-file-0123456"),
        _entry("gem", "gemini", "https://generativelanguage.googleapis.com",
               api_key_env="MY_GEMINI"),
    ]}
    env = {"OPENAI_API_KEY": OPENAI, "ANTHROPIC_API_KEY": ANTHROPIC, "GEMINI_API_KEY": GEMINI,
           "MY_GEMINI": "AIzaMyOwnVariable0123456789abcdef"}
    providers, _ = _load(data, env)
    assert list(providers) == ["openai", "claude", "gem"]
    assert providers["openai"]["key"] is None  # another address: not OpenAI's key to have
    assert providers["claude"]["key"] == "sk-ant-file-0123456"
    assert providers["gem"]["key"] == "AIzaMyOwnVariable0123456789abcdef"


def test_the_page_never_writes_an_environment_provider_or_key_into_the_file(
    start_server, monkeypatch
):
    with FakeProvider(api_key=OPENAI) as fake:  # its /v1 routes demand the key
        monkeypatch.setenv("OPENAI_API_KEY", OPENAI)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_url)
        app = start_server(provider_settings(("ollama", "ollama", fake.ollama_url)))
        view = app.get("/api/settings").json()
        assert OPENAI not in str(view)
        providers = view["settings"]["providers"]
        assert [p["id"] for p in providers] == ["ollama", "openai"]
        # The page sends every provider back as it shows them, plus a new one.
        sent = [{k: p[k] for k in ("id", "kind", "base_url")} for p in providers]
        sent.append({"id": "more", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"})
        response = app.patch("/api/settings", {"providers": sent})
        assert response.status_code == 200, response.text
        text = app.settings_path.read_text()
        assert OPENAI not in text
        assert [p["id"] for p in tomllib.loads(text)["providers"]] == ["ollama", "more"]
        assert [p["id"] for p in response.json()["settings"]["providers"]] == [
            "ollama", "more", "openai"]
        # The environment's key reaches the server it names.
        models = app.get("/api/models").json()
        assert {p["id"]: p["status"] for p in models["providers"]}["openai"] == "ok"
