"""A send's JSON body becomes one `SendRequest`: a field left out is UNSET, which is not null."""

from __future__ import annotations

import pytest

from openchat_desktop.chat import UNSET, SendRequest
from openchat_desktop.chat.planning import PlanModels
from openchat_desktop.errors import InvalidRequest
from openchat_desktop.server.routes.chat import send_request


def test_fields_left_out_are_unset():
    assert send_request("s1", {"message": "hi"}) == SendRequest(session_id="s1", text="hi")
    request = send_request("s1", {"message": "hi"})
    assert (request.parent_id, request.think, request.plan) == (UNSET, UNSET, UNSET)
    assert (request.model, request.attachment_ids, request.ignore_vision_warning) == \
        (None, (), False)


def test_null_is_given_and_differs_from_unset():
    request = send_request("s1", {"message": "hi", "parent_id": None, "think": None,
                                  "plan": None})
    assert (request.parent_id, request.think, request.plan) == (None, None, None)


def test_every_field_is_read():
    body = {
        "message": "", "model": "ollama/qwen3:8b", "parent_id": "m1", "think": "high",
        "plan": {"planner": "ollama/a", "executor": "ollama/b"},
        "attachments": ["a1", "a2"], "ignore_vision_warning": True,
    }
    assert send_request("s1", body) == SendRequest(
        session_id="s1", text="", model="ollama/qwen3:8b", parent_id="m1", think="high",
        plan=PlanModels("ollama/a", "ollama/b"), attachment_ids=("a1", "a2"),
        ignore_vision_warning=True,
    )
    assert send_request("s1", {"message": "x", "think": False}).think is False


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "`message` is required"),
        ({"message": 7}, "`message` must be a string"),
        ({"message": "x", "colour": "red"}, "Unknown field(s): colour"),
        ({"message": "x", "model": 3}, "`model` must be a string"),
        ({"message": "x", "model": "m" * 501}, "`model` is longer than 500"),
        ({"message": "x", "parent_id": 5}, "`parent_id` must be a string"),
        ({"message": "x", "think": "max"}, "`think` must be true, false, null"),
        ({"message": "x", "plan": {"planner": "ollama/a"}}, "`plan` must be null or an object"),
        ({"message": "x", "plan": {"planner": "", "executor": "b/c"}}, "`plan.planner`"),
        ({"message": "x", "attachments": "a1"}, "`attachments` must be a list"),
        ({"message": "x", "attachments": [1]}, "`attachments` must be a list of attachment"),
        ({"message": "x", "attachments": ["a", "a"]}, "lists the same file twice"),
        ({"message": "x", "model": True}, "`model` has the wrong type"),
        ({"message": "x", "ignore_vision_warning": 1}, "`ignore_vision_warning` must be true"),
    ],
)
def test_a_wrong_shape_is_refused_before_anything_is_sent(body, words):
    with pytest.raises(InvalidRequest) as caught:
        send_request("s1", body)
    assert words in caught.value.message
