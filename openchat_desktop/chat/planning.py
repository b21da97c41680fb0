"""Plan Mode: a planning model writes a numbered checklist, then an executing model answers
with the plan in front of it. Both run inside one generation on the server: to the engine the
plan is the phase "plan" writing the text stream `PLAN`, and the answer the phase "executor".

Every rule about what each model receives is here, in one place:

- The planner gets one system message — `PLANNER_PROMPT`, followed (when the chat has a role
  or its own system prompt) by those instructions under `PLANNER_INSTRUCTIONS_HEADING` — and
  then the branch, exactly as a normal reply would see it.
- The executor gets the normal context (see `context.py`), except that the last
  user message is followed, in the same message, by `PLAN_HEADING` and the plan. Keeping it
  in the user's turn keeps one system message at the start and user/assistant turns
  alternating, which some chat templates require.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from ..engine import NamedText, Phase, StreamEvent, StreamFactory
from ..errors import InvalidRequest
from ..providers.base import Cancel, ChatMessage, ChatRequest, FallingBack, TextDelta, Waiting
from ..providers.errors import ProviderError
from ..providers.router import ResolvedModel, Router
from .errors import EmptyPlan

PLANNER_PROMPT = (
    "You are the planning step of a two-step assistant. Do not answer the user's last "
    "message. Write a short plan for answering it: a numbered checklist of 3 to 7 steps, "
    "one line each, in the language of the user's message. Reply with the checklist only."
)
PLANNER_INSTRUCTIONS_HEADING = "The answer will be written under these instructions:"
PLAN_HEADING = "Plan to follow (written in a planning step; follow it, do not repeat it):"
MODEL_ID_CHARS = 500
PLAN = "plan"  # the plan's text stream: `plan` events, the reply's `plan` field and column


@dataclass(frozen=True, slots=True)
class PlanModels:
    """The two models of Plan Mode, as `"<provider id>/<model name>"` ids."""

    planner: str
    executor: str

    def to_json(self) -> dict[str, str]:
        return {"planner": self.planner, "executor": self.executor}

    @classmethod
    def stored(cls, value: object) -> PlanModels | None:
        """A chat's `plan_mode` as stored (checked when it was set)."""
        if not isinstance(value, dict):
            return None
        return cls(str(value.get("planner")), str(value.get("executor")))


@dataclass(frozen=True, slots=True)
class ResolvedPlan:
    """Plan Mode's two models, each looked up once."""

    planner: ResolvedModel
    executor: ResolvedModel

    @property
    def models(self) -> PlanModels:
        return PlanModels(self.planner.id, self.executor.id)


def resolve_plan(models: PlanModels, router: Router) -> ResolvedPlan:
    """The chat's stored Plan Mode: its models were checked when it was set, here only that
    their providers still exist."""
    return ResolvedPlan(router.model(models.planner), router.model(models.executor))


def with_fallbacks(plan: ResolvedPlan, router: Router,
                   fallbacks: Callable[[str], Sequence[str]]) -> ResolvedPlan:
    """Plan Mode's models, each with its fallbacks (`fallbacks(model id)`)."""
    return ResolvedPlan(
        router.model(plan.planner.id, fallbacks(plan.planner.id)),
        router.model(plan.executor.id, fallbacks(plan.executor.id)),
    )


def planner_messages(context: list[ChatMessage]) -> list[ChatMessage]:
    """What the planner receives: the planning prompt (with the chat's instructions), then the
    branch. `context` is the normal context, a leading system message included if any."""
    system = PLANNER_PROMPT
    rest = context
    if context and context[0].role == "system":
        system = f"{PLANNER_PROMPT}\n\n{PLANNER_INSTRUCTIONS_HEADING}\n{context[0].content}"
        rest = context[1:]
    return [ChatMessage("system", system), *rest]


def executor_messages(context: list[ChatMessage], plan: str) -> list[ChatMessage]:
    """What the executor receives: the normal context, the plan added to the last user
    message."""
    messages = list(context)
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            last = messages[index]
            text = f"{last.content}\n\n{PLAN_HEADING}\n{plan.strip()}"
            messages[index] = replace(last, content=text)
            break
    return messages


