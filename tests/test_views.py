"""The API's JSON objects and their OpenAPI schemas agree: every key a view returns is declared
in the schema of the same name, and every key the schema requires is returned."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from openchat_desktop.chat import views
from openchat_desktop.engine import LiveReply
from openchat_desktop.local.catalog import CATALOG
from openchat_desktop.local_models import Pull
from openchat_desktop.providers.base import ModelInfo
from openchat_desktop.providers.router import ProviderStatus
from openchat_desktop.server.openapi import SCHEMAS
from openchat_desktop.settings import Settings
from openchat_desktop.settings.values import ModelSettings
from openchat_desktop.store import (
    AttachmentRecord,
    MessageRecord,
    RoleRecord,
    SessionRecord,
    SummaryRecord,
)
from openchat_desktop.store.records import ApiKeyRecord
from openchat_desktop.tools.base import ToolSpec
from openchat_desktop.tools.registry import SourceState

NOW = "2024-05-01T12:00:00.000000Z"
SESSION = SessionRecord(
    id="s1", title="A chat", model="ollama/llama3.2:3b", role_id="r1", system_prompt="Be brief.",
    pinned=True, draft="", leaf_id="m2", created_at=NOW, updated_at=NOW,
    plan_mode={"planner": "ollama/a", "executor": "ollama/b"}, think="high",
)
ATTACHMENT = AttachmentRecord(id="a1", sha256="0" * 64, name="notes.md", mime="text/markdown",
                              kind="text", size=12, text="# Notes", created_at=NOW)


def message(role: str, **fields: object) -> MessageRecord:
    values: dict = dict(
        id="m2" if role == "assistant" else "m1", session_id="s1", parent_id=None, role=role,
        content="Hello", reasoning="", html=None, html_version=0, model="ollama/b",
        status="complete", error=None, usage=None, created_at=NOW, updated_at=NOW,
        plan="1. Greet", meta={"plan": {"model": "ollama/a", "ms": 1.0, "status": "complete"}},
    )
    values.update(fields)
    return MessageRecord(**values)


def pull() -> Pull:
    provider = SimpleNamespace(config=SimpleNamespace(id="ollama", base_url="http://x"))
    return Pull(provider, "qwen3:8b")  # type: ignore[arg-type]


MODEL = ModelInfo("ollama", "gpt-oss:20b", ("completion", "thinking"), 8192,
                  {"size": 1, "parameter_size": "20B", "quantization_level": "Q4",
                   "family": "gpt-oss", "format": "gguf", "modified_at": NOW})
STATUS = ProviderStatus("ollama", "ollama", "ok", None)

# Every view, with inputs that make it return each key it can.
SAMPLES = {
    "session_view": [views.session_view(SESSION)],
    "message_view": [
        views.message_view(message("user"), html="<p>Hello</p>", attached=[ATTACHMENT],
                           sibling_ids=["m1"]),
        views.message_view(
            message("assistant", status="streaming", parent_id="m1"), html="<p>He</p>",
            live=LiveReply(7, {"delta": "He", "reasoning": "", "plan": "1. Greet"}, "<p>He</p>"),
            sibling_ids=["m2", "m3"],
        ),
    ],
    "role_view": [views.role_view(RoleRecord("r1", "Editor", "Edit.", NOW, NOW))],
    "api_key_view": [views.api_key_view(ApiKeyRecord(
        "k1", "ci-script", "0" * 64, "oc_abcdefg", "read", 60, None, False, NOW, None, None))],
    "summary_view": [views.summary_view(SummaryRecord("m2", "s1", "They met.", "ollama/a", 2,
                                                      NOW))],
    "attachment_view": [views.attachment_view(ATTACHMENT)],
    "attachment_limits_view": [views.attachment_limits_view()],
    "search_result_view": [views.search_result_view(message("user"), "<b>Hello</b>", "A chat")],
    "model_view": [views.model_view(MODEL, capabilities_known=True)],
    "provider_status_view": [views.provider_status_view(STATUS)],
    "provider_check_view": [views.provider_check_view(STATUS, [MODEL])],
    "local_model_view": [
        views.local_model_view(MODEL, {"size_vram": 5, "expires_at": NOW}),
        views.local_model_view(MODEL, None),
    ],
    "pull_view": [views.pull_view(pull())],
    "option_choices_view": [views.option_choices_view(Settings(
        providers=(), options={"temperature": 0.7}, presets={"Mine": {"top_k": 4}},
        models={"ollama/b": ModelSettings({"seed": 1}, 8192)},
    ))],
    "catalog_entry_view": [views.catalog_entry_view(CATALOG[0], downloaded=False, partial=5,
                                                    recommended=True)],
    "tool_view": [views.tool_view("add", "Add two numbers.", "ask")],
    "tool_source_view": [views.tool_source_view(SourceState(
        "calc", "stdio", True, "error", "It stopped at once.",
        (ToolSpec("add", "Add two numbers.", {"type": "object"}, "calc"),),
    ))],
}


def schema_name(view: str) -> str:
    """`local_model_view` → `LocalModel`."""
    return "".join(part.title() for part in view.removesuffix("_view").split("_"))


def test_every_view_is_checked():
    defined = {name for name, value in inspect.getmembers(views, inspect.isfunction)
               if name.endswith("_view") and value.__module__ == views.__name__}
    assert defined == set(SAMPLES)


@pytest.mark.parametrize("view", sorted(SAMPLES))
def test_a_view_returns_what_its_schema_declares(view):
    schema = SCHEMAS[schema_name(view)]
    declared = set(schema["properties"])
    for returned in SAMPLES[view]:
        assert set(returned) - declared == set(), f"{view}: keys missing from the schema"
        assert set(schema.get("required", ())) - set(returned) == set(), \
            f"{view}: required keys it does not return"
