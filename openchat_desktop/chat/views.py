"""Every object the HTTP API returns, as JSON, in one place.

Each function here has a schema of the same name in `server/openapi.py` (`session_view` →
`Session`, …); a test checks that every key a view returns is declared there, so the API and
its description cannot drift apart. Views take what they show and look nothing up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from html import escape
from typing import TYPE_CHECKING, Any

from ..engine import CONTENT, REASONING, LiveReply
from ..providers.base import ModelInfo
from ..providers.router import ProviderStatus
from ..rendering import render_markdown
from ..store import AttachmentRecord, MessageRecord, RoleRecord, SessionRecord, SummaryRecord
from ..store.records import ApiKeyRecord
from ..tools.registry import SourceState
from . import attachments, options
from .capabilities import think_levels
from .planning import PLAN

if TYPE_CHECKING:
    from ..local.catalog import CatalogEntry
    from ..local_models import PullJob
    from ..settings import Settings


# Sessions, messages and roles show every column of their record, so a new column reaches the
# API without another list to keep (the OpenAPI test then asks for its description); only the
# render cache stays inside.
SESSION_FIELDS = tuple(f.name for f in fields(SessionRecord))
MESSAGE_FIELDS = tuple(f.name for f in fields(MessageRecord) if f.name != "html_version")
ROLE_FIELDS = tuple(f.name for f in fields(RoleRecord))
SUMMARY_FIELDS = tuple(f.name for f in fields(SummaryRecord))
# An API key's fields but its hash: a copy of the hash would let anyone test guesses offline.
API_KEY_FIELDS = tuple(f.name for f in fields(ApiKeyRecord) if f.name != "secret_hash")


def session_view(record: SessionRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in SESSION_FIELDS}


def user_html(text: str) -> str:
    """User messages are shown as typed: escaped text, line breaks kept by CSS."""
    return f'<p class="user-text">{escape(text)}</p>'


def message_view(
    record: MessageRecord,
    *,
    html: str,
    attached: Sequence[AttachmentRecord] = (),
    live: LiveReply | None = None,
    sibling_ids: list[str] | None = None,
) -> dict[str, Any]:
    """A message with its HTML. `attached`: a user message's files. `live`: the running reply,
    newer than its last checkpoint, with the `stream_seq` a client passes as `after` to
    continue without a gap or a repeat. `sibling_ids`: its versions, in a branch."""
    view: dict[str, Any] = {name: getattr(record, name) for name in MESSAGE_FIELDS}
    view["html"] = html
    view["plan_html"] = None
    if record.role == "user":
        view["attachments"] = [attachment_view(a) for a in attached]
    if live is not None:
        view.update(
            content=live.texts.get(CONTENT, ""),
            reasoning=live.texts.get(REASONING, ""),
            stream_seq=live.seq,
            plan=live.texts.get(PLAN),
        )
    if view["plan"]:
        view["plan_html"] = render_markdown(view["plan"])
    if sibling_ids is not None:
        view["sibling_ids"] = sibling_ids
        view["sibling_index"] = sibling_ids.index(record.id)
    return view


def option_choices_view(settings: Settings) -> dict[str, Any]:
    """What the parameters panel offers: each option's bounds and help, the presets, and the
    defaults a chat's own options go over."""
    return {
        "options": [spec.public() for spec in options.SPECS],
        "presets": [
            {"name": name, "options": values, "builtin": builtin}
            for name, values, builtin in options.presets(settings.presets)
        ],
        "defaults": dict(settings.options),
        "models": {
            model_id: {"options": dict(model.options), "context_length": model.context_length}
            for model_id, model in settings.models.items()
        },
    }


def summary_view(record: SummaryRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in SUMMARY_FIELDS}


def tool_view(name: str, description: str, approval: str) -> dict[str, Any]:
    return {"name": name, "description": description, "approval": approval}


def tool_source_view(state: SourceState) -> dict[str, Any]:
    """A tool source as the Settings panel shows it: its state and the tools it offers."""
    return {
        "id": state.id,
        "kind": state.kind,
        "enabled": state.enabled,
        "status": state.status,
        "message": state.message,
        "tools": [tool_view(spec.name, spec.description, spec.approval) for spec in state.tools],
    }


