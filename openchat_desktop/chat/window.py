"""The model's context window: how big it is, what of the branch fits in it, and what happens
to the turns that no longer do.

- **The window.** A person's `context_length` option wins, then the model's override in the
  settings, then what the provider says (see `capabilities.Capabilities.window`). For Ollama,
  which gives a model the window OpenChat asks for (`num_ctx`), it is the model's own maximum
  bounded by `[context] max_ollama_context`, since a larger window takes more memory.
- **Room for the reply.** `max_tokens` when set, else `[context] reply_room`, else a quarter
  of the window, at most `DEFAULT_REPLY_ROOM`.
- **Fitting.** The branch is counted (`tokens.py`). When it and the room for the reply do not
  fit, the chat's policy applies: *drop* leaves out the oldest whole turns (a user message and
  the replies to it); *summarize* has a model write a summary of the older turns, kept with
  the last message it covers (`Store.save_summary`) and reused by later turns of the same
  branch until it too no longer leaves room. The system message and the message being
  answered are never left out; when those alone do not fit, the send is refused before
  anything is written. A summary that cannot be written falls back to dropping, and the
  reply's `meta.context.summary_error` says why.
- **Ollama's `num_ctx`.** Ollama reloads a model whenever `num_ctx` changes, so it is chosen
  from a few steps (`NUM_CTX_STEPS`), large enough for what is sent, and remembered per model:
  it only grows, and only when a request needs more.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest
from ..providers.base import Cancel, ChatMessage, ChatRequest, JSONValue, TextDelta
from ..providers.errors import ProviderError
from ..providers.router import ResolvedModel, Router
from ..settings.values import ContextWindow
from ..store import MessageRecord, SummaryRecord
from . import tokens
from .capabilities import Capabilities
from .errors import ExceedsWindow
from .options import Options

log = logging.getLogger(__name__)

MODES = ("drop", "summarize")
DEFAULT_REPLY_ROOM = 2048
NUM_CTX_STEPS = (2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144)
SUMMARY_TOKENS = 512  # the longest summary asked for
MODEL_ID_CHARS = 500

SUMMARY_HEADING = "Summary of the earlier part of this conversation (those messages are not " \
    "shown):"
SUMMARIZER_PROMPT = (
    "You summarize conversations. Write a concise summary of the conversation below, in its "
    "language: the facts, names, numbers, decisions and open questions a reader needs to "
    "continue it. Write it as plain prose, without a preamble."
)
EARLIER_SUMMARY = "Summary of what came before:"
TRANSCRIPT_HEADING = "Conversation to summarize:"
SPEAKERS = {"user": "User", "assistant": "Assistant"}


# --- the policy ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """What happens to turns that no longer fit: `mode` "drop" or "summarize"; `model` writes
    the summary (None: the chat's model)."""

    mode: str
    model: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"mode": self.mode, "model": self.model}


def parse_policy(value: object) -> Policy | None:
    """A chat's `context_policy` as a request gives it: null, or `{"mode", "model"}`."""
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= {"mode", "model"} or "mode" not in value:
        raise InvalidRequest(
            '`context_policy` must be null (the settings\' default) or an object like '
            '{"mode": "summarize", "model": null}.'
        )
    mode, model = value["mode"], value.get("model")
    if mode not in MODES:
        raise InvalidRequest('`context_policy.mode` must be "drop" or "summarize".')
    if model is not None and (
        not isinstance(model, str) or not model.strip() or len(model) > MODEL_ID_CHARS
    ):
        raise InvalidRequest(
            "`context_policy.model` must be null (the chat's model) or a model id such as "
            '"ollama/llama3.2:3b".'
        )
    return Policy(mode, model)


def chat_policy(stored: object, settings: ContextWindow) -> Policy:
    """The chat's own policy (checked when it was set), else the settings' default."""
    if isinstance(stored, dict) and stored.get("mode") in MODES:
        model = stored.get("model")
        return Policy(str(stored["mode"]), model if isinstance(model, str) else None)
    return Policy(settings.policy, settings.summary_model)


# --- sizes -----------------------------------------------------------------------------------


