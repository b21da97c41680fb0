"""The API against its own OpenAPI document: schemathesis sends what the document allows and
much that it does not (wrong types, missing fields, NUL bytes, strange strings) to a real
running app, and every answer must be no server error and exactly what the document says:
a documented status code, content type and body.

Bounded for a small machine: a few examples per operation, a fixed seed so every run sends the
same requests. Streams are checked like any response: against the fake model server each ends in
moments, and an unknown id answers 404 before any stream starts."""

from __future__ import annotations

import json
from collections.abc import Callable

import hypothesis
import pytest
import schemathesis

from openchat_desktop.server.openapi import document

from .support import TOKEN, Server, provider_settings

SEED = 20240501
EXAMPLES_PER_OPERATION = 8


def fuzz_config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "request-timeout": 20,
        "generation": {
            "mode": "all",  # valid input and input the document rules out
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",  # no failing examples kept: every run the same
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "ignored_auth": {"enabled": True},
        },
    })


@pytest.fixture
def fuzz_settings(fake) -> str:
    # The fake model server as Ollama; a provider test may aim anywhere, so connect briefly.
    settings = provider_settings(("ollama", "ollama", fake.ollama_url),
                                 default_model="ollama/llama3.2:3b")
    return settings + "\n[timeouts]\nconnect = 1\n"


@pytest.fixture
def app(start_server: Callable[..., Server], fuzz_settings: str) -> Server:
    """A fresh app per operation, on real SQLite in a temporary folder, chats on the fake:
    what one operation changes (a settings change may set a one-byte request limit) cannot
    make another fail."""
    return start_server(fuzz_settings)


# The document the app serves at /api/openapi.json (the test below checks that it is the same;
# one in test_api_basics that it covers every route). Built here rather than fetched from a
# running app: schemathesis' fixture-based loader fails under pytest 9 (it sets a node
# attribute pytest no longer has), and the operations must be known when tests are collected.
schema = schemathesis.openapi.from_dict(document(), config=fuzz_config())


def test_the_fuzzed_document_is_the_one_the_app_serves(app):
    assert app.get("/api/openapi.json").json() == json.loads(json.dumps(document()))


@schema.parametrize()
# One app serves all of an operation's examples, as intended: starting one per example would
# spend the run on start-ups.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case, app):
    case.call_and_validate(base_url=app.base)