def plan_and_answer(
    router: Router,
    plan: ResolvedPlan,
    request: ChatRequest,
    *,
    planner_sees: bool = True,
    answer: Callable[[ChatRequest], StreamFactory] | None = None,
) -> StreamFactory:
    """The generation's stream: phase "plan" streams the planner's text as `PLAN` text (its
    reasoning and usage are not kept), then phase "executor" streams the answer. The same
    `cancel` closes whichever request is running; a failed or empty plan ends the reply
    before the executor is asked. A planner known to lack vision (`planner_sees` False) gets
    the messages without their images; the executor still gets them. `answer` makes the
    executor's stream from its request (the tool loop, so only the executor gets tools; the
    planner only plans); unset, the executor is asked once."""
    context = list(request.messages)
    planner_context = context if planner_sees else [replace(m, images=()) for m in context]

    def stream(cancel: Cancel) -> Iterator[StreamEvent]:
        yield Phase("plan", plan.planner.id, stream=PLAN)
        # The reply's options are the executor's (its model's defaults, a length cap for the
        # answer): the planner writes its plan with its server's own.
        planner_request = replace(
            request, messages=tuple(planner_messages(planner_context)), think=None, options={}
        )
        parts: list[str] = []
        for event in router.stream_chat(plan.planner, planner_request, cancel):
            if isinstance(event, TextDelta) and event.text:
                parts.append(event.text)
                yield NamedText(PLAN, event.text)
            elif isinstance(event, FallingBack | Waiting):
                yield event  # the plan phase takes the model that answers; a read ended
        if cancel.cancelled:
            return
        text = "".join(parts).strip()
        if not text:
            raise EmptyPlan(
                f"The planning model {plan.planner.id} wrote no plan, so the answer was not "
                "started. Try again, or pick another planner."
            )
        yield Phase("executor", plan.executor.id)
        executor_request = replace(request, messages=tuple(executor_messages(context, text)))
        if answer is None:
            yield from router.stream_chat(plan.executor, executor_request, cancel)
        else:
            yield from answer(executor_request)(cancel)

    return stream


def parse_plan(value: object, *, name: str = "plan") -> PlanModels | None:
    """A `plan` / `plan_mode` value from a request: null, or both models as model ids. 422
    otherwise. Whether the models exist is `check_known`'s question."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"planner", "executor"}:
        raise InvalidRequest(
            f"`{name}` must be null or an object with exactly `planner` and `executor`, "
            'each a model id such as "ollama/llama3.2:3b".'
        )
    ids = []
    for role in ("planner", "executor"):
        model_id = value[role]
        if not isinstance(model_id, str) or not model_id.strip():
            raise InvalidRequest(f"`{name}.{role}` must be a model id such as "
                                 '"ollama/llama3.2:3b".')
        if len(model_id) > MODEL_ID_CHARS:
            raise InvalidRequest(f"`{name}.{role}` is longer than {MODEL_ID_CHARS} characters.")
        ids.append(model_id)
    return PlanModels(*ids)


def check_known(models: PlanModels, router: Router, *, name: str = "plan") -> ResolvedPlan:
    """Both models are known: the provider exists and lists the model, or its settings name
    it. 422 otherwise."""
    return ResolvedPlan(
        _check_known(models.planner, router, f"{name}.planner"),
        _check_known(models.executor, router, f"{name}.executor"),
    )


def _check_known(model_id: str, router: Router, label: str) -> ResolvedModel:
    try:
        resolved = router.model(model_id)
    except ProviderError as exc:
        raise InvalidRequest(f"`{label}`: {exc.message}") from None
    provider, model = resolved.provider, resolved.name
    if model in provider.config.models:
        return resolved
    try:
        listed = provider.list_models()
    except ProviderError as exc:
        raise InvalidRequest(
            f"`{label}`: “{model_id}” cannot be checked because {provider.config.id} did not "
            f"answer ({exc.message})."
        ) from None
    if model not in {info.name for info in listed}:
        raise InvalidRequest(
            f"`{label}`: {provider.config.id} has no model “{model}”. Pick one from the model "
            "list."
        )
    return resolved