def model_window(
    maximum: int | None,
    *,
    kind: str,
    requested: int | None,
    override: int | None,
    ollama_bound: int,
) -> int | None:
    """The window to fit into (None: unknown, nothing is fitted). `maximum`: what the
    provider says; `requested`: the person's context_length option; `override`: the model's
    in the settings."""
    if requested:
        return requested
    if override:
        return override
    if kind == "ollama":
        return min(maximum, ollama_bound) if maximum else ollama_bound
    return maximum


def reply_room(window: int, max_tokens: int | None, setting: int | None) -> int:
    """Tokens kept free for the reply; never more than half the window, so a long
    `max_tokens` cannot leave no room for the conversation itself."""
    if max_tokens:
        room = max_tokens
    elif setting:
        room = setting
    else:
        room = min(window // 4, DEFAULT_REPLY_ROOM)
    return max(1, min(room, window // 2))


def int_option(options: Mapping[str, object], name: str) -> int | None:
    value = options.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class OllamaContextSizes:
    """The `num_ctx` each Ollama model was last sent, so the next request sends the same one
    unless it needs more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, int] = {}

    def choose(self, model_id: str, needed: int, limit: int) -> int:
        step = next((s for s in NUM_CTX_STEPS if s >= needed), NUM_CTX_STEPS[-1])
        with self._lock:
            size = min(max(step, self._sent.get(model_id, 0)), limit)
            self._sent[model_id] = size
        return size


# --- the branch as it would be sent -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Labelled:
    """One message of the branch with its row's id ("" for the message not written yet) and
    its estimated tokens."""

    id: str
    message: ChatMessage
    tokens: int


@dataclass(frozen=True, slots=True)
class Branch:
    """What a reply would be sent, before fitting: the system prompt and the messages."""

    system: str
    messages: tuple[Labelled, ...]

    def all(self) -> list[ChatMessage]:
        return assemble(self.system, None, self.messages)


def labelled(records: Sequence[MessageRecord],
             build: Callable[[MessageRecord], list[ChatMessage]]) -> tuple[Labelled, ...]:
    """The branch's messages with their ids; `build` turns one record into the message the
    model receives (none for an empty one), so the rules of `context.py` apply unchanged."""
    out = []
    for record in records:
        for message in build(record):
            out.append(Labelled(record.id, message, tokens.message_tokens(message)))
    return tuple(out)


def system_text(system: str, summary: str | None) -> str:
    note = f"{SUMMARY_HEADING}\n{summary.strip()}" if summary else ""
    return "\n\n".join(part for part in (system, note) if part)


def assemble(system: str, summary: str | None, kept: Sequence[Labelled]) -> list[ChatMessage]:
    """One system message (the chat's instructions, then the summary note), then the kept
    turns: some chat templates accept a system message only at the start."""
    text = system_text(system, summary)
    head = [ChatMessage("system", text)] if text else []
    return head + [item.message for item in kept]


def turn_starts(messages: Sequence[Labelled]) -> list[int]:
    """Where each turn starts: at every user message (and at 0, whatever it is)."""
    starts = [i for i, item in enumerate(messages) if item.message.role == "user"]
    return starts if starts and starts[0] == 0 else [0, *starts]


@dataclass(frozen=True, slots=True)
class Arrangement:
    """What is sent: the summary (if any) standing for `messages[:summarized]`, then
    `messages[summarized + dropped:]`."""

    summary: str | None
    summarized: int
    dropped: int
    prompt_tokens: int  # corrected estimate


class Counter:
    """Corrected estimates of assembled requests."""

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio

    def cost(self, system: str, summary: str | None, kept: Sequence[Labelled]) -> int:
        return self.cost_of(system, summary, sum(item.tokens for item in kept))

    def cost_of(self, system: str, summary: str | None, kept_tokens: int) -> int:
        text = system_text(system, summary)
        head = tokens.MESSAGE_OVERHEAD + tokens.text_tokens(text) if text else 0
        return tokens.corrected(tokens.PROMPT_OVERHEAD + head + kept_tokens, self.ratio)


def arrange(branch: Branch, budget: int, counter: Counter, *, summary: str | None = None,
            summarized: int = 0) -> Arrangement:
    """Drop the oldest whole turns after the first `summarized` messages (which `summary`
    stands for) until the rest fits `budget`; the last turn always stays."""
    rest = branch.messages[summarized:]
    total = sum(item.tokens for item in rest)
    starts = turn_starts(rest)
    dropped = 0
    cost = counter.cost_of(branch.system, summary, total)
    for start in starts[1:]:
        if cost <= budget:
            break
        total -= sum(item.tokens for item in rest[dropped:start])
        dropped = start
        cost = counter.cost_of(branch.system, summary, total)
    return Arrangement(summary, summarized, dropped, cost)


def last_turn_start(messages: Sequence[Labelled]) -> int:
    return turn_starts(messages)[-1]


def latest_summary(messages: Sequence[Labelled],
                   summaries: Mapping[str, SummaryRecord]) -> int | None:
    """The index of the newest message before the last turn that a summary ends at."""
    keep_from = last_turn_start(messages)
    return next((i for i in range(keep_from - 1, -1, -1) if messages[i].id in summaries), None)


@dataclass(frozen=True, slots=True)
class Fitted:
    """A reply's messages after fitting, the options the window adds (Ollama's num_ctx) and
    the facts recorded as the reply's `meta.context`."""

    messages: list[ChatMessage]
    options: Options = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


# --- summaries -------------------------------------------------------------------------------


def transcript(messages: Sequence[Labelled]) -> str:
    lines = []
    for item in messages:
        speaker = SPEAKERS.get(item.message.role, item.message.role)
        images = " [an image]" * len(item.message.images)
        lines.append(f"{speaker}: {item.message.content.strip()}{images}")
    return "\n\n".join(lines)


def summary_tokens(window: int | None) -> int:
    """The longest summary asked for: at most a quarter of the summarizing model's window."""
    return min(SUMMARY_TOKENS, window // 4) if window else SUMMARY_TOKENS


def summary_request(earlier: str | None, messages: Sequence[Labelled],
                    window: int | None) -> list[ChatMessage]:
    """What the summarizing model receives: the instructions, the earlier summary if any, and
    the turns as a transcript, its oldest part cut when it would not fit that model's window
    with room for the summary."""
    parts = [f"{EARLIER_SUMMARY}\n{earlier.strip()}"] if earlier else []
    text = transcript(messages)
    if window:
        fixed = tokens.prompt_tokens([ChatMessage("system", SUMMARIZER_PROMPT),
                                      ChatMessage("user", "\n\n".join(parts))])
        chars = max(0, window - summary_tokens(window) - fixed - 8) * tokens.CHARS_PER_TOKEN
        if len(text) > chars:
            text = "…" + text[len(text) - chars:]
    parts.append(f"{TRANSCRIPT_HEADING}\n\n{text}")
    return [ChatMessage("system", SUMMARIZER_PROMPT), ChatMessage("user", "\n\n".join(parts))]


def write_summary(router: Router, model: ResolvedModel, messages: list[ChatMessage],
                  options: dict[str, JSONValue]) -> str:
    """The summarizing model's answer, whole; raises ProviderError when it fails or writes
    nothing."""
    request = ChatRequest(model=model.name, messages=tuple(messages), think=None,
                          options=options)
    parts = [event.text for event in router.stream_chat(model, request, Cancel())
             if isinstance(event, TextDelta)]
    text = "".join(parts).strip()
    if not text:
        raise ProviderError(f"{model.id} wrote an empty summary.")
    return text


# --- the service -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sizes:
    window: int | None
    reply_room: int
    requested: int | None


class Windows:
    """Window facts and fitting for the chat service: it reads the settings, the model facts,
    the summaries of the store, and remembers Ollama's num_ctx per model."""

    def __init__(
        self,
        capabilities: Capabilities,
        settings: Callable[[], ContextWindow],
        summaries_for: Callable[[Sequence[str]], dict[str, SummaryRecord]],
        save_summary: Callable[..., SummaryRecord],
    ) -> None:
        self._capabilities = capabilities
        self._settings = settings
        self._summaries_for = summaries_for
        self._save_summary = save_summary
        self.ollama_sizes = OllamaContextSizes()

    def sizes(self, model: ResolvedModel, options: Mapping[str, object],
              override: int | None) -> Sizes:
        settings = self._settings()
        requested = int_option(options, "context_length")
        maximum = None if requested or override else self._capabilities.window(model)
        window = model_window(
            maximum, kind=model.provider.config.kind, requested=requested, override=override,
            ollama_bound=settings.max_ollama_context,
        )
        room = reply_room(window, int_option(options, "max_tokens"), settings.reply_room) \
            if window else 0
        return Sizes(window, room, requested)

    def ratio(self, branch_records: Sequence[MessageRecord], branch: Branch, model_id: str,
              summaries: Mapping[str, SummaryRecord]) -> float:
        """How far off the estimate was for the last reply of this model on the branch that
        reported its prompt tokens: what it said over the estimate of what it was sent."""
        ids = [item.id for item in branch.messages]
        for record in reversed(branch_records):
            if record.role != "assistant" or record.model != model_id or record.plan:
                continue
            reported = (record.usage or {}).get("prompt_tokens")
            context = (record.meta or {}).get("context")
            if not isinstance(reported, int) or not isinstance(context, dict):
                continue
            if record.parent_id not in ids:
                return 1.0
            before = branch.messages[:ids.index(record.parent_id) + 1]
            summarized = int(context.get("summarized_messages") or 0)
            dropped = int(context.get("dropped_messages") or 0)
            until = context.get("summary_until")
            summary = summaries[until].content if isinstance(until, str) and until in summaries \
                else None
            sent = before[summarized + dropped:]
            estimate = Counter(1.0).cost(branch.system, summary, sent)
            return tokens.correction(reported, estimate)
        return 1.0

    def fit(
        self,
        branch: Branch,
        records: Sequence[MessageRecord],
        model: ResolvedModel,
        router: Router,
        *,
        policy: Policy,
        options: Mapping[str, object],
        override: int | None,
        session_id: str,
    ) -> Fitted:
        """The messages to send and what the window adds to the request; raises
        ExceedsWindow when the message being answered does not fit even alone."""
        sizes = self.sizes(model, options, override)
        stored_ids = [item.id for item in branch.messages if item.id]
        summaries = self._summaries_for(stored_ids) if stored_ids else {}
        counter = Counter(self.ratio(records, branch, model.id, summaries))
        if sizes.window is None:
            messages = branch.all()
            cost = counter.cost(branch.system, None, branch.messages)
            return Fitted(messages, {}, context_meta(None, cost, 0, 0))
        budget = sizes.window - sizes.reply_room
        keep_from = last_turn_start(branch.messages)
        minimum = counter.cost(branch.system, None, branch.messages[keep_from:])
        if minimum > budget:
            raise ExceedsWindow(
                f"This message is too long for the model's context window: with the chat's "
                f"instructions it takes about {minimum:,} tokens, and the model reads "
                f"{sizes.window:,} at most, {sizes.reply_room:,} of them kept for the reply. "
                "Shorten it, attach less, or pick a model with a larger window."
            )
        arrangement = alone = arrange(branch, budget, counter)
        extra: dict[str, Any] = {}
        if alone.dropped and policy.mode == "summarize":
            arrangement, extra = self._summarized(
                branch, budget, counter, summaries, model, router, policy, session_id
            )
        messages = assemble(branch.system, arrangement.summary,
                            branch.messages[arrangement.summarized + arrangement.dropped:])
        options_added: Options = {}
        if sizes.requested:
            options_added["context_length"] = sizes.requested
        elif model.provider.config.kind == "ollama":
            options_added["context_length"] = self.ollama_sizes.choose(
                model.id, arrangement.prompt_tokens + sizes.reply_room, sizes.window
            )
        meta = context_meta(sizes.window, arrangement.prompt_tokens, arrangement.dropped,
                            arrangement.summarized)
        return Fitted(messages, options_added, {**meta, **extra})

    def _summarized(
        self,
        branch: Branch,
        budget: int,
        counter: Counter,
        summaries: Mapping[str, SummaryRecord],
        model: ResolvedModel,
        router: Router,
        policy: Policy,
        session_id: str,
    ) -> tuple[Arrangement, dict[str, Any]]:
        """Reuse the branch's latest summary while what follows it fits; else summarize it
        with the turns after it, keeping recent turns worth half the budget so the next
        messages fit without another summary. A failure falls back to dropping."""
        messages = branch.messages
        keep_from = last_turn_start(messages)
        latest = latest_summary(messages, summaries)
        earlier = summaries[messages[latest].id] if latest is not None else None
        if earlier is not None and latest is not None:
            reused = arrange(branch, budget, counter, summary=earlier.content,
                             summarized=latest + 1)
            if reused.dropped == 0:
                return reused, {"summary_until": earlier.message_id}
        start = latest + 1 if latest is not None else 0
        split = self._split(branch, budget // 2, counter, start, keep_from)
        covered = messages[start:split]
        if not covered:
            return arrange(branch, budget, counter), {}
        summarizer_id = policy.model or model.id
        try:
            summarizer = router.model(summarizer_id)
            sizes = self.sizes(summarizer, {}, None)
            request = summary_request(earlier.content if earlier else None, covered, sizes.window)
            options: dict[str, JSONValue] = {"max_tokens": summary_tokens(sizes.window)}
            if summarizer.provider.config.kind == "ollama" and sizes.window:
                needed = tokens.prompt_tokens(request) + summary_tokens(sizes.window)
                options["context_length"] = self.ollama_sizes.choose(
                    summarizer.id, needed, sizes.window)
            text = write_summary(router, summarizer, request, options)
        except ProviderError as exc:
            log.info("the summary for %s failed: %s", session_id, exc.detail or exc)
            return arrange(branch, budget, counter), {"summary_error": (
                f"The older messages could not be summarized, so they were left out: "
                f"{exc.message}"
            )}
        last = covered[-1].id
        record = self._save_summary(
            message_id=last, session_id=session_id, content=text, model=summarizer_id,
            covered=(earlier.covered if earlier else 0) + len(covered),
        )
        return arrange(branch, budget, counter, summary=text, summarized=split), {
            "summary_until": record.message_id,
        }

    @staticmethod
    def _split(branch: Branch, target: int, counter: Counter, start: int, keep_from: int) -> int:
        """Where the kept turns begin: the oldest turn start after `start` from which the rest
        costs at most `target` (the last turn always stays)."""
        messages = branch.messages
        starts = [s for s in turn_starts(messages) if start < s <= keep_from] or [keep_from]
        for begin in starts:
            if counter.cost(branch.system, None, messages[begin:]) <= target:
                return begin
        return keep_from

    def meter(self, branch: Branch, records: Sequence[MessageRecord], model: ResolvedModel,
              *, policy: Policy, options: Mapping[str, object],
              override: int | None) -> dict[str, Any]:
        """What the composer's meter shows: the tokens the next request would take as the
        branch stands (with the summary it would reuse), the window and the reply's room."""
        sizes = self.sizes(model, options, override)
        stored_ids = [item.id for item in branch.messages if item.id]
        summaries = self._summaries_for(stored_ids) if stored_ids else {}
        counter = Counter(self.ratio(records, branch, model.id, summaries))
        used = counter.cost(branch.system, None, branch.messages)
        if sizes.window and used > sizes.window - sizes.reply_room and policy.mode == "summarize":
            latest = latest_summary(branch.messages, summaries)
            if latest is not None:
                used = counter.cost(branch.system, summaries[branch.messages[latest].id].content,
                                    branch.messages[latest + 1:])
        return {"window": sizes.window, "used": used, "reply_room": sizes.reply_room,
                "policy": policy.to_json()}


def context_meta(window: int | None, prompt_tokens: int, dropped: int,
                 summarized: int) -> dict[str, Any]:
    return {"window": window, "prompt_tokens": prompt_tokens, "dropped_messages": dropped,
            "summarized_messages": summarized}
