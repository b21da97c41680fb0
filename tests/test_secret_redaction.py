"""Secrets never echoed: a model server that repeats the request's credentials in its errors
(some proxies do) must not get them onto the page, into the database or into the log.

The attack is a careless proxy (`FakeProvider(echo_headers=…)`) configured with an API key and
a secret header; every way its words reach a person is then searched for either secret. The
rule itself (`providers.redaction`) is tested below over the shapes it must catch and the
ordinary words it must leave alone."""

from __future__ import annotations

import logging
import signal
import sqlite3
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from openchat_desktop import paths
from openchat_desktop.providers import redaction
from openchat_desktop.providers.errors import ProviderError, StreamBroken
from openchat_desktop.providers.redaction import REDACTED, redact

from .fake_provider import FakeProvider, Reply
from .support import TOKEN, Server, read_events
from .test_cli import Serve

KEY = "oc-proxy-7f3a9c2e81d44b6b9a0e5d1c2b3a4f5e"  # the providers' API key
HEADER_SECRET = "hx-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"  # the value of a secret header
SECRETS = (KEY, HEADER_SECRET)
ECHOED = ("Authorization", "X-Api-Key")
RETRY_NOW = {"Retry-After": "0"}


def careless_settings(fake: FakeProvider) -> str:
    """The careless proxy twice, as an OpenAI-compatible server ("compat") and as an Ollama
    with a key ("cloud"), each sending the key and a secret header."""
    entries = []
    for provider_id, kind, url in (("compat", "openai", fake.openai_url),
                                   ("cloud", "ollama", fake.ollama_url)):
        entries.append(
            f'[[providers]]\nid = "{provider_id}"\nkind = "{kind}"\nbase_url = "{url}"\n'
            f'api_key = "{KEY}"\nheaders = {{ "X-Api-Key" = "{HEADER_SECRET}", '
            '"X-Title" = "OpenChat" }\n'
        )
    return 'default_model = "compat/llama3.2:3b"\n\n' + "\n".join(entries)


@pytest.fixture
def careless() -> Iterator[FakeProvider]:
    with FakeProvider(echo_headers=ECHOED) as fake:
        yield fake


@pytest.fixture
def app(start_server, careless, caplog) -> Server:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    return start_server(careless_settings(careless))


def leaks(text: str) -> list[str]:
    """The pieces of a secret found in `text`: its whole, its start or its end (a sentence cut
    short must not keep half a key either)."""
    return [piece for secret in SECRETS for piece in (secret, secret[:12], secret[-12:])
            if piece in text]


def database_text(app: Server) -> str:
    """Everything the SQLite file holds, read directly."""
    with sqlite3.connect(paths.database_path(app.data_dir)) as db:
        return "\n".join(db.iterdump())


def assert_nothing_leaked(app: Server, caplog: pytest.LogCaptureFixture, *seen: str) -> None:
    for where, text in (*((f"answer {i}", s) for i, s in enumerate(seen)),
                        ("database", database_text(app)), ("log", caplog.text)):
        assert not leaks(text), f"a secret is in the {where}: {text}"


def the_proxy_echoed(careless: FakeProvider) -> None:
    """The attack reached the proxy: the request carried both secrets, which it quotes."""
    sent = careless.requests[-1].headers
    assert sent["Authorization"] == f"Bearer {KEY}" and sent["X-Api-Key"] == HEADER_SECRET


# --- the attack through the running app ---------------------------------------------------------


@pytest.mark.parametrize("model", ["compat/llama3.2:3b", "cloud/llama3.2:3b"])
@pytest.mark.parametrize(
    ("replies", "quoted"),
    [
        ([Reply(status=400)], True),  # the sentence quotes what the server said
        ([Reply(status=503, headers=RETRY_NOW)] * 3, False),  # each retry is logged
    ],
    ids=["400", "503"],
)
def test_an_error_answer_quoting_the_key_is_shown_stored_and_logged_without_it(
    app, careless, caplog, model, replies, quoted
):
    careless.script(*replies)
    session = app.new_session(model=model)
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code >= 400, response.text
    the_proxy_echoed(careless)
    assert (REDACTED in response.json()["error"]["message"]) == quoted
    messages = app.get(f"/api/sessions/{session['id']}/messages")
    assert messages.json()["messages"][-1]["status"] == "error"
    assert_nothing_leaked(app, caplog, response.text, messages.text)


