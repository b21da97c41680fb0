"""Model options through the API against fake providers on 127.0.0.1: what each provider kind
receives (every option in its dialect, nothing that was not set), where the values come from
(request > chat > model > global settings), what a reply records, and the 422s that write
nothing."""

from __future__ import annotations

import pytest

from openchat_desktop.providers.base import ChatMessage, ChatRequest, ProviderConfig
from openchat_desktop.providers.openai_compat import OpenAICompatProvider

from .fake_provider import Reply
from .support import provider_settings, read_events

MODEL = "ollama/llama3.2:3b"
COMPAT = "compat/llama3.2:3b"

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "qwen3:8b", capabilities={"qwen3:8b": ["completion", "thinking"]},
)

EVERY_OPTION = {
    "temperature": 0.4, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "max_tokens": 128,
    "seed": 7, "stop": ["\n\nUser:", "###"], "repeat_penalty": 1.1, "presence_penalty": 0.5,
    "frequency_penalty": -0.5, "context_length": 8192, "keep_alive": "-1",
}
# An OpenAI-compatible server does not say which models take tools: the chat's are offered.
BASIC_OPENAI = {"model", "messages", "stream", "stream_options", "tools"}
BASIC_OLLAMA = {"model", "messages", "stream"}


@pytest.fixture
def default_model():
    return MODEL


@pytest.fixture
def app(start_server, both_kinds_settings):
    return start_server(both_kinds_settings)


def sent(fake, index: int = -1) -> dict:
    return fake.chat_requests()[index].body


def ollama_options(fake, index: int = -1) -> dict:
    """What Ollama got in `options`, less the window size OpenChat always sends it (`num_ctx`,
    chosen from a few steps: see test_context_window.py)."""
    options = dict(sent(fake, index).get("options", {}))
    assert options.pop("num_ctx") in (2048, 4096, 8192)
    return options


def reply_of(events) -> dict:
    assert events[-1][0] == "done", events[-1]
    return events[-1][1]["message"]


# --- each provider's dialect ------------------------------------------------------------------


def test_ollama_gets_every_option_under_its_own_names(app, fake):
    session = app.new_session(model=MODEL)
    events = app.chat(session["id"], {"message": "Hi", "options": EVERY_OPTION})
    body = sent(fake)
    assert set(body) == BASIC_OLLAMA | {"options", "keep_alive"}
    assert body["options"] == {
        "temperature": 0.4, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "num_predict": 128,
        "seed": 7, "stop": ["\n\nUser:", "###"], "repeat_penalty": 1.1, "presence_penalty": 0.5,
        "frequency_penalty": -0.5, "num_ctx": 8192,
    }
    assert body["keep_alive"] == -1  # a bare "-1" is not a Go duration: sent as seconds
    assert reply_of(events)["meta"]["options"] == EVERY_OPTION


def test_ollama_keep_alive_with_a_unit_goes_as_written(app, fake):
    session = app.new_session(model=MODEL)
    app.chat(session["id"], {"message": "Hi", "options": {"keep_alive": "10m"}})
    assert sent(fake)["keep_alive"] == "10m" and ollama_options(fake) == {}


def test_a_server_on_this_machine_gets_llamacpp_samplers_but_no_window_or_keep_alive(app, fake):
    session = app.new_session(model=COMPAT)
    events = app.chat(session["id"], {"message": "Hi", "options": EVERY_OPTION})
    body = sent(fake)
    assert fake.chat_requests()[-1].path == "/v1/chat/completions"
    assert {k: body[k] for k in set(body) - BASIC_OPENAI} == {
        "temperature": 0.4, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "max_tokens": 128,
        "seed": 7, "stop": ["\n\nUser:", "###"], "repeat_penalty": 1.1, "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
    }
    assert reply_of(events)["meta"]["options"] == EVERY_OPTION


def test_a_service_on_the_internet_gets_only_the_standard_fields():
    # Strict services refuse fields they do not know; OpenAI's own wants the newer cap.
    for base_url, cap in [("https://api.openai.com/v1", "max_completion_tokens"),
                          ("https://api.mistral.ai/v1", "max_tokens"),
                          ("https://openrouter.ai/api/v1", "max_tokens")]:
        config = ProviderConfig(id="cloud", kind="openai", base_url=base_url)
        request = ChatRequest("m", (ChatMessage("user", "Hi"),), options=dict(EVERY_OPTION))
        with OpenAICompatProvider(config) as provider:
            body = provider.chat_body(request)
        assert {k: body[k] for k in set(body) - BASIC_OPENAI} == {
            "temperature": 0.4, "top_p": 0.9, cap: 128, "seed": 7,
            "stop": ["\n\nUser:", "###"], "presence_penalty": 0.5, "frequency_penalty": -0.5,
        }, base_url


