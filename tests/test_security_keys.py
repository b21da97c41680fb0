"""Keys go only where the person sent them, written as the attacks.

A "thief" fake provider on a second loopback port records every header it receives. Each test
tries to make OpenChat hand it a stored secret (an `api_key`, the value of an `api_key_env`
variable, a secret-looking header) through "Test connection" or by moving a saved provider to
the thief's address, and checks that the thief was contacted but never saw the secret.
Provider addresses that reach link-local neighbours or a cloud's metadata service (which hands
out the machine's credentials) are refused before any connection is tried.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from openchat_desktop.providers.addresses import address_refusal, same_address

from .fake_provider import FakeProvider
from .support import Server

KEY = "sk-stored-key-0123456789abcdef"
ENV_KEY = "sk-env-key-0123456789abcdef"
HEADER_SECRET = "hdr-secret-0123456789abcdef"
ENV_NAME = "OPENCHAT_TEST_PROVIDER_KEY"


@pytest.fixture
def home() -> Iterator[FakeProvider]:
    """Where the person saved the key: it demands exactly that key."""
    with FakeProvider(models=["gpt-home"], api_key=KEY) as server:
        yield server


@pytest.fixture
def thief() -> Iterator[FakeProvider]:
    """Somewhere else: it answers anyone and records what it is sent."""
    with FakeProvider(models=["gpt-stolen"]) as server:
        yield server


@pytest.fixture
def app(start_server, home, monkeypatch) -> Server:
    """Two saved providers at `home`: one with its key and a secret header in the file, one
    with its key in an environment variable."""
    monkeypatch.setenv(ENV_NAME, ENV_KEY)
    return start_server(
        f'[[providers]]\nid = "cloud"\nkind = "openai"\nbase_url = "{home.openai_url}"\n'
        f'api_key = "{KEY}"\n'
        f'headers = {{ "X-Api-Key" = "{HEADER_SECRET}", "X-Title" = "OpenChat" }}\n\n'
        f'[[providers]]\nid = "viaenv"\nkind = "openai"\nbase_url = "{home.openai_url}"\n'
        f'api_key_env = "{ENV_NAME}"\n'
    )


def leaks(server: FakeProvider) -> list[str]:
    """Every header the server received that carried one of the stored secrets."""
    return [
        f"{received.path} {name}: {value}"
        for received in server.requests
        for name, value in received.headers.items()
        if any(secret in value for secret in (KEY, ENV_KEY, HEADER_SECRET))
    ]


def listed(server: FakeProvider) -> bool:
    """Whether OpenChat asked this server for its models (/v1/models, or /api/tags)."""
    return any(r.path.endswith(("/models", "/api/tags")) for r in server.requests)


def as_the_page_sends(app: Server, provider_id: str) -> dict[str, Any]:
    """A saved provider as the settings page sends it back: the key left out, headers masked."""
    provider = next(p for p in app.get("/api/settings").json()["settings"]["providers"]
                    if p["id"] == provider_id)
    entry = {key: provider[key] for key in ("id", "kind", "base_url")}
    for key in ("headers", "api_key_env", "models"):
        if provider.get(key):
            entry[key] = provider[key]
    return entry


# --- "Test connection" with another address ---------------------------------------------------


def masked_key(app: Server) -> str:
    """The stored key of "cloud" as GET /api/settings shows it."""
    providers = app.get("/api/settings").json()["settings"]["providers"]
    value: str = next(p for p in providers if p["id"] == "cloud")["api_key"]
    assert value.startswith("…") and KEY not in value
    return value


ATTEMPTS = {
    "the saved id": lambda app, url: {"id": "cloud", "kind": "openai", "base_url": url},
    "the saved id with another kind": lambda app, url: {
        "id": "cloud", "kind": "ollama", "base_url": url.removesuffix("/v1")},
    "the masked key": lambda app, url: {
        "id": "cloud", "kind": "openai", "base_url": url, "api_key": masked_key(app)},
    "the masked headers": lambda app, url: {
        **as_the_page_sends(app, "cloud"), "base_url": url},
    "the saved id of an env key": lambda app, url: {
        **as_the_page_sends(app, "viaenv"), "base_url": url},
    "an env key named by a new entry": lambda app, url: {
        "id": "fresh", "kind": "openai", "base_url": url, "api_key_env": ENV_NAME},
}


@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_the_test_endpoint_sends_no_stored_key_to_a_new_address(app, thief, attempt):
    body = ATTEMPTS[attempt](app, thief.openai_url)
    response = app.post("/api/providers/test", body)
    assert response.status_code == 200, response.text
    assert listed(thief), "the thief was never asked: the attack did not run"
    assert leaks(thief) == []
    assert KEY not in response.text and ENV_KEY not in response.text


def test_the_test_endpoint_says_which_key_stayed_behind(app, thief):
    body = {**as_the_page_sends(app, "cloud"), "base_url": thief.openai_url}
    answer = app.post("/api/providers/test", body).json()
    assert answer["status"] == "ok"
    assert answer["note"] == (
        "The stored key and the stored value of the X-Api-Key header were not sent: the address "
        "changed, so enter them again to test with them."
    )
    # Headers that hold no secret still go along.
    sent = [r for r in thief.requests if r.path.endswith("/models")][-1].headers
    assert sent["X-Title"] == "OpenChat"
    env = app.post("/api/providers/test",
                   {"id": "fresh", "kind": "openai", "base_url": thief.openai_url,
                    "api_key_env": ENV_NAME}).json()
    assert env["note"] == (
        f"The key from {ENV_NAME} was not sent: a key from the environment goes only to the "
        "address saved with it. Save the provider, then test it."
    )


def test_a_key_typed_for_the_new_address_is_sent_there(app, thief):
    typed = "sk-typed-for-thief-0123456789"
    body = {"id": "cloud", "kind": "openai", "base_url": thief.openai_url, "api_key": typed}
    answer = app.post("/api/providers/test", body).json()
    assert answer["status"] == "ok" and answer["note"] is None
    sent = [r for r in thief.requests if r.path.endswith("/models")][-1].headers
    assert sent["Authorization"] == f"Bearer {typed}"
    assert leaks(thief) == []


def test_the_saved_address_still_gets_the_stored_key(app, home):
    for provider_id, key in (("cloud", KEY), ("viaenv", ENV_KEY)):
        answer = app.post("/api/providers/test", as_the_page_sends(app, provider_id)).json()
        assert answer["note"] is None
        sent = home.requests[-1].headers
        assert sent["Authorization"] == f"Bearer {key}"
        assert sent.get("X-Api-Key") == (HEADER_SECRET if provider_id == "cloud" else None)
    # The same address written differently (a trailing slash, capitals) is the same address.
    body = {**as_the_page_sends(app, "cloud"),
            "base_url": home.openai_url.replace("http://", "HTTP://") + "/",
            "api_key": masked_key(app)}
    assert app.post("/api/providers/test", body).json()["status"] == "ok"


# --- moving a saved provider to another address -----------------------------------------------


@pytest.mark.parametrize("provider_id", ["cloud", "viaenv"])
def test_moving_a_provider_leaves_its_key_behind(app, thief, provider_id):
    entry = {**as_the_page_sends(app, provider_id), "base_url": thief.openai_url}
    others = [as_the_page_sends(app, p) for p in ("cloud", "viaenv") if p != provider_id]
    response = app.patch("/api/settings", {"providers": [entry, *others]})
    assert response.status_code == 200, response.text
    moved = next(p for p in response.json()["settings"]["providers"] if p["id"] == provider_id)
    assert moved["api_key_set"] is False and moved.get("api_key_env") is None
    app.get("/api/models")
    assert listed(thief), "the thief was never asked: the attack did not run"
    assert leaks(thief) == []
    text = app.settings_path.read_text()
    assert text.count(KEY) == (0 if provider_id == "cloud" else 1)
    assert text.count(ENV_NAME) == (1 if provider_id == "cloud" else 0)
    if provider_id == "cloud":
        assert HEADER_SECRET not in text and 'X-Title = "OpenChat"' in text


def test_a_key_sent_with_the_new_address_is_kept(app, thief):
    typed = "sk-typed-for-thief-0123456789"
    entry = {"id": "cloud", "kind": "openai", "base_url": thief.openai_url, "api_key": typed}
    response = app.patch("/api/settings", {"providers": [entry, as_the_page_sends(app, "viaenv")]})
    assert response.status_code == 200, response.text
    app.get("/api/models")
    sent = [r for r in thief.requests if r.path.endswith("/models")][-1].headers
    assert sent["Authorization"] == f"Bearer {typed}"
    assert leaks(thief) == []


def test_an_unchanged_address_keeps_the_key(app, home):
    entry = {**as_the_page_sends(app, "cloud"), "models": ["extra"]}
    response = app.patch("/api/settings", {"providers": [entry, as_the_page_sends(app, "viaenv")]})
    assert response.status_code == 200, response.text
    text = app.settings_path.read_text()
    assert KEY in text and HEADER_SECRET in text and ENV_NAME in text


# --- addresses that reach the machine's cloud credentials --------------------------------------

REFUSED = [
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.10.20:11434",
    "http://[fe80::1]:11434",
    "http://[fe80::1%25eth0]:11434",
    "http://[fd00:ec2::254]/latest",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://METADATA.Google.Internal.:80",
    "http://100.100.100.200/latest",
    "http://2852039166/",  # 169.254.169.254 written as one number
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://[::ffff:169.254.169.254]/",
]

ALLOWED = [
    "http://127.0.0.1:11434",
    "http://localhost:11434",
    "http://[::1]:11434",
    "http://192.168.1.20:11434",
    "http://10.0.0.5:8080/v1",
    "http://172.16.4.2:11434",
    "http://ollama.lan:11434",
    "https://api.openai.com/v1",
]


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """Every host name looked up to connect to something other than this machine; none is
    reached for real."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            looked_up.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "not looked up in tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def said_why(message: str) -> None:
    assert "link-local or cloud metadata address" in message
    assert "Traceback" not in message and "Error(" not in message


