"""Slash commands in headless Chromium: the parser and completer (commands.js, a pure module)
across many lines, and the completion list, hints and each command on the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_provider import Reply
from .support import message_box, send, shoot

MODELS = [
    {"id": "ollama/llama3.2:3b", "name": "llama3.2:3b"},
    {"id": "ollama/qwen3:8b", "name": "qwen3:8b"},
    {"id": "compat/qwen3:8b", "name": "qwen3:8b"},
    {"id": "compat/my model", "name": "my model"},
]
ROLES = [{"id": "r1", "name": "Translator"}, {"id": "r2", "name": "Code reviewer"}]


def options(page: Page):
    return page.locator("#slash-list [role=option] .slash-label")


def selected(page: Page):
    return page.locator("#slash-list [role=option][aria-selected=true] .slash-label")


def sessions(app) -> list[dict]:
    return app.get("/api/sessions").json()["sessions"]


def current_session(app) -> dict:
    found = sessions(app)
    assert len(found) == 1, found
    return found[0]


# --- commands.js on its own ---------------------------------------------------------------------


def evaluate(page: Page, script: str, arg):
    return page.evaluate(
        f"async (arg) => {{ const c = await import('/js/commands.js'); {script} }}", arg)


PARSE_CASES = [
    ("/new", {"ok": True, "command": "new"}),
    ("/clear", {"ok": True, "command": "clear"}),
    ("/NEW  ", {"ok": True, "command": "new"}),
    ("/help", {"ok": True, "command": "help"}),
    ("/models", {"ok": True, "command": "models"}),
    ("/roles", {"ok": True, "command": "roles"}),
    ("/clear_role", {"ok": True, "command": "clear_role"}),
    ("/model:plan-mode-off", {"ok": True, "command": "model:plan-mode-off"}),
    ("/model ollama/llama3.2:3b", {"ok": True, "command": "model", "model": "ollama/llama3.2:3b"}),
    ("/model OLLAMA/LLAMA3.2:3B", {"ok": True, "command": "model", "model": "ollama/llama3.2:3b"}),
    ("/model llama3.2:3b", {"ok": True, "command": "model", "model": "ollama/llama3.2:3b"}),
    ('/model "compat/my model"', {"ok": True, "command": "model", "model": "compat/my model"}),
    ("/model 'my model'", {"ok": True, "command": "model", "model": "compat/my model"}),
    ("/model:plan-mode ollama/qwen3:8b llama3.2:3b",
     {"ok": True, "command": "model:plan-mode", "planner": "ollama/qwen3:8b",
      "executor": "ollama/llama3.2:3b"}),
    ("/role Translator", {"ok": True, "command": "role", "role": ROLES[0]}),
    ("/role code REVIEWER", {"ok": True, "command": "role", "role": ROLES[1]}),
    ('/role "Code reviewer"', {"ok": True, "command": "role", "role": ROLES[1]}),
    ("/title  Trip to Lisbon ", {"ok": True, "command": "title", "title": "Trip to Lisbon"}),
]

ERROR_CASES = [
    ("/frobnicate", "Unknown command /frobnicate."),
    ("/", "Unknown command /."),
    ("/new please", "/new takes no arguments."),
    ("/help me", "/help takes no arguments."),
    ("/model", "/model needs a model, for example /model ollama/llama3.2:3b."),
    ("/model nope", "There is no model “nope”. Type /models to list them."),
    ("/model qwen3:8b", "“qwen3:8b” is offered by several providers: ollama/qwen3:8b, "
     "compat/qwen3:8b. Type the full id."),
    ("/model a b", "/model takes one model; remove “b”."),
    ('/model "compat/my model', "A quote is not closed."),
    ("/model:plan-mode llama3.2:3b", "/model:plan-mode needs two models"),
    ("/model:plan-mode llama3.2:3b llama3.2:3b x", "takes two models; remove “x”."),
    ("/model:plan-mode llama3.2:3b nope", "There is no model “nope”."),
    ("/role", "/role needs a role name"),
    ("/role Pirate", "There is no role “Pirate”. Type /roles to create it."),
    ("/title", "/title needs the new title"),
    ("/title   ", "/title needs the new title"),
]


def test_commands_parse_into_meanings_and_clear_errors(page):
    context = {"models": MODELS, "roles": ROLES}
    results = evaluate(page, "return arg.lines.map((line) => c.parse(line, arg.context));",
                       {"lines": [line for line, _ in PARSE_CASES + ERROR_CASES],
                        "context": context})
    for (line, expected), result in zip(PARSE_CASES, results, strict=False):
        assert result == expected, line
    for (line, words), result in zip(ERROR_CASES, results[len(PARSE_CASES):], strict=True):
        assert result["ok"] is False and words in result["error"], (line, result)
    assert evaluate(page, "return [c.isCommand('/x'), c.isCommand(' /x'), c.isCommand('hi')];",
                    None) == [True, False, False]


def test_commands_complete_names_and_arguments(page):
    script = """
      return arg.lines.map((line) => {
        const found = c.complete(line, arg.context);
        return found && { from: found.from, inserts: found.items.map((i) => i.insert),
                          after: found.items.map((i) => c.applyCompletion(line, found, i)) };
      });"""
    lines = ["/", "/mo", "/model", "/plan", "/role ", "/role co", '/role "Tr', "/model ",
             "/model qw", "/model:plan-mode ", "/model:plan-mode qwen3:8b ", "/model my",
             "/model:plan-mode a b ", "/title ", "/nope ", "hello", "/new\nmore"]
    found = dict(zip(lines, evaluate(page, script, {"lines": lines,
                                                   "context": {"models": MODELS, "roles": ROLES}}),
                     strict=True))
    assert found["/"]["inserts"][:3] == ["/new", "/clear", "/model "]
    assert len(found["/"]["inserts"]) == 11
    assert found["/mo"]["inserts"] == ["/model ", "/models", "/model:plan-mode ",
                                       "/model:plan-mode-off"]
    assert found["/model"]["inserts"][0] == "/model "  # the exact name first
    assert found["/plan"]["inserts"] == ["/model:plan-mode ", "/model:plan-mode-off"]
    assert found["/role "]["inserts"] == ["Code reviewer", "Translator"] or \
        found["/role "]["inserts"] == ["Translator", "Code reviewer"]
    assert found["/role co"]["after"] == ["/role Code reviewer"]
    assert found['/role "Tr']["after"] == ["/role Translator"]
    assert found["/model "]["inserts"] == ["ollama/llama3.2:3b", "ollama/qwen3:8b",
                                           "compat/qwen3:8b", '"compat/my model"']
    assert found["/model qw"]["after"] == ["/model ollama/qwen3:8b", "/model compat/qwen3:8b"]
    assert found["/model:plan-mode "]["inserts"][0] == "ollama/llama3.2:3b "  # one more to go
    assert found["/model:plan-mode qwen3:8b "]["inserts"][0] == "ollama/llama3.2:3b"  # the last
    assert found["/model my"]["after"] == ['/model "compat/my model"']
    for done in ("/model:plan-mode a b ", "/title ", "/nope "):
        assert found[done]["inserts"] == [], done
    assert found["hello"] is None and found["/new\nmore"] is None


# --- the completion list on the page ------------------------------------------------------------


def test_slash_opens_the_list_and_keys_pick(page, app):
    box = message_box(page)
    box.press_sequentially("/")
    expect(page.locator("#slash-list")).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(options(page)).to_have_count(11)
    expect(selected(page)).to_have_text("/new")
    shoot(page, "slash-list")
    box.press_sequentially("mo")
    expect(options(page)).to_have_text(["/model <name>", "/models",
                                        "/model:plan-mode <planner> <executor>",
                                        "/model:plan-mode-off"])
    box.press("ArrowDown")
    expect(selected(page)).to_have_text("/models")
    box.press("ArrowUp")
    box.press("ArrowUp")  # wraps around
    expect(selected(page)).to_have_text("/model:plan-mode-off")
    box.press("ArrowDown")
    box.press("ArrowDown")
    box.press("Tab")
    expect(box).to_have_value("/models")
    expect(box).to_be_focused()
    box.press("Enter")  # complete: runs
    expect(page.locator("#slash-output")).to_contain_text("ollama/llama3.2:3b")
    expect(page.locator("#slash-output")).to_contain_text("ollama/qwen3:8b")
    expect(box).to_have_value("")
    expect(page.locator("#slash-list")).to_be_hidden()
    box.press_sequentially("/he")
    box.press("Escape")  # closes the list only
    expect(page.locator("#slash-list")).to_be_hidden()
    expect(box).to_have_value("/he")
    assert sessions(app) == []


def test_arguments_complete_model_and_role_names(page, app):
    app.post("/api/roles", {"name": "Translator", "instructions": "Translate to French."})
    app.post("/api/roles", {"name": "Code reviewer", "instructions": "Review code."})
    page.reload()
    box = message_box(page)
    box.press_sequentially("/model ")
    expect(options(page)).to_have_text(["ollama/llama3.2:3b", "ollama/qwen3:8b"])
    box.press_sequentially("qw")
    expect(options(page)).to_have_text(["ollama/qwen3:8b"])
    shoot(page, "slash-model-argument")
    box.press("Enter")  # fills in the model and runs: it was the last argument
    expect(page.locator("#model-select")).to_have_value("ollama/qwen3:8b")
    expect(box).to_have_value("")
    box.press_sequentially("/role ")
    expect(options(page)).to_have_text(["Code reviewer", "Translator"])
    box.press_sequentially("tr")
    box.press("Enter")
    expect(page.locator("#role-chip")).to_contain_text("Role: Translator")
    session = current_session(app)
    translator = next(r for r in app.get("/api/roles").json()["roles"]
                      if r["name"] == "Translator")
    assert session["role_id"] == translator["id"]
    box.press_sequentially("/model llama3.2:3b")
    box.press("Escape")
    box.press("Enter")
    expect(page.locator("#model-select")).to_have_value("ollama/llama3.2:3b")
    expect(page.locator("#slash-status")).to_have_text("Model: ollama/llama3.2:3b")
    assert current_session(app)["model"] == "ollama/llama3.2:3b"


def test_unknown_commands_and_bad_arguments_are_never_sent(page, app, fake):
    fake.script(Reply(text="First answer."))
    send(page, "hello")
    expect(page.locator("article.message.assistant")).to_have_attribute("data-status", "complete")
    session = current_session(app)
    box = message_box(page)
    for line, words in [("/frobnicate now", "Unknown command /frobnicate"),
                        ("/model nope", "There is no model “nope”"),
                        ("/clear please", "/clear takes no arguments"),
                        ("/role Pirate", "There is no role “Pirate”")]:
        box.fill(line)
        box.press("Escape")  # close the list, if it opened, so Enter runs the line
        box.press("Enter")
        expect(page.locator("#slash-hint")).to_contain_text(words)
        expect(box).to_have_value(line)  # kept to fix
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#slash-hint")).to_contain_text("There is no role")
    shoot(page, "slash-hint")
    messages = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [m["content"] for m in messages] == ["hello", "First answer."]
    assert len(fake.chat_requests()) == 1
    box.fill(" /frobnicate is a word")  # a leading space sends it as a message
    box.press("Enter")
    expect(page.locator("article.message.user")).to_have_count(2)
    expect(page.locator("#slash-hint")).to_be_hidden()


def test_title_new_help_and_roles_commands(page, app, fake):
    box = message_box(page)
    box.fill("/help")
    box.press("Enter")
    output = page.locator("#slash-output")
    expect(output).to_contain_text("/model:plan-mode <planner> <executor>")
    expect(output).to_contain_text("/title <text>")
    box.press("Escape")
    expect(output).to_be_hidden()
    box.fill("/title Trip to Lisbon")
    box.press("Escape")
    box.press("Enter")
    expect(page.locator("#chat-title")).to_have_text("Trip to Lisbon")
    expect(page.get_by_role("navigation", name="Chats")).to_contain_text("Trip to Lisbon")
    assert current_session(app)["title"] == "Trip to Lisbon"
    fake.script(Reply(text="Hi."))
    send(page, "hi")
    expect(page.locator("article.message.assistant")).to_have_attribute("data-status", "complete")
    box.fill("/new")
    box.press("Enter")
    expect(page.locator("article.message")).to_have_count(0)
    expect(page.locator("#chat-title")).to_have_text("New chat")
    box.fill("/roles")
    box.press("Enter")
    expect(page.get_by_role("dialog", name="Roles")).to_be_visible()


def test_plan_mode_commands_and_header_indicator(page, app):
    app.post("/api/roles", {"name": "Translator", "instructions": "Translate."})
    page.reload()
    box = message_box(page)
    box.fill("/model:plan-mode qwen3:8b llama3.2:3b")
    box.press("Enter")
    chip = page.locator("#plan-chip")
    expect(chip).to_be_visible()
    expect(chip).to_contain_text("Plan: qwen3:8b → llama3.2:3b")
    assert current_session(app)["plan_mode"] == {"planner": "ollama/qwen3:8b",
                                                 "executor": "ollama/llama3.2:3b"}
    page.reload()  # kept with the chat
    expect(page.locator("#plan-chip")).to_contain_text("Plan: qwen3:8b → llama3.2:3b")
    box.fill("/model:plan-mode-off")
    box.press("Enter")
    expect(page.locator("#plan-chip")).to_be_hidden()
    assert current_session(app)["plan_mode"] is None
    box.fill("/model:plan-mode-off")
    box.press("Enter")
    expect(page.locator("#slash-hint")).to_have_text("Plan Mode is already off.")
    box.fill("/role Translator")
    box.press("Enter")
    expect(page.locator("#role-chip")).to_contain_text("Translator")
    box.fill("/clear_role")
    box.press("Enter")
    expect(page.locator("#role-chip")).to_be_hidden()
    assert current_session(app)["role_id"] is None
    box.fill("/model:plan-mode qwen3:8b llama3.2:3b")
    box.press("Enter")
    page.get_by_role("button", name="Turn Plan Mode off").click()
    expect(page.locator("#plan-chip")).to_be_hidden()
    assert current_session(app)["plan_mode"] is None
