"""The OpenAI-compatible endpoint: `/v1/models` and `/v1/chat/completions` for every
provider, with the model ids of `/api/models` (see openai_api/)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from ...openai_api.answers import start_answer, streamed, whole
from ...openai_api.models import model_list, model_object
from ...openai_api.requests import completion_request
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
    check_tokens()
    app = services()
    answer = start_answer(app.chat, app.router(), asked, record=current_client().record)
    meter(answer.metered)
    if asked.stream:
        return event_stream(streamed(answer, asked.include_usage))
    return whole(answer)