@pytest.mark.parametrize(("model", "where"), [(MODEL, "ollama"), (COMPAT, "openai")])
def test_nothing_is_sent_that_was_not_set(app, fake, model, where):
    session = app.new_session(model=model)
    events = app.chat(session["id"], {"message": "Hi"})
    if where == "ollama":
        assert set(sent(fake)) == BASIC_OLLAMA | {"options"} and ollama_options(fake) == {}
    else:
        assert set(sent(fake)) == BASIC_OPENAI
    assert "options" not in reply_of(events)["meta"]  # no options were in force
    assert app.patch(f"/api/sessions/{session['id']}",
                     {"options": {"max_tokens": 9}}).status_code == 200
    app.chat(session["id"], {"message": "Hi"})
    body = sent(fake)
    if where == "ollama":
        assert set(body) == BASIC_OLLAMA | {"options"} and ollama_options(fake) == {
            "num_predict": 9}
    else:
        assert set(body) == BASIC_OPENAI | {"max_tokens"} and body["max_tokens"] == 9


# --- where the values come from ---------------------------------------------------------------


LAYERED = """
[options]
temperature = 0.1
top_p = 0.5
seed = 1
max_tokens = 10

[models."ollama/llama3.2:3b"]
options = { temperature = 0.2, top_k = 5, stop = ["END"] }
context_length = 4096

[presets."Terse"]
max_tokens = 20
temperature = 0.3
"""


@pytest.fixture
def layered_settings(both_kinds_settings) -> str:
    return both_kinds_settings + LAYERED


@pytest.fixture
def layered_app(start_server, layered_settings):
    return start_server(layered_settings)


def test_the_request_wins_over_the_chat_the_chat_over_the_model_the_model_over_the_settings(
    layered_app, fake
):
    app = layered_app
    session = app.new_session(model=MODEL, options={"temperature": 0.3, "top_k": 7})
    assert session["options"] == {"temperature": 0.3, "top_k": 7}
    events = app.chat(session["id"], {
        "message": "Hi", "options": {"temperature": 0.4, "seed": None},
    })
    expected = {"temperature": 0.4, "top_p": 0.5, "top_k": 7, "max_tokens": 10,
                "stop": ["END"]}
    assert reply_of(events)["meta"]["options"] == expected
    assert ollama_options(fake) == {"temperature": 0.4, "top_p": 0.5, "top_k": 7,
                                    "num_predict": 10, "stop": ["END"]}
    # The request's options were for that reply only.
    app.chat(session["id"], {"message": "Again"})
    assert ollama_options(fake) == {"temperature": 0.3, "top_p": 0.5, "top_k": 7,
                                    "num_predict": 10, "seed": 1, "stop": ["END"]}


def test_another_model_does_not_get_the_first_ones_defaults(layered_app, fake):
    session = layered_app.new_session(model="ollama/qwen3:8b")
    layered_app.chat(session["id"], {"message": "Hi"})
    assert ollama_options(fake) == {"temperature": 0.1, "top_p": 0.5, "seed": 1,
                                    "num_predict": 10}


def test_a_null_in_the_chat_goes_back_to_the_models_default(layered_app, fake):
    app = layered_app
    session = app.new_session(model=MODEL)
    url = f"/api/sessions/{session['id']}"
    changed = app.patch(url, {"options": {"temperature": 1.5, "top_k": 9}}).json()
    assert changed["options"] == {"temperature": 1.5, "top_k": 9}
    changed = app.patch(url, {"options": {"temperature": None}}).json()
    assert changed["options"] == {"top_k": 9}
    app.chat(session["id"], {"message": "Hi"})
    assert sent(fake)["options"]["temperature"] == 0.2 and sent(fake)["options"]["top_k"] == 9
    assert app.patch(url, {"options": None}).json()["options"] is None
    app.chat(session["id"], {"message": "Again"})
    assert sent(fake)["options"]["top_k"] == 5


