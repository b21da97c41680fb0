"""Conversations: what happens when a person sends, regenerates, edits, stops or switches.

Every rule about chatting lives here, so the HTTP routes stay thin and the engine stays
generic. Order matters for "nothing lost": the user's message is committed before any
provider is called, and the assistant row exists (status `streaming`) before the first token.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import replace

from . import attachments as files
from . import planning, rendering
from .attachments import AttachmentService
from .capabilities import Capabilities, check_think, think_parameter
from .engine import Engine, Generation, sse_bytes
from .errors import InvalidRequest, NotFound, TooLarge
from .providers.base import Cancel, ChatMessage, ChatRequest
from .providers.errors import ModelNotFound
from .providers.router import Router
from .settings import SettingsStore
from .store import AttachmentRecord, MessageRecord, RoleRecord, SessionRecord, Store

DEFAULT_TITLE = "New chat"
TITLE_CHARS = 60
ACCEPT_WAIT = 10.0  # seconds the chat request waits for the provider before streaming anyway


def make_title(text: str) -> str:
    """A short title from the first message: its first line, cut at a word boundary."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= TITLE_CHARS:
        return line or DEFAULT_TITLE
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) > TITLE_CHARS // 2 else line[:TITLE_CHARS]).rstrip(" ,.;:-") + "…"


def user_html(text: str) -> str:
    """User messages are shown as typed: escaped text, line breaks kept by CSS."""
    return f'<p class="user-text">{html.escape(text)}</p>'