def api_key_view(record: ApiKeyRecord) -> dict[str, Any]:
    """An API key as the API shows it: never its hash."""
    return {name: getattr(record, name) for name in API_KEY_FIELDS}


def role_view(record: RoleRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ROLE_FIELDS}


def attachment_view(record: AttachmentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "kind": record.kind,
        "mime": record.mime,
        "size": record.size,
        "sha256": record.sha256,
    }


def attachment_limits_view() -> dict[str, int]:
    """The limits, so the page can check files before uploading them."""
    return {
        "max_file_bytes": attachments.MAX_FILE_BYTES,
        "max_files": attachments.MAX_FILES,
        "max_total_bytes": attachments.MAX_TOTAL_BYTES,
        "max_text_chars": attachments.MAX_TEXT_CHARS,
    }


def search_result_view(
    record: MessageRecord, snippet: str, session_title: str | None
) -> dict[str, Any]:
    return {
        "message_id": record.id,
        "session_id": record.session_id,
        "session_title": session_title,
        "role": record.role,
        "snippet": snippet,
        "created_at": record.created_at,
    }


def model_view(model: ModelInfo, *, capabilities_known: bool) -> dict[str, Any]:
    return {
        "id": model.id,
        "provider": model.provider,
        "name": model.name,
        "capabilities": list(model.capabilities),
        "context_length": model.context_length,
        # False: the provider does not say what its models can do (not "nothing").
        "capabilities_known": capabilities_known,
        "think_levels": list(think_levels(model.name)) if "thinking" in model.capabilities
        else [],
        # What the provider says of the file (the built-in engine: size, parameters,
        # quantization, and the starter's label and note, which the page shows).
        "details": dict(model.details),
    }


def provider_status_view(status: ProviderStatus) -> dict[str, Any]:
    return {"id": status.id, "kind": status.kind, "status": status.status,
            "message": status.message}


def provider_check_view(
    status: ProviderStatus, models: Sequence[ModelInfo], address: str | None = None
) -> dict[str, Any]:
    """How trying a provider entry went, with the models it listed; `address`: where the
    server answered when that is not the entry's address (the page offers to use it)."""
    ok = status.status == "ok"
    return {
        "status": status.status,
        "message": status.message,
        # Only what the server itself listed: configured names prove nothing about it.
        "models": [m.name for m in models] if ok else [],
        "address": address if ok else None,
    }


def local_model_view(model: ModelInfo, loaded: dict[str, Any] | None) -> dict[str, Any]:
    """An installed Ollama model; `loaded`: its entry in Ollama's running models, if any."""
    details = model.details
    return {
        "id": model.id,
        "name": model.name,
        "size": details.get("size"),
        "parameter_size": details.get("parameter_size"),
        "quantization": details.get("quantization_level"),
        "family": details.get("family"),
        "format": details.get("format"),
        "modified_at": details.get("modified_at"),
        "capabilities": list(model.capabilities),
        "context_length": model.context_length,
        "loaded": loaded is not None,
        "size_vram": loaded.get("size_vram") if loaded else None,
        "expires_at": loaded.get("expires_at") if loaded else None,
    }


def pull_view(pull: PullJob) -> dict[str, Any]:
    return {
        "id": pull.id,
        "provider": pull.provider_id,
        "name": pull.name,
        "state": pull.state,
        "status": pull.status,
        "completed": pull.completed,
        "total": pull.total,
        "error": pull.error,
    }


def catalog_entry_view(
    entry: CatalogEntry, *, downloaded: bool, partial: int, recommended: bool
) -> dict[str, Any]:
    """A catalog model; `partial`: bytes of an unfinished download that a new one continues."""
    return {
        "id": entry.id,
        "name": entry.name,
        "repo": entry.repo,
        "file": entry.file,
        "size": entry.size,
        "ram": entry.ram,
        "parameters": entry.parameters,
        "license": entry.license,
        "gated": entry.gated,
        "good_at": entry.good_at,
        "downloaded": downloaded,
        "partial": partial,
        "recommended": recommended,
    }
