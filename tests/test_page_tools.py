"""Tool calls on the page in headless Chromium: a block per call (arguments, result or error,
duration), shown as text, never HTML; the approval question (Allow once, Always allow, Deny,
with the keyboard) and a question still open after a reload."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from .fake_provider import Called, Reply
from .support import send, shoot, wait_done

pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", capabilities={"llama3.2:3b": ["completion", "tools"]})

ALWAYS = '\n[tools]\napproval = { "builtin/calculator" = "always" }\n'
TIME = r"(\d+ ms|\d+\.\d s)"


@pytest.fixture
def app(start_server, ollama_settings):
    return start_server(ollama_settings + ALWAYS)


def blocks(page: Page):
    return page.locator("article.message.assistant details.tool-call")


def asks_the_time(page: Page, fake) -> None:
    fake.script(Reply(text="Let me look.", tool_calls=[Called("current_time")]),
                Reply(text="It is late."))
    send(page, "What time is it?")
    expect(page.get_by_role("group", name="Allow current_time to run?")).to_be_visible()


def test_calls_show_as_blocks_with_text_never_html(page, app, fake):
    fake.script(Reply(text="Computing.", tool_calls=[
        Called("calculator", {"expression": "6*7"}),
        Called("calculator", {"expression": "<img src=x onerror=alert(1)>"}),
    ]), Reply(text="It is **42**."))
    send(page, "6*7?")
    wait_done(page, 1)
    calls = blocks(page)
    expect(calls).to_have_count(2)
    expect(calls.nth(0).locator("summary")).to_have_text(re.compile(r"calculator" + TIME))
    calls.nth(0).locator("summary").click()
    expect(calls.nth(0).locator(".tool-arguments pre")).to_have_text(
        '{\n  "expression": "6*7"\n}')
    expect(calls.nth(0).locator(".tool-result pre")).to_have_text("42")
    calls.nth(1).locator("summary").click()
    expect(calls.nth(1)).to_have_attribute("data-status", "error")
    expect(calls.nth(1).locator(".tool-result .tool-label")).to_have_text("Error")
    expect(calls.nth(1).locator(".tool-arguments pre")).to_contain_text(
        "<img src=x onerror=alert(1)>")
    expect(page.locator("article.message img")).to_have_count(0)
    expect(page.locator("article.message.assistant .body strong")).to_have_text("42")
    assert not page.dialogs
    shoot(page, "tools-blocks")

    page.reload()  # the same blocks from what was saved
    expect(blocks(page)).to_have_count(2)
    expect(blocks(page).nth(0)).to_have_attribute("data-status", "done")
    expect(blocks(page).nth(1).locator(".tool-result pre")).to_contain_text(
        "The expression is not valid arithmetic.")


def test_allow_once_with_the_keyboard(page, app, fake):
    asks_the_time(page, fake)
    question = page.get_by_role("group", name="Allow current_time to run?")
    expect(question.locator(".tool-time-left")).to_have_text(re.compile(r"^[45]:\d\d left$"))
    expect(blocks(page).first).to_have_attribute("data-status", "waiting")
    shoot(page, "tools-question")

    def answered_slowly(route):
        # The server takes the answer and runs the call at once; the answer's own response
        # reaches the page after the call's result.
        response = route.fetch()
        time.sleep(0.5)
        route.fulfill(response=response)

    page.route("**/tool-calls/**", answered_slowly)
    question.get_by_role("button", name="Allow once").focus()
    page.keyboard.press("Enter")
    wait_done(page, 1)
    expect(question).to_have_count(0)
    expect(blocks(page).first).to_have_attribute("data-status", "done")
    expect(page.locator("article.message.assistant .body")).to_contain_text("It is late.")
    assert "builtin/current_time" not in app.settings_path.read_text()


def test_deny(page, app, fake):
    asks_the_time(page, fake)
    page.get_by_role("button", name="Deny").click()
    wait_done(page, 1)
    block = blocks(page).first
    expect(block).to_have_attribute("data-status", "denied")
    expect(block.locator(".tool-result pre")).to_have_text(
        "The person did not allow this tool call. Do not call it again; answer without it.")


def test_always_allow_is_kept(page, app, fake):
    asks_the_time(page, fake)
    page.get_by_role("button", name="Always allow").click()
    wait_done(page, 1)
    assert '"builtin/current_time" = "always"' in app.settings_path.read_text()
    fake.script(Reply(text="", tool_calls=[Called("current_time")]), Reply(text="Still late."))
    send(page, "And now?")
    wait_done(page, 2)
    expect(page.locator(".tool-question")).to_have_count(0)
    expect(blocks(page)).to_have_count(2)


def test_a_pending_question_survives_a_reload(page, app, fake):
    asks_the_time(page, fake)
    page.reload()
    question = page.get_by_role("group", name="Allow current_time to run?")
    expect(question).to_be_visible()
    expect(blocks(page)).to_have_count(1)
    expect(page.locator("article.message.assistant .body")).to_contain_text("Let me look.")
    shoot(page, "tools-question-after-reload")
    question.get_by_role("button", name="Allow once").click()
    wait_done(page, 1)
    expect(blocks(page).first).to_have_attribute("data-status", "done")
    expect(page.locator("article.message.assistant .body")).to_contain_text("It is late.")