@pytest.mark.parametrize("model", ["compat/llama3.2:3b", "cloud/llama3.2:3b"])
def test_an_error_event_mid_reply_quoting_the_key_reaches_nobody(app, careless, caplog, model):
    careless.script(Reply(text="the first words then trouble", mode="error_midstream", after=2))
    session = app.new_session(model=model)
    events = app.chat(session["id"], {"message": "go"})
    the_proxy_echoed(careless)
    kind, error = events[-1]
    assert kind == "error" and REDACTED in error["message"]
    reply = app.get(f"/api/messages/{error['message_id']}").text
    replayed = read_events(app.get(f"/api/messages/{error['message_id']}/events", stream=True))
    assert_nothing_leaked(app, caplog, str(events), reply, str(replayed))


def test_a_redirect_to_an_address_carrying_the_key_is_not_repeated(app, careless, caplog):
    # Gemini-style: the key as a query parameter of the address the proxy names.
    there = f"https://elsewhere.example/v1beta/models?alt=sse&key={KEY}&sig={HEADER_SECRET}"
    careless.script(Reply(status=307, headers={"Location": there}))
    session = app.new_session()
    response = app.post(f"/api/sessions/{session['id']}/chat/stream", {"message": "hello"})
    assert response.status_code == 502, response.text
    message = response.json()["error"]["message"]
    assert "https://elsewhere.example/v1beta/models?alt=sse&key=" in message
    assert_nothing_leaked(app, caplog, response.text)


@pytest.mark.parametrize(
    ("status", "headers"),
    [(400, {}), (307, {"Location": f"https://elsewhere.example/api/tags?key={KEY}"})],
    ids=["400", "redirect"],
)
def test_the_provider_test_and_the_model_list_never_quote_the_key(
    app, careless, caplog, status, headers
):
    careless.fail("/api/tags", status, headers=headers)
    entry = {"id": "trial", "kind": "ollama", "base_url": careless.ollama_url, "api_key": KEY,
             "headers": {"X-Api-Key": HEADER_SECRET}}
    tried = app.post("/api/providers/test", entry)
    assert tried.status_code == 200, tried.text
    assert tried.json()["status"] == "error" and tried.json()["message"]
    the_proxy_echoed(careless)
    listed = app.get("/api/models")
    statuses = {p["id"]: p for p in listed.json()["providers"]}
    assert statuses["cloud"]["status"] == "error" and REDACTED in statuses["cloud"]["message"]
    assert_nothing_leaked(app, caplog, tried.text, listed.text)


def test_a_failed_model_pull_quoting_the_key_reaches_nobody(app, careless, caplog):
    careless.pull_error = "pull model manifest: 401"
    response = app.post("/api/providers/cloud/models/pull", {"name": "qwen3:8b"}, stream=True)
    assert response.status_code == 200, response.text
    events = read_events(response)
    the_proxy_echoed(careless)
    kind, error = events[-1]
    assert kind == "error" and REDACTED in error["message"]
    pulls = app.get("/api/pulls").text
    assert_nothing_leaked(app, caplog, str(events), pulls)


def test_the_log_openchat_serve_writes_at_debug_holds_no_key(tmp_path, careless):
    settings = tmp_path / "settings.toml"
    settings.write_text(careless_settings(careless))
    careless.script(*[Reply(status=503, headers=RETRY_NOW)] * 3)
    server = Serve(tmp_path, "--settings", str(settings), "--data-dir", str(tmp_path / "data"),
                   "--token", TOKEN, env={"OPENCHAT_LOG_LEVEL": "DEBUG"})
    try:
        session = server.http.post(f"{server.base}/api/sessions", json={}, timeout=10).json()
        answer = server.http.post(f"{server.base}/api/sessions/{session['id']}/chat/stream",
                                  json={"message": "hello"}, timeout=30)
        assert answer.status_code == 502, answer.text
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(10)
        log = server.process.stderr.read()
    finally:
        server.close()
    the_proxy_echoed(careless)
    assert "retrying compat/llama3.2:3b" in log and "DEBUG urllib3" in log  # the log was written
    assert not leaks(log), log
    assert not leaks(answer.text), answer.text


# --- the rule ----------------------------------------------------------------------------------