def session_view(record: SessionRecord) -> dict:
    return {
        "id": record.id,
        "title": record.title,
        "model": record.model,
        "role_id": record.role_id,
        "system_prompt": record.system_prompt,
        "pinned": record.pinned,
        "draft": record.draft,
        "leaf_id": record.leaf_id,
        "plan_mode": record.plan_mode,
        "think": record.think,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def role_view(record: RoleRecord) -> dict:
    return {
        "id": record.id,
        "name": record.name,
        "instructions": record.instructions,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


class ChatService:
    def __init__(
        self,
        store: Store,
        engine: Engine,
        settings: SettingsStore,
        router: Callable[[], Router],
        attachments: AttachmentService | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.router = router
        self.attachments = attachments or AttachmentService(
            store, store.path.parent / "attachments"
        )
        self.capabilities = Capabilities(router)

    # --- views ------------------------------------------------------------------------------

    def message_html(self, record: MessageRecord) -> str:
        """Rendered once, then served from the cache column until the renderer changes."""
        if record.role == "user":
            return user_html(record.content)
        if record.html is not None and record.html_version == rendering.RENDER_VERSION:
            return record.html
        rendered = rendering.render_markdown(record.content)
        if record.status != "streaming":
            self.store.set_html(record.id, rendered, rendering.RENDER_VERSION)
        return rendered

    def message_view(
        self, record: MessageRecord, attached: list[AttachmentRecord] | None = None
    ) -> dict:
        view = {
            "id": record.id,
            "session_id": record.session_id,
            "parent_id": record.parent_id,
            "role": record.role,
            "content": record.content,
            "reasoning": record.reasoning,
            "html": None,
            "model": record.model,
            "status": record.status,
            "error": record.error,
            "usage": record.usage,
            "plan": record.plan,
            "plan_html": None,
            "meta": record.meta,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }
        if record.role == "user":
            if attached is None:
                attached = self.store.message_attachments([record.id]).get(record.id, [])
            view["attachments"] = [files.attachment_view(a) for a in attached]
        generation = self.engine.get(record.id) if record.status == "streaming" else None
        if generation is not None and not generation.finished:
            # The live reply is newer than the last checkpoint: serve it, with the sequence
            # number a client passes as `after` to continue without a gap or a repeat.
            content, reasoning, seq, live_html, plan = generation.snapshot()
            view.update(content=content, reasoning=reasoning, html=live_html, stream_seq=seq,
                        plan=plan)
        else:
            view["html"] = self.message_html(record)
        if view["plan"]:
            view["plan_html"] = rendering.render_markdown(view["plan"])
        return view

    def branch_view(self, records: list[MessageRecord]) -> list[dict]:
        versions = self.store.sibling_ids(records)
        attached = self.store.message_attachments([r.id for r in records if r.role == "user"])
        views = []
        for record in records:
            view = self.message_view(record, attached.get(record.id, []))
            view["sibling_ids"] = versions[record.id]
            view["sibling_index"] = versions[record.id].index(record.id)
            views.append(view)
        return views

    # --- sessions ---------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRecord:
        record = self.store.get_session(session_id)
        if record is None:
            raise NotFound("That chat does not exist (it may have been deleted).",
                           code="session_not_found")
        return record

    def message(self, message_id: str) -> MessageRecord:
        record = self.store.get_message(message_id)
        if record is None:
            raise NotFound("That message does not exist (its chat may have been deleted).",
                           code="message_not_found")
        return record

    def check_role(self, role_id: str | None) -> None:
        if role_id is not None and self.store.get_role(role_id) is None:
            raise NotFound("That role does not exist.", code="role_not_found")

    def messages(
        self, session_id: str, *, limit: int | None = None, before: str | None = None
    ) -> tuple[list[dict], bool]:
        """The current branch (or its newest `limit` messages before `before`), oldest first."""
        session = self.session(session_id)
        if before is not None:
            anchor = self.store.get_message(before)
            if anchor is None or anchor.session_id != session.id:
                raise NotFound("That message is not in this chat.", code="message_not_found")
        fetch = None if limit is None else limit + 1
        records = self.store.branch(session.id, limit=fetch, before_id=before)
        has_more = limit is not None and len(records) > limit
        if has_more:
            records = records[1:]
        return self.branch_view(records), has_more

    # --- sending ----------------------------------------------------------------------------

    def check_text(self, text: object, *, with_files: bool = False) -> str:
        if not isinstance(text, str):
            raise InvalidRequest("`message` must be a string of text.")
        if not text.strip() and not with_files:
            raise InvalidRequest("The message is empty. Type something to send.")
        limit = self.settings.current.limits.max_message_chars
        if len(text) > limit:
            raise TooLarge(
                f"The message is {len(text):,} characters long; the limit is {limit:,}. "
                "Shorten it or attach it as a file.",
                code="message_too_long",
            )
        return text

    def resolve_model(self, requested: str | None, session: SessionRecord) -> str:
        model = requested or session.model or self.settings.current.default_model
        if model:
            self.router().resolve(model)  # an unknown provider fails here, before any write
            return model
        models, _ = self.router().list_all()
        if not models:
            raise ModelNotFound(
                "No model is available. Start Ollama and pull a model (for example "
                "`ollama pull llama3.2`), or add an OpenAI-compatible provider in Settings."
            )
        return models[0].id

    def send(
        self,
        session_id: str,
        text: object,
        *,
        model: str | None = None,
        parent_id: str | None = None,
        parent_given: bool = False,
        think: bool | str | None = None,
        think_given: bool = False,
        plan: object = None,
        plan_given: bool = False,
        attachment_ids: list[str] | None = None,
        ignore_vision_warning: bool = False,
    ) -> Generation:
        """Save the user's message, then start the reply. Without `parent_given` the message
        continues the branch on screen; with it, it answers `parent_id` (an edit). `think`
        applies to this reply when `think_given`, else the chat's own setting does; likewise
        `plan` (null: none) when `plan_given`, else the chat's Plan Mode."""
        session = self.session(session_id)
        text = self.check_text(text, with_files=bool(attachment_ids))
        plan_models = (
            planning.check_plan(plan, self.router()) if plan_given else self.plan_mode(session)
        )
        model_id = self.resolve_model(model, session)
        answering = plan_models.executor if plan_models else model_id
        attached = self.attachments.for_message(attachment_ids or [])
        if any(a.kind == "image" for a in attached) and not ignore_vision_warning:
            self.check_vision(answering)
        if parent_given:
            if parent_id is not None and self.message(parent_id).session_id != session.id:
                raise InvalidRequest("`parent_id` must be a message of this chat.")
        else:
            parent_id = session.leaf_id
        changes: dict[str, str] = {}
        if session.title == DEFAULT_TITLE and session.leaf_id is None:
            changes["title"] = make_title(text if text.strip() else attached[0].name)
        if model_id != session.model:
            changes["model"] = model_id
        history = self.store.path_to(parent_id) if parent_id else []
        user, reply = self.store.start_reply(
            session_id=session.id, parent_id=parent_id, user_content=text, model=answering,
            session_changes=changes, attachment_ids=[a.id for a in attached],
        )
        setting = check_think(think) if think_given else session.think
        return self._generate(session, [*history, user], user, reply, setting, plan_models)

    def regenerate(self, message_id: str, *, model: str | None = None) -> Generation:
        """A new reply to the same user message, kept beside the old one as a branch."""
        old = self.message(message_id)
        if old.role != "assistant" or old.parent_id is None:
            raise InvalidRequest("Only a reply can be regenerated.")
        session = self.session(old.session_id)
        plan_models = self.plan_mode(session)
        model_id = self.resolve_model(model or old.model, session)
        history = self.store.path_to(old.parent_id)
        user, reply = self.store.start_reply(
            session_id=session.id, parent_id=old.parent_id, user_content=None,
            model=plan_models.executor if plan_models else model_id,
        )
        return self._generate(session, history, user, reply, session.think, plan_models)

    def plan_mode(self, session: SessionRecord) -> planning.PlanModels | None:
        """The chat's Plan Mode models; checked when set, here only their providers."""
        value = session.plan_mode
        if not isinstance(value, dict):
            return None
        models = planning.PlanModels(str(value.get("planner")), str(value.get("executor")))
        router = self.router()
        router.resolve(models.planner)
        router.resolve(models.executor)
        return models

    def _generate(
        self,
        session: SessionRecord,
        history: list[MessageRecord],
        user: MessageRecord,
        reply: MessageRecord,
        think: bool | str | None,
        plan_models: planning.PlanModels | None = None,
    ) -> Generation:
        model_id = reply.model or ""
        name = model_id.split("/", 1)[1] if "/" in model_id else model_id
        if think is not None:
            think = think_parameter(think, self.capabilities.facts(model_id), name)
        messages = self.context(session, history)
        if any(m.images for m in messages) and self.capabilities.facts(model_id).lacks("vision"):
            # Sent anyway to a model without vision: the text goes, the images stay in the chat.
            messages = [replace(m, images=()) for m in messages]
        request = ChatRequest(model=name, messages=tuple(messages), think=think)
        router = self.router()

        def stream(cancel: Cancel):
            return router.stream_chat(model_id, request, cancel)

        generation = self.engine.start(
            user_message=user,
            assistant_message=reply,
            stream=planning.plan_and_answer(
                router, plan_models, request,
                planner_sees=not self.capabilities.facts(plan_models.planner).lacks("vision"),
            ) if plan_models else stream,
            message_view=self.message_view,
            extra_start={"plan": plan_models.to_json()} if plan_models else None,
        )
        generation.accepted.wait(ACCEPT_WAIT)
        if generation.early_error is not None:
            raise generation.early_error
        return generation

    def context(self, session: SessionRecord, history: list[MessageRecord]) -> list[ChatMessage]:
        """The system prompt (role instructions, then the chat's own prompt) and the branch."""
        system = []
        if session.role_id:
            role = self.store.get_role(session.role_id)
            if role and role.instructions.strip():
                system.append(role.instructions.strip())
        if session.system_prompt and session.system_prompt.strip():
            system.append(session.system_prompt.strip())
        messages = [ChatMessage("system", "\n\n".join(system))] if system else []
        attached = self.store.message_attachments([r.id for r in history if r.role == "user"])
        for record in history:
            mine = attached.get(record.id, [])
            if record.role not in ("user", "assistant") or not (record.content.strip() or mine):
                continue
            if mine:
                messages.append(ChatMessage(
                    record.role,
                    files.message_content(record.content, mine),
                    self.attachments.images(mine),
                ))
            else:
                messages.append(ChatMessage(record.role, record.content))
        return messages

    def check_vision(self, model_id: str) -> None:
        """Images to a model known to be blind are refused until the person confirms."""
        if self.capabilities.facts(model_id).lacks("vision"):
            name = model_id.split("/", 1)[-1]
            raise InvalidRequest(
                f"{name} cannot see images: it does not have the vision capability. Pick a "
                "model with vision, remove the images, or send anyway (the text goes without "
                "them).",
                code="model_lacks_vision",
            )

    # --- following, stopping, switching -----------------------------------------------------

    def attach(self, message_id: str, after: int) -> Iterator[bytes]:
        """The reply's event stream from `after`; a finished reply not in memory is replayed
        from the database as start, reasoning, delta and its ending."""
        generation = self.engine.get(message_id)
        if generation is not None:
            return generation.follow(after)
        record = self.message(message_id)
        if record.role != "assistant":
            raise InvalidRequest("Only replies have an event stream.")
        return iter([self._stored_replay(record, after)])

    def _stored_replay(self, record: MessageRecord, after: int) -> bytes:
        view = self.message_view(record)
        user = self.store.get_message(record.parent_id) if record.parent_id else None
        events: list[tuple[str, dict]] = [
            ("start", {"user_message": self.message_view(user) if user else None,
                       "assistant_message": view}),
            *([("plan", {"text": record.plan})] if record.plan is not None else []),
            ("reasoning", {"text": record.reasoning}),
            ("delta", {"text": record.content}),
        ]
        if record.status == "error" and record.error:
            events.append(("error", {**record.error, "message_id": record.id}))
        else:
            events.append(("done", {"message": view}))
        return b"".join(
            sse_bytes(seq, kind, data)
            for seq, (kind, data) in enumerate(events, start=1)
            if seq > after
        )

    def stop(self, message_id: str) -> dict:
        record = self.message(message_id)
        generation = self.engine.stop(message_id)
        if generation is not None and generation.final_message is not None:
            return generation.final_message
        return self.message_view(self.store.get_message(record.id) or record)

    def siblings(self, message_id: str) -> list[dict]:
        self.message(message_id)
        return [self.message_view(r) for r in self.store.siblings(message_id)]

    def select(self, message_id: str) -> SessionRecord:
        self.message(message_id)
        return self.store.select_branch(message_id)
