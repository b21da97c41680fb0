"""Conversations: what happens when a person sends, regenerates, edits, stops or switches, and
the chats and roles themselves.

Every rule about chatting lives here, so the HTTP routes stay thin and the engine stays
generic. Order matters for "nothing lost": the user's message is committed before any
provider is called, and the assistant row exists (status `streaming`) before the first token.
Order matters for "nothing stuck" too: every check that can refuse a send or regenerate runs
before that first write (`prepare_*`), and one place (`_start`) writes the rows and hands the
reply to a worker, ending it as `error` if anything fails in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from .. import rendering
from ..engine import CONTENT, REASONING, EndHook, Engine, Generation, StreamFactory
from ..errors import AppError, InvalidRequest
from ..providers.base import Cancel, ChatMessage, ChatRequest
from ..providers.errors import InternalError, ModelNotFound
from ..providers.kinds import continues_prefill
from ..providers.router import ResolvedModel, Router
from ..settings import SettingsStore
from ..store import (
    AttachmentRecord,
    MessageNotFound,
    MessageRecord,
    RoleNotFound,
    RoleRecord,
    SessionNotFound,
    SessionRecord,
    Store,
)
from ..tools.approvals import Approvals
from ..tools.base import Tool, ToolContext
from ..tools.builtin import BuiltinTools
from ..tools.loop import LoopLimits, with_tools
from ..tools.registry import ToolSources
from . import continuing, export, planning, titles, views
from .attachments import AttachmentService
from .capabilities import Capabilities, think_parameter
from .context import context, system_prompt
from .errors import MessageTooLong, ModelLacksVision, ReplyNotContinuable, SummaryNotFound
from .options import Options, layered
from .recorded import RecordedCalls
from .replies import stored_replay
from .sending import UNSET, PreparedReply, SendRequest
from .tokens import typed_tokens
from .window import Branch, Fitted, Labelled, Windows, chat_policy, labelled

log = logging.getLogger(__name__)

DEFAULT_TITLE = "New chat"
TITLE_CHARS = 60
ACCEPT_WAIT = 10.0  # seconds the chat request waits for the provider before streaming anyway
MAX_FALLBACKS = 10


def make_title(text: str) -> str:
    """A short title from the first message: its first line, cut at a word boundary."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= TITLE_CHARS:
        return line or DEFAULT_TITLE
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) > TITLE_CHARS // 2 else line[:TITLE_CHARS]).rstrip(" ,.;:-") + "…"


def reply_meta(options: Options, fitted: Fitted) -> dict[str, Any]:
    """What a reply records before it starts: its context facts, and its options if any."""
    meta: dict[str, Any] = {"context": fitted.meta}
    if options:
        meta["options"] = dict(options)
    return meta


def first_message_title(text: str, files: Sequence[AttachmentRecord]) -> str:
    """The title a chat's first message gives it: from its text, else its first file's name."""
    if text.strip():
        return make_title(text)
    return make_title(files[0].name) if files else DEFAULT_TITLE


def pending_message(text: str) -> MessageRecord:
    """The user's message as the context reads it before it is written: it has no id yet."""
    return MessageRecord(
        id="", session_id="", parent_id=None, role="user", content=text, reasoning="",
        html=None, html_version=0, model=None, status="complete", error=None, usage=None,
        created_at="", updated_at="",
    )