def test_the_options_list_shows_specs_presets_and_defaults(layered_app):
    listed = layered_app.get("/api/options").json()
    temperature = next(o for o in listed["options"] if o["name"] == "temperature")
    assert (temperature["min"], temperature["max"], temperature["type"]) == (0, 2, "number")
    assert temperature["help"]
    assert [o["name"] for o in listed["options"]] == list(EVERY_OPTION)
    assert listed["presets"] == [
        {"name": "Precise", "options": {"temperature": 0.2, "top_p": 0.9}, "builtin": True},
        {"name": "Balanced", "options": {"temperature": 0.7}, "builtin": True},
        {"name": "Creative", "options": {"temperature": 1.1, "top_p": 0.95}, "builtin": True},
        {"name": "Terse", "options": {"max_tokens": 20, "temperature": 0.3}, "builtin": False},
    ]
    assert listed["defaults"] == {"temperature": 0.1, "top_p": 0.5, "seed": 1, "max_tokens": 10}
    assert listed["models"] == {MODEL: {
        "options": {"temperature": 0.2, "top_k": 5, "stop": ["END"]}, "context_length": 4096,
    }}


def test_a_preset_set_on_the_chat_is_what_the_provider_gets(layered_app, fake):
    app = layered_app
    presets = {p["name"]: p["options"] for p in app.get("/api/options").json()["presets"]}
    session = app.new_session(model="compat/qwen3:8b", options=presets["Precise"])
    app.chat(session["id"], {"message": "Hi"})
    body = sent(fake)
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (
        0.2, 0.9, 10, 1)
    app.patch(f"/api/sessions/{session['id']}", {"options": presets["Terse"]})
    app.chat(session["id"], {"message": "Again"})
    assert (sent(fake)["temperature"], sent(fake)["max_tokens"]) == (0.3, 20)


def test_regenerate_takes_options_and_records_them(app, fake):
    session = app.new_session(model=MODEL, options={"temperature": 0.5})
    first = reply_of(app.chat(session["id"], {"message": "Hi"}))
    response = app.post(f"/api/messages/{first['id']}/regenerate",
                        {"options": {"seed": 42}}, stream=True)
    assert response.status_code == 200, response.text
    again = reply_of(read_events(response))
    assert again["meta"]["options"] == {"temperature": 0.5, "seed": 42}
    assert ollama_options(fake) == {"temperature": 0.5, "seed": 42}


def test_plan_modes_executor_gets_the_options_and_the_planner_its_servers_own(app, fake):
    fake.script(Reply(text="1. Greet"), Reply(text="Hello"))
    session = app.new_session(model=MODEL)
    events = app.chat(session["id"], {
        "message": "Hi", "options": {"temperature": 0.3},
        "plan": {"planner": "ollama/qwen3:8b", "executor": MODEL},
    })
    planner, executor = fake.chat_requests()[-2:]
    assert planner.body["model"] == "qwen3:8b" and "options" not in planner.body
    assert executor.body["model"] == "llama3.2:3b"
    assert ollama_options(fake) == {"temperature": 0.3}
    assert reply_of(events)["meta"]["options"] == {"temperature": 0.3}


# --- refusals ---------------------------------------------------------------------------------


BAD = [
    ({"temperature": -1}, "`options.temperature` must be a number from 0 to 2."),
    ({"temperature": 2.5}, "`options.temperature` must be a number from 0 to 2."),
    ({"temperature": "hot"}, "`options.temperature` must be a number from 0 to 2."),
    ({"top_p": True}, "`options.top_p` must be a number from 0 to 1."),
    ({"top_k": 1.5}, "`options.top_k` must be a whole number, 0 or more."),
    ({"max_tokens": 0}, "`options.max_tokens` must be a whole number, 1 or more."),
    ({"seed": "7"}, "`options.seed` must be a whole number."),
    ({"stop": ["a", "b", "c", "d", "e"]}, "`options.stop` must be a list of at most 4 texts"),
    ({"stop": [""]}, "`options.stop` must be a list of at most 4 texts"),
    ({"stop": [3]}, "`options.stop` must be a list of at most 4 texts"),
    ({"repeat_penalty": 0}, "`options.repeat_penalty` must be a number greater than 0"),
    ({"presence_penalty": 3}, "`options.presence_penalty` must be a number from -2 to 2."),
    ({"context_length": 100}, "`options.context_length` must be a whole number, 256 or more."),
    ({"keep_alive": "soon"}, '`options.keep_alive` must be a duration such as "5m"'),
    ({"colour": "blue"}, "`options.colour` is not an option; use one of temperature, top_p"),
]


@pytest.mark.parametrize(("options", "message"), BAD, ids=[next(iter(o)) + "-" + str(i)
                                                          for i, (o, _) in enumerate(BAD)])
def test_a_bad_option_is_refused_naming_it_and_the_send_writes_nothing(app, fake, options,
                                                                       message):
    session = app.new_session(model=MODEL)
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "Hi", "options": options})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(message)
    assert app.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []
    assert app.get(f"/api/sessions/{session['id']}").json()["title"] == "New chat"
    assert fake.chat_requests() == []


