"""The OpenAI-compatible endpoint: `/v1/models` and `/v1/chat/completions` for every
provider, with the model ids of `/api/models` (see openai_api/)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...chat.capabilities import think_parameter
from ...chat.recorded import recordable
from ...openai_api.answers import Answer, DirectAnswer, RecordedAnswer, streamed, whole
from ...openai_api.models import model_list, model_object
from ...openai_api.requests import completion_request
from ...openai_api.responses import Completion
from ...providers.base import ChatRequest
from ...providers.errors import ModelNotFound
from .. import services
from ..access import check_tokens, current_client, meter
from ..streaming import event_stream
from ..validation import json_body

bp = Blueprint("openai", __name__)


@bp.get("/v1/models")
def list_models() -> ResponseReturnValue:
    models, _ = services().router().list_all()
    return model_list(models)


@bp.get("/v1/models/<path:model_id>")
def get_model(model_id: str) -> ResponseReturnValue:
    models, _ = services().router().list_all()
    for model in models:
        if model.id == model_id:
            return model_object(model)
    raise ModelNotFound(f"There is no model “{model_id}”. GET /v1/models lists them.")


@bp.post("/v1/chat/completions")
def chat_completions() -> ResponseReturnValue:
    asked = completion_request(json_body())
    app = services()
    router = app.router()
    model = router.model(asked.model)
    think = asked.think
    if think is not None:
        think = think_parameter(think, app.chat.capabilities.facts(model), model.name)
    request = ChatRequest(model=model.name, messages=asked.messages, think=think,
                          options=dict(asked.options), tools=asked.tools)
    completion = Completion(asked.model, asked.messages)
    check_tokens()
    answer: Answer
    if asked.store and current_client().record and recordable(asked.messages):
        recorded = RecordedAnswer(app.chat, router, model, request, asked.options, completion)
        meter(recorded.generation)
        answer = recorded
    else:
        direct = DirectAnswer(router, model, request, completion)
        meter(direct)
        answer = direct
    if asked.stream:
        return event_stream(streamed(answer, asked.include_usage))
    return whole(answer)