class ChatService:
    def __init__(
        self,
        store: Store,
        engine: Engine,
        settings: SettingsStore,
        router: Callable[[], Router],
        attachments: AttachmentService,
    ) -> None:
        self._store = store
        self._engine = engine
        self._settings = settings
        self._router = router
        self._attachments = attachments
        self.capabilities = Capabilities()
        self.windows = Windows(self.capabilities, lambda: settings.current.context,
                               store.summaries_for, store.save_summary)
        self._titles = titles.TitleWriter(busy=lambda: bool(self._engine.running()))
        self.tool_sources = ToolSources(
            [BuiltinTools(search=store.search, files=store.get_attachments)])
        self.approvals = Approvals(settings)
        self.recorded = RecordedCalls(
            store, lambda prepared: self._start(prepared, auto_title=False), make_title)

    # --- messages as the API shows them -----------------------------------------------------

    def message_html(self, record: MessageRecord) -> str:
        """Rendered once, then served from the cache column until the renderer changes."""
        if record.role == "user":
            return views.user_html(record.content)
        if record.html is not None and record.html_version == rendering.RENDER_VERSION:
            return record.html
        rendered = rendering.render_markdown(record.content)
        if record.status != "streaming":
            self._store.set_html(record.id, rendered, rendering.RENDER_VERSION)
        return rendered

    def message_view(
        self,
        record: MessageRecord,
        attached: Sequence[AttachmentRecord] | None = None,
        sibling_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        if record.role == "user" and attached is None:
            attached = self._store.message_attachments([record.id]).get(record.id, [])
        generation = self._engine.get(record.id) if record.status == "streaming" else None
        live = generation.snapshot() if generation and not generation.finished else None
        return views.message_view(
            record,
            html=live.html if live else self.message_html(record),
            attached=attached or (),
            live=live,
            sibling_ids=sibling_ids,
        )

    def branch_view(self, records: list[MessageRecord]) -> list[dict[str, Any]]:
        versions = self._store.sibling_ids(records)
        attached = self._store.message_attachments([r.id for r in records if r.role == "user"])
        return [
            self.message_view(record, attached.get(record.id, []), versions[record.id])
            for record in records
        ]

    # --- chats ------------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRecord:
        record = self._store.get_session(session_id)
        if record is None:
            raise SessionNotFound("That chat does not exist (it may have been deleted).")
        return record

    def sessions(self, *, q: str | None = None, limit: int | None = None) -> list[SessionRecord]:
        """Pinned first, then newest first; `q` filters by title."""
        return self._store.list_sessions(q=q, limit=limit)

    def create_session(self, changes: dict[str, Any]) -> SessionRecord:
        """A new chat with the given fields (checked by `check_*`), titled DEFAULT_TITLE
        unless given."""
        return self._store.create_session(**{"title": DEFAULT_TITLE, **changes})

    def update_session(self, session_id: str, changes: dict[str, Any]) -> SessionRecord:
        self.session(session_id)
        return self._store.update_session(session_id, **changes) or self.session(session_id)

    def delete_session(self, session_id: str) -> None:
        """Stop the chat's running replies, then delete it with the files no other chat uses."""
        self.session(session_id)
        for generation in self._engine.running():
            if generation.session_id == session_id:
                self._engine.stop(generation.message_id)
        self._attachments.delete_session(session_id)

    def check_model(self, model_id: str) -> None:
        """A chat's model: its provider must exist (the model itself may come later)."""
        self._router().model(model_id)

    def check_role(self, role_id: str | None) -> None:
        if role_id is not None and self._store.get_role(role_id) is None:
            raise RoleNotFound("That role does not exist.")

    def check_plan(self, models: planning.PlanModels, *, name: str = "plan") -> None:
        """Both of Plan Mode's models must be known."""
        planning.check_known(models, self._router(), name=name)

    def plan_mode(self, session: SessionRecord, router: Router) -> planning.ResolvedPlan | None:
        """The chat's Plan Mode models; checked when set, here only their providers."""
        models = planning.PlanModels.stored(session.plan_mode)
        return planning.resolve_plan(models, router) if models else None

    def export(self, session_id: str, fmt: str) -> export.ExportFile:
        """The branch on screen as a file to keep."""
        export.check_format(fmt)
        session = self.session(session_id)
        return export.export_file(session, self._store.branch(session.id), fmt)

    def search(self, q: str, *, limit: int) -> list[dict[str, Any]]:
        """Finished messages matching `q`, with their chat's title."""
        results = []
        for record, snippet in self._store.search(q, limit=limit):
            session = self._store.get_session(record.session_id)
            results.append(views.search_result_view(
                record, snippet, session.title if session else None
            ))
        return results

    # --- roles ------------------------------------------------------------------------------

    def roles(self) -> list[RoleRecord]:
        return self._store.list_roles()

    def role(self, role_id: str) -> RoleRecord:
        record = self._store.get_role(role_id)
        if record is None:
            raise RoleNotFound("That role does not exist.")
        return record

    def create_role(self, *, name: str, instructions: str) -> RoleRecord:
        return self._store.create_role(name=name, instructions=instructions)

    def update_role(self, role_id: str, changes: dict[str, str]) -> RoleRecord:
        self.role(role_id)
        return self._store.update_role(role_id, **changes) or self.role(role_id)

    def delete_role(self, role_id: str) -> None:
        """Chats using the role have none afterwards."""
        self.role(role_id)
        self._store.delete_role(role_id)

    # --- messages ---------------------------------------------------------------------------

    def message(self, message_id: str) -> MessageRecord:
        record = self._store.get_message(message_id)
        if record is None:
            raise MessageNotFound("That message does not exist (its chat may have been deleted).")
        return record

    def messages(
        self, session_id: str, *, limit: int | None = None, before: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The current branch (or its newest `limit` messages before `before`), oldest first,
        and whether there are older ones."""
        session = self.session(session_id)
        if before is not None:
            anchor = self._store.get_message(before)
            if anchor is None or anchor.session_id != session.id:
                raise MessageNotFound("That message is not in this chat.")
        fetch = None if limit is None else limit + 1
        records = self._store.branch(session.id, limit=fetch, before_id=before)
        has_more = limit is not None and len(records) > limit
        if has_more:
            records = records[1:]
        return self.branch_view(records), has_more

    # --- sending ----------------------------------------------------------------------------

    def check_text(self, text: str, *, with_files: bool = False) -> str:
        if not text.strip() and not with_files:
            raise InvalidRequest("The message is empty. Type something to send.")
        limit = self._settings.current.limits.max_message_chars
        if len(text) > limit:
            raise MessageTooLong(
                f"The message is {len(text):,} characters long; the limit is {limit:,}. "
                "Shorten it or attach it as a file."
            )
        return text

    def resolve_model(
        self, requested: str | None, session: SessionRecord, router: Router,
        *, fallbacks: bool = False,
    ) -> ResolvedModel:
        """The model asked for, else the chat's, else the default, else the first listed,
        with its fallbacks when a new reply is written (`fallbacks`). An unknown provider
        fails here, before anything is written."""
        model_id = requested or session.model or self._settings.current.default_model
        if not model_id:
            models, _ = router.list_all()
            if not models:
                raise ModelNotFound(
                    "No model is available. Start Ollama and pull a model (for example "
                    "`ollama pull llama3.2`), or add an OpenAI-compatible provider in Settings."
                )
            model_id = models[0].id
        return router.model(model_id, self.fallbacks_for(session, model_id) if fallbacks else ())

    def fallbacks_for(self, session: SessionRecord | None, model_id: str) -> tuple[str, ...]:
        """The models asked in turn when `model_id` cannot answer: the chat's own list when
        it has one, else the settings' for that model."""
        if session is not None and session.fallbacks is not None:
            return tuple(session.fallbacks)
        return self._settings.current.fallbacks.get(model_id, ())

    def check_fallbacks(self, value: object) -> list[str] | None:
        """A chat's `fallbacks` from a request: null (the settings' apply), or a list of model
        ids, each once, whose providers exist. 422 otherwise."""
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidRequest(
                '`fallbacks` must be a list of model ids such as ["ollama/llama3.2"], or null '
                "for the settings' fallbacks."
            )
        if len(value) > MAX_FALLBACKS:
            raise InvalidRequest(f"`fallbacks` may name at most {MAX_FALLBACKS} models.")
        if len(set(value)) != len(value):
            raise InvalidRequest("`fallbacks` names a model twice; name each one once.")
        router = self._router()
        for model_id in value:
            try:
                router.model(model_id)
            except ModelNotFound as exc:
                raise InvalidRequest(f"`fallbacks`: {exc.message}") from None
        return list(value)

    def send(self, request: SendRequest) -> Generation:
        """Save the user's message, then start the reply (see `SendRequest` for what an unset
        field means)."""
        return self._start(self.prepare_send(request))

    def regenerate(
        self, message_id: str, *, model: str | None = None, options: Options | None = None
    ) -> Generation:
        """A new reply to the same user message, kept beside the old one as a branch."""
        return self._start(self.prepare_regenerate(message_id, model=model, options=options))

    def options_for(
        self, session: SessionRecord, model: ResolvedModel, asked: Options | None
    ) -> Options:
        """The options a reply uses: the settings' global ones, the model's, the chat's, then
        the request's (see chat/options.py)."""
        settings = self._settings.current
        by_model = settings.models.get(model.id)
        return layered(
            [settings.options, by_model.options if by_model else None, session.options, asked]
        )

    def prepare_send(self, request: SendRequest) -> PreparedReply:
        """Every check a send can fail, before anything is written."""
        session = self.session(request.session_id)
        text = self.check_text(request.text, with_files=bool(request.attachment_ids))
        router = self._router()
        if request.plan is UNSET:
            plan = self.plan_mode(session, router)
        elif request.plan is None:
            plan = None
        else:
            plan = planning.check_known(request.plan, router)
        if plan:
            plan = planning.with_fallbacks(plan, router,
                                           lambda model_id: self.fallbacks_for(session, model_id))
        model = self.resolve_model(request.model, session, router, fallbacks=True)
        answering = plan.executor if plan else model
        attached = self._attachments.for_message(request.attachment_ids)
        if any(a.kind == "image" for a in attached) and not request.ignore_vision_warning:
            self.check_vision(answering)
        if request.parent_id is UNSET:
            parent_id = session.leaf_id
        else:
            parent_id = request.parent_id
            if parent_id is not None and self.message(parent_id).session_id != session.id:
                raise InvalidRequest("`parent_id` must be a message of this chat.")
        changes: dict[str, str] = {}
        if session.title == DEFAULT_TITLE and session.leaf_id is None:
            changes["title"] = first_message_title(text, attached)
        if model.id != session.model:
            changes["model"] = model.id
        history = self._store.path_to(parent_id) if parent_id else []
        think = session.think if request.think is UNSET else request.think
        options = self.options_for(session, answering, request.options)
        fitted = self.fit(session, history, answering, router, options,
                          new=(pending_message(text), attached))
        return PreparedReply(
            session_id=session.id, parent_id=parent_id, user_content=text,
            attachment_ids=tuple(a.id for a in attached), session_changes=changes,
            answering=answering, plan=plan,
            stream=self._stream(fitted.messages, think, answering, plan, router,
                                {**options, **fitted.options},
                                self.tools(session, request.attachment_ids)),
            meta=reply_meta(options, fitted),
        )

    def prepare_regenerate(
        self, message_id: str, *, model: str | None = None, options: Options | None = None
    ) -> PreparedReply:
        """Every check a regenerate can fail, before anything is written."""
        old = self.message(message_id)
        if old.role != "assistant" or old.parent_id is None:
            raise InvalidRequest("Only a reply can be regenerated.")
        session = self.session(old.session_id)
        router = self._router()
        plan = self.plan_mode(session, router)
        if plan:
            plan = planning.with_fallbacks(plan, router,
                                           lambda model_id: self.fallbacks_for(session, model_id))
        # A reply a fallback wrote is written again by the model that was asked for it.
        fallback = (old.meta or {}).get("fallback")
        asked = fallback.get("asked") if isinstance(fallback, dict) else None
        chosen = self.resolve_model(model or asked or old.model, session, router, fallbacks=True)
        answering = plan.executor if plan else chosen
        used = self.options_for(session, answering, options)
        fitted = self.fit(session, self._store.path_to(old.parent_id), answering, router, used)
        return PreparedReply(
            session_id=session.id, parent_id=old.parent_id, user_content=None,
            attachment_ids=(), session_changes={}, answering=answering, plan=plan,
            stream=self._stream(fitted.messages, session.think, answering, plan, router,
                                {**used, **fitted.options}, self.tools(session)),
            meta=reply_meta(used, fitted),
        )

    def _stream(
        self,
        messages: list[ChatMessage],
        think: bool | str | None,
        answering: ResolvedModel,
        plan: planning.ResolvedPlan | None,
        router: Router,
        options: Options,
        tools: Sequence[Tool] = (),
    ) -> StreamFactory:
        """What will produce the reply. Facts are asked for only when needed: for Ollama
        that is a request to the server. `tools` are offered to the answering model unless it
        is known to lack the tools capability."""
        if think is not None:
            think = think_parameter(think, self.capabilities.facts(answering), answering.name)
        if any(m.images for m in messages) and self.capabilities.facts(answering).lacks("vision"):
            # Sent anyway to a model without vision: the text goes, the images stay in the chat.
            messages = [replace(m, images=()) for m in messages]
        request = ChatRequest(
            model=answering.name, messages=tuple(messages), think=think, options=dict(options)
        )
        if tools and self.capabilities.facts(answering).lacks("tools"):
            tools = ()
        limits = LoopLimits(self._settings.current.tools.max_rounds,
                            self._settings.current.tools.approval_timeout)

        def answer(asked: ChatRequest) -> StreamFactory:
            return with_tools(router, answering, asked, tools, self.approvals, limits)

        if plan:
            planner_sees = not self.capabilities.facts(plan.planner).lacks("vision")
            return planning.plan_and_answer(router, plan, request, planner_sees=planner_sees,
                                            answer=answer)
        return answer(request)

    def tools(self, session: SessionRecord, attaching: Sequence[str] = ()) -> list[Tool]:
        """The tools of the chat's sources, knowing the files of its messages and of the one
        being sent."""
        files = [*self._store.session_attachment_ids(session.id), *attaching]
        context = ToolContext(session.id, tuple(dict.fromkeys(files)))
        return self.tool_sources.tools(context, session.tool_servers)

    def answer_tool_call(self, message_id: str, call_id: str, *, approve: bool,
                         always: bool) -> None:
        """The person's answer to a reply's question about a tool call."""
        self.message(message_id)
        generation = self._engine.get(message_id)
        running = generation is not None and not generation.finished
        self.approvals.answer(generation.cancel if running and generation else None, call_id,
                              approve=approve, always=always)

    def _start(self, prepared: PreparedReply, *, auto_title: bool = True) -> Generation:
        """The one place a reply starts: its rows are written, then it goes to a worker.
        Whatever fails in between ends the reply as `error` with a sentence, so a live
        process never leaves a reply `streaming` (the recovery at start-up is for a killed
        one); the worker then ends it however its stream goes."""
        self._titles.make_way()
        user, reply = self._store.start_reply(
            session_id=prepared.session_id, parent_id=prepared.parent_id,
            user_content=prepared.user_content, model=prepared.answering.id,
            session_changes=prepared.session_changes,
            attachment_ids=prepared.attachment_ids,
            meta=prepared.meta,
        )
        try:
            start: dict[str, Any] = {
                "user_message": self.message_view(user),
                "assistant_message": self.message_view(reply),
            }
            if prepared.plan:
                start["plan"] = prepared.plan.models.to_json()
            generation = self._engine.start(
                message_id=reply.id,
                session_id=reply.session_id,
                start=start,
                stream=prepared.stream,
                describe=lambda: self._saved_view(reply.id),
                on_end=self._after_reply(user, reply.id) if auto_title else None,
            )
        except Exception as exc:
            raise self._end_unstarted(reply.id, exc) from None
        generation.accepted.wait(ACCEPT_WAIT)
        if generation.early_error is not None:
            raise generation.early_error
        return generation

    def continue_reply(self, message_id: str) -> Generation:
        """More text for a reply cut short, appended to the same message (see `continuing`):
        every check first, then the row goes back to `streaming` in one write, then the
        provider is asked. Its text so far is never lost: a failure keeps it."""
        old = self.message(message_id)
        answered = continuing.check_continuable(old)
        session = self.session(old.session_id)
        router = self._router()
        model = self.resolve_model(old.model, session, router)
        # The options the reply was written with, so its continuation reads as one piece.
        used = (old.meta or {}).get("options")
        options = dict(used) if isinstance(used, dict) else self.options_for(session, model, None)
        fitted = self.fit(session, self._store.path_to(answered), model, router, options)
        messages = continuing.continuation(
            fitted.messages, old.content, prefill=continues_prefill(model.provider.config.kind)
        )
        stream = self._stream(
            messages, session.think, model, None, router, {**options, **fitted.options}
        )
        user = self.message(answered)
        reply = self._store.resume_reply(old)
        if reply is None:
            raise ReplyNotContinuable(
                "This reply changed meanwhile (it may be continuing already). Look at it again, "
                "then continue it if it is still cut short."
            )
        self._titles.make_way()
        seed = {CONTENT: reply.content, REASONING: reply.reasoning}
        if reply.plan is not None:
            seed[planning.PLAN] = reply.plan
        try:
            generation = self._engine.start(
                message_id=reply.id,
                session_id=reply.session_id,
                start={
                    "user_message": self.message_view(user),
                    "assistant_message": self.message_view(reply),
                },
                stream=stream,
                describe=lambda: self._saved_view(reply.id),
                seed=seed,
                on_end=self._after_reply(user, reply.id),
            )
        except Exception as exc:
            raise self._end_unstarted(reply.id, exc, kept=reply) from None
        generation.accepted.wait(ACCEPT_WAIT)
        if generation.early_error is not None:
            raise generation.early_error
        return generation

    # --- titles -----------------------------------------------------------------------------

    def title_pending(self, session_id: str) -> bool:
        """Whether the chat's model is writing its title now."""
        return self._titles.pending(session_id)

    def _after_reply(self, user: MessageRecord, reply_id: str) -> EndHook | None:
        """What follows a reply to the chat's first message: when it completes, and the
        setting `chat.auto_title` is on, its model writes the chat's title in the background.
        The chat shows as waiting for its title before the reply's clients hear of the end;
        the title's request starts after, so it never delays the end."""
        if user.parent_id is not None:
            return None

        def ended(status: str) -> Callable[[], None] | None:
            if status == "complete" and self._settings.current.chat.auto_title:
                return self._titles.start(
                    user.session_id, lambda cancel: self._write_title(user, reply_id, cancel)
                )
            return None

        return ended

    def _write_title(self, user: MessageRecord, reply_id: str, cancel: Cancel) -> bool:
        """Ask the reply's model for a title; saved only over the title the first message
        gave (never over the person's own, nor over one written before). False when `cancel`
        stopped it (a reply started): it is asked again later."""
        session = self._store.get_session(user.session_id)
        reply = self._store.get_message(reply_id)
        files = self._store.message_attachments([user.id]).get(user.id, [])
        first = first_message_title(user.content, files)
        if session is None or reply is None or session.title_by_person or session.title != first:
            return True
        router = self._router()
        model = self.resolve_model(reply.model, session, router)
        think = think_parameter(False, self.capabilities.facts(model), model.name)
        request = titles.title_request(model.name, user.content, reply.content, think)
        title = titles.ask_title(router, model, request, cancel)
        if cancel.cancelled:
            return False
        if title is None:
            log.warning("the model of chat %s answered without a title", session.id)
        elif not self._store.set_model_title(session.id, title, replacing=first):
            log.info("the title of chat %s changed meanwhile; the model's is not used", session.id)
        return True

    def _end_unstarted(
        self, reply_id: str, exc: Exception, *, kept: MessageRecord | None = None
    ) -> AppError:
        """A reply written but never handed to a worker, saved as `error` (with the text of
        `kept`, a reply being continued); returns what the request answers with: the app's own
        sentence, or one for a failure nobody foresaw."""
        if isinstance(exc, AppError):
            error = exc
        else:
            log.error("reply %s could not start", reply_id, exc_info=exc)
            error = InternalError(
                "Something went wrong while starting the reply. Your message is saved; try "
                "again.",
                detail=repr(exc),
            )
        generation = self._engine.get(reply_id)
        if generation is not None:  # taken by the engine, but no worker will run it
            generation.fail(error)
            return error
        try:
            self._store.save_progress(
                reply_id, content=kept.content if kept else "",
                reasoning=kept.reasoning if kept else "", status="error",
                error={"code": error.code, "message": error.message},
            )
        except Exception:
            log.exception("reply %s could not be saved as failed", reply_id)
        return error

    def _saved_view(self, message_id: str) -> dict[str, Any] | None:
        record = self._store.get_message(message_id)
        return self.message_view(record) if record else None

    # --- the context window (see `window.py`) -----------------------------------------------

    def fit(
        self,
        session: SessionRecord,
        history: list[MessageRecord],
        model: ResolvedModel,
        router: Router,
        options: Options,
        *,
        new: tuple[MessageRecord, Sequence[AttachmentRecord]] | None = None,
    ) -> Fitted:
        """The branch fitted into `model`'s window by the chat's policy, with the options the
        reply is sent with (a `context_length` or `max_tokens` among them counts)."""
        return self.windows.fit(
            self.branch(session, history, new=new), history, model, router,
            policy=chat_policy(session.context_policy, self._settings.current.context),
            options=options, override=self.window_override(model), session_id=session.id,
        )

    def window_override(self, model: ResolvedModel) -> int | None:
        """The window the settings give this model (`[models."<id>"] context_length`)."""
        by_model = self._settings.current.models.get(model.id)
        return by_model.context_length if by_model else None

    def context_meter(self, session_id: str, *, chars: int, model: str | None) -> dict[str, Any]:
        """The composer's meter for the branch on screen plus `chars` characters being typed;
        no image is read and no provider is asked while the model's facts are known."""
        session = self.session(session_id)
        router = self._router()
        resolved = self.resolve_model(model, session, router)
        plan = self.plan_mode(session, router)
        history = self._store.path_to(session.leaf_id) if session.leaf_id else []
        branch = self.branch(session, history, read_images=False)
        if chars:
            typed = Labelled("", ChatMessage("user", ""), typed_tokens(chars))
            branch = Branch(branch.system, (*branch.messages, typed))
        answering = plan.executor if plan else resolved
        return self.windows.meter(
            branch, history, answering,
            policy=chat_policy(session.context_policy, self._settings.current.context),
            options=self.options_for(session, answering, None),
            override=self.window_override(answering),
        )

    def summary(self, session_id: str, message_id: str) -> dict[str, Any]:
        """The summary that stands for the chat's messages up to `message_id`."""
        self.session(session_id)
        record = self._store.summaries_for([message_id]).get(message_id)
        if record is None or record.session_id != session_id:
            raise SummaryNotFound("That summary does not exist (its messages may be deleted).")
        return views.summary_view(record)

    def branch(
        self,
        session: SessionRecord,
        history: list[MessageRecord],
        *,
        new: tuple[MessageRecord, Sequence[AttachmentRecord]] | None = None,
        read_images: bool = True,
    ) -> Branch:
        """The branch `history`, then `new`, a message not written yet, with its files. Every
        image of the message being answered (the last user message) is read now, and one that
        is lost refuses the reply, naming it; a lost image of an earlier message is left out,
        so one lost file never blocks the rest of its chat. Without `read_images` images are
        counted, not read."""
        role = self._store.get_role(session.role_id) if session.role_id else None
        attached = self._store.message_attachments([r.id for r in history if r.role == "user"])
        records = history
        if new is not None:
            records = [*history, new[0]]
            attached[new[0].id] = list(new[1])
        answered = next((r for r in reversed(records) if r.role == "user"), None)
        needed = {a.id for a in attached.get(answered.id, ())} if answered else set()

        def images(files: Sequence[AttachmentRecord]) -> tuple[bytes, ...]:
            if not read_images:
                return tuple(b"" for file in files if file.kind == "image")
            return self._attachments.images(files, needed=needed)

        return Branch(system_prompt(session, role), labelled(
            records, lambda record: context("", [record], attached, images)))

    def check_vision(self, model: ResolvedModel) -> None:
        """Images to a model known to be blind are refused until the person confirms."""
        if self.capabilities.facts(model).lacks("vision"):
            raise ModelLacksVision(
                f"{model.name} cannot see images: it does not have the vision capability. Pick "
                "a model with vision, remove the images, or send anyway (the text goes without "
                "them)."
            )

    # --- following, stopping, switching -----------------------------------------------------

    def attach(self, message_id: str, after: int) -> Iterator[bytes]:
        """The reply's event stream from `after`; a finished reply not in memory is replayed
        from the database as start, reasoning, delta and its ending."""
        generation = self._engine.get(message_id)
        if generation is not None:
            return generation.follow(after)
        record = self.message(message_id)
        if record.role != "assistant":
            raise InvalidRequest("Only replies have an event stream.")
        user = self._store.get_message(record.parent_id) if record.parent_id else None
        user_view = self.message_view(user) if user else None
        return iter([stored_replay(record, user_view, self.message_view(record), after)])

    def stop(self, message_id: str) -> dict[str, Any]:
        record = self.message(message_id)
        generation = self._engine.stop(message_id)
        if generation is not None and generation.final_message is not None:
            return generation.final_message
        return self.message_view(self._store.get_message(record.id) or record)

    def siblings(self, message_id: str) -> list[dict[str, Any]]:
        self.message(message_id)
        return [self.message_view(r) for r in self._store.siblings(message_id)]

    def select(self, message_id: str) -> SessionRecord:
        """Show the branch through this message."""
        self.message(message_id)
        return self._store.select_branch(message_id)