R = REDACTED


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("Invalid key for Authorization: Bearer abc123def456ghi789",
         f"Invalid key for Authorization: Bearer {R}"),
        ("authorization: bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
         f"authorization: bearer {R}"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==",
         f"Proxy-Authorization: Basic {R}"),
        ("Incorrect API key provided: sk-proj-AbCdEf0123456789AbCdEf0123456789.",
         f"Incorrect API key provided: sk-{R}."),
        ("invalid x-api-key sk-ant-api03-AbCdEf0123456789-xyz_0123456789",
         f"invalid x-api-key sk-{R}"),
        ("OpenRouter key sk-or-v1-0123456789abcdef0123456789abcdef is disabled",
         f"OpenRouter key sk-{R} is disabled"),
        ("API key not valid: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", f"API key not valid: {R}"),
        ("GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA-short&alt=sse",
         f"GET https://generativelanguage.googleapis.com/v1beta/models?key={R}&alt=sse"),
        ("redirected to https://proxy.example/v1?api_key=abc&model=x",
         f"redirected to https://proxy.example/v1?api_key={R}&model=x"),
        ("see http://user:hunter2@proxy.example:8080/v1", f"see http://{R}@proxy.example:8080/v1"),
        ('{"api_key": "q8ZrT2mX9vLp4KwN7sYb"}', f'{{"api_key": "{R}"}}'),
        ("X-Api-Key: 5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b rejected", f"X-Api-Key: {R} rejected"),
        ("secret=Zm9vYmFyYmF6cXV4MTIzNDU2 is wrong", f"secret={R} is wrong"),
        ("token 1a2b3c4d5e6f7a8b9c0d1e2f3a4b is expired", f"token {R} is expired"),
        ("Access token is ya29.a0AfH6SMBx3k9Lq2ZpT7vR8wYcN5 expired",
         f"Access token is {R} expired"),
        ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 denied", f"hf_{R} denied"),
    ],
)
def test_credential_shapes_are_redacted(said, shown):
    assert redact(said) == shown
    assert redact(shown) == shown  # redacting again changes nothing


@pytest.mark.parametrize(
    "said",
    [
        "skip", "task-1", "qwen2.5:7b", "llama3.2:3b-instruct-q4_K_M", "sk-learn",
        "model 'llama3.2:3b' not found, try pulling it first",
        "Check the API key for “compat” in Settings.",
        "Missing Bearer token", "Basic realm=\"proxy\"", "Basic authentication required",
        "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens",
        "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29937",
        "max_tokens must be at most 4096", "key 'messages' is required",
        "pulling 8eeb52dfb3bb", "http://127.0.0.1:11434/api/tags",
        "You can find your API key at https://platform.openai.com/account/api-keys.",
        "disk-space is low; hf_transfer is off", "sk-learn-compatible estimator",
        "the key is qwen2.5-coder:32b-instruct",
    ],
)
def test_ordinary_words_are_left_alone(said):
    assert redact(said) == said


def test_the_configured_key_and_secret_headers_are_removed_whatever_their_shape():
    key, header = "plain/words+as=key", "CorrectHorseBattery"
    redaction.remember_credentials(key, (("X-Custom-Token", header), ("X-Title", "Plain Title")))
    shown = redact(f"nope ({key}); header was {header}; sent as /v1?k={quote(key, safe='')}")
    assert shown == f"nope ({REDACTED}); header was {REDACTED}; sent as /v1?k={REDACTED}"
    assert redact("Plain Title") == "Plain Title"  # the value of a header that is no secret


def test_a_placeholder_key_is_no_secret():
    # Ollama and LM Studio accept any key; "ollama" must not blank out the server's name.
    redaction.remember_credentials("ollama", ())
    assert redact("run `ollama serve`") == "run `ollama serve`"


def test_every_provider_failure_is_redacted_when_it_is_made():
    error = StreamBroken(f"stopped: Invalid key {KEY} for Authorization: Bearer {KEY}",
                         detail=f"Authorization: Bearer {KEY}")
    assert KEY not in error.message and KEY not in (error.detail or "")
    assert KEY not in str(error) and KEY not in str(error.public())
    assert ProviderError("plain words", detail=None).detail is None


def test_a_cut_never_keeps_half_a_key():
    text = "x" * 290 + f" Bearer {KEY} and more"
    assert not leaks(redaction.excerpt(text, 300))


def test_log_records_of_any_logger_are_redacted(caplog):
    redaction.guard_logs()
    caplog.set_level(logging.DEBUG)
    url = f"/v1beta/models/gemini:streamGenerateContent?alt=sse&key={KEY}"
    logging.getLogger("urllib3.connectionpool").debug('%s "%s %s" %s', "host", "POST", url, 200)
    try:
        raise ValueError(f"refused Authorization: Bearer {HEADER_SECRET}")
    except ValueError:
        logging.getLogger("anything").exception("failed with %s", f"?token={KEY}")
    assert "streamGenerateContent?alt=sse&key=" in caplog.text
    assert "Traceback" in caplog.text and "refused Authorization: Bearer " in caplog.text
    assert not leaks(caplog.text), caplog.text


def test_a_huge_hostile_error_is_redacted_in_linear_time():
    # Runs of key-like fragments: a rule that rescans a run from each of its characters would
    # take hours over a megabyte; one that reads each run once takes well under a second.
    fragments = ("a-", "eyJ-", "a://a:", "?key", "sk-", "key=", " key", "Bearer ", "_", "a1")
    text = "".join(fragment * (100_000 // len(fragment)) for fragment in fragments)
    began = time.monotonic()
    redact(text + f" Bearer {KEY}")
    assert time.monotonic() - began < 20