def test_options_that_are_not_an_object_are_refused(app):
    session = app.new_session(model=MODEL)
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "Hi", "options": [0.5]})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("`options` must be an object")


def test_a_bad_option_for_a_chat_or_a_regenerate_changes_nothing(app, fake):
    session = app.new_session(model=MODEL, options={"temperature": 0.5})
    url = f"/api/sessions/{session['id']}"
    response = app.patch(url, {"options": {"temperature": 0.1, "top_p": 7}})
    assert response.status_code == 422 and "`options.top_p`" in response.json()["error"]["message"]
    assert app.get(url).json()["options"] == {"temperature": 0.5}
    response = app.post("/api/sessions", {"options": {"colour": 1}})
    assert response.status_code == 422 and "`options.colour`" in response.json()["error"]["message"]

    first = reply_of(app.chat(session["id"], {"message": "Hi"}))
    response = app.post(f"/api/messages/{first['id']}/regenerate", {"options": {"seed": 0.5}})
    assert response.status_code == 422 and "`options.seed`" in response.json()["error"]["message"]
    assert app.get(f"/api/messages/{first['id']}/siblings").json()["messages"] == [
        app.get(f"/api/messages/{first['id']}").json()
    ]
    assert len(fake.chat_requests()) == 1


# --- the settings file ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "key", "words"), [
    ("[options]\ntemperature = 3\n", "options.temperature", "use a number from 0 to 2"),
    ("[options]\ncolour = 1\n", "options.colour", "is not an option"),
    ('[models."ollama/llama3.2:3b"]\noptions = { top_p = 2 }\n',
     'models["ollama/llama3.2:3b"].options.top_p', "use a number from 0 to 1"),
    ('[models."ollama/llama3.2:3b"]\ncontext_length = 10\n',
     'models["ollama/llama3.2:3b"].context_length', "256 or more"),
    ('[models."llama3"]\ncontext_length = 8192\n', "models.llama3", "is not a model id"),
    ('[models."ollama/llama3.2:3b"]\nwindow = 8192\n',
     'models["ollama/llama3.2:3b"].window', "is not a model setting"),
    ('[presets."Mine"]\nstop = ["a", "b", "c", "d", "e"]\n', "presets.Mine.stop",
     "at most 4 texts"),
    ("presets = 3\n", "presets", "write it as a table"),
])
def test_bad_options_in_the_settings_file_are_reported_and_the_app_still_runs(
    start_server, fake, both_kinds_settings, text, key, words
):
    # A key outside a table goes first, so it is not read as one of the last provider.
    app = start_server(text + "\n" + both_kinds_settings if "[" not in text[:1] else
                       both_kinds_settings + "\n" + text)
    problem = app.get("/api/settings").json()["problem"]
    assert problem["key"] == key and problem["fatal"] is True
    assert words in problem["message"] and problem["line"]
    # The file is set aside: the app runs on the defaults, with no options from it.
    assert app.get("/api/options").json()["defaults"] == {}
    assert app.get("/api/health").status_code == 200


def test_the_settings_api_shows_and_changes_the_option_tables(app):
    shown = app.get("/api/settings").json()["settings"]
    assert (shown["options"], shown["models"], shown["presets"]) == ({}, {}, {})
    changed = app.patch("/api/settings", {
        "options": {"temperature": 0.6},
        "models": {MODEL: {"options": {"top_k": 3}, "context_length": 16384}},
        "presets": {"Long": {"max_tokens": 4000}},
    })
    assert changed.status_code == 200, changed.text
    shown = changed.json()["settings"]
    assert shown["options"] == {"temperature": 0.6}
    assert shown["models"] == {MODEL: {"options": {"top_k": 3}, "context_length": 16384}}
    assert shown["presets"] == {"Long": {"max_tokens": 4000}}
    text = app.settings_path.read_text()
    assert "[options]\ntemperature = 0.6" in text and f'[models."{MODEL}"]' in text
    assert app.get("/api/options").json()["defaults"] == {"temperature": 0.6}
    refused = app.patch("/api/settings", {"options": {"temperature": -1}})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"].startswith("options.temperature is -1; use a")


def test_settings_and_provider_settings_compose(start_server, fake):
    app = start_server(provider_settings(("ollama", "ollama", fake.ollama_url),
                                         default_model=MODEL) + "\n[options]\ntop_k = 0\n")
    session = app.new_session()
    app.chat(session["id"], {"message": "Hi"})
    assert ollama_options(fake) == {"top_k": 0}