@pytest.mark.parametrize("url", REFUSED)
def test_the_test_endpoint_refuses_metadata_addresses(server, lookups, url):
    response = server.post("/api/providers/test", {"id": "x", "kind": "openai", "base_url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    said_why(response.json()["error"]["message"])
    assert lookups == []


@pytest.mark.parametrize("url", REFUSED)
def test_settings_refuse_metadata_addresses(server, lookups, url):
    before = server.settings_path.exists() and server.settings_path.read_text()
    entry = {"id": "x", "kind": "openai", "base_url": url}
    response = server.patch("/api/settings", {"providers": [entry]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_settings"
    assert error["message"].startswith("providers[0].base_url is ")
    said_why(error["message"])
    assert (server.settings_path.exists() and server.settings_path.read_text()) == before
    server.get("/api/models")
    assert lookups == []


def test_a_metadata_address_in_the_file_is_a_problem_and_not_used(start_server, lookups):
    app = start_server(
        '[[providers]]\nid = "meta"\nkind = "openai"\n'
        'base_url = "http://169.254.169.254/latest"\napi_key = "sk-whatever-0123456789"\n'
    )
    answer = app.get("/api/settings").json()
    problem = answer["problem"]
    assert problem["key"] == "providers[0].base_url" and problem["line"] == 4
    said_why(problem["message"])
    assert [p["id"] for p in answer["settings"]["providers"]] == ["ollama", "local"]
    app.get("/api/models")
    assert lookups == []


def test_ollama_host_at_a_metadata_address_is_not_used(start_server, lookups, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "169.254.169.254:80")
    app = start_server()
    answer = app.get("/api/settings").json()
    assert answer["settings"]["providers"][0]["base_url"] == "http://127.0.0.1:11434"
    assert answer["problem"]["key"] == "OLLAMA_HOST"
    said_why(answer["problem"]["message"])
    app.get("/api/models")
    assert lookups == []


@pytest.mark.parametrize("url", ALLOWED)
def test_this_machine_and_the_local_network_stay_allowed(server, url):
    response = server.patch("/api/settings",
                            {"providers": [{"id": "x", "kind": "openai", "base_url": url}]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("url", REFUSED)
def test_the_rule_refuses_each_metadata_form(url):
    assert address_refusal(url) is not None


@pytest.mark.parametrize("url", ALLOWED)
def test_the_rule_allows_each_usual_address(url):
    assert address_refusal(url) is None


def test_same_address_ignores_only_how_it_is_written():
    assert same_address("http://Host:80/v1/", "HTTP://host/v1")
    assert same_address("https://host/v1", "https://host:443/v1")
    assert not same_address("http://host/v1", "https://host/v1")
    assert not same_address("http://host/v1", "http://host:8080/v1")
    assert not same_address("http://host/v1", "http://host/v2")
    assert not same_address("http://host/v1", "http://other/v1")
