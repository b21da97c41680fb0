"""A send that fails, in headless Chromium against real (fake) model servers: the message never
leaves the screen. When the model fails before its first word, the server keeps the message and
a failed reply, and the page shows both (with Retry); when the server keeps nothing, the text
and files go back in the composer. The welcome lists only models that can answer."""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import Page, expect

from .fake_provider import FakeProvider, Reply
from .support import (
    message_box,
    provider_settings,
    send,
    send_and_stop,
    shoot,
    wait_done,
    wait_for,
)

KEY = "sk-right-key-0123"


def free_port() -> int:
    """A port nothing listens on (a model server that is not running)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def users(page: Page):
    return page.locator("article.message.user .body")


def replies(page: Page):
    return page.locator("article.message.assistant")


def expect_kept_with_failed_reply(page: Page, texts: list[str], reason: str) -> None:
    """The messages stay on screen, the last with a failed reply saying `reason`, and Retry;
    the composer is empty and free."""
    expect(users(page)).to_have_text(texts)
    failed = replies(page).last
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed.locator(".badge")).to_contain_text(reason)
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#welcome")).to_have_count(0)
    expect(message_box(page)).to_have_value("")
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def saved(app) -> list[dict]:
    session = app.get("/api/sessions").json()["sessions"][0]
    return app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]


def test_a_model_server_that_is_not_running(open_page, start_server):
    port = free_port()
    app = start_server(provider_settings(("ollama", "ollama", f"http://127.0.0.1:{port}"),
                                         default_model="ollama/llama3.2:3b"))
    page = open_page(app)
    expect(page.locator("#welcome")).to_contain_text("Connect a model to start chatting")
    send(page, "Is anyone there?")
    expect(users(page)).to_have_text(["Is anyone there?"])  # at once, not only once it failed
    expect(message_box(page)).to_have_value("")
    expect_kept_with_failed_reply(page, ["Is anyone there?"], "Ollama is not running")
    shoot(page, "send-failed-server-down")
    assert [m["status"] for m in saved(app)] == ["complete", "error"]
    # The server starts: Retry answers in the same place.
    with FakeProvider(models=["llama3.2:3b"], port=port) as fake:
        fake.script(Reply(text="Here now."))
        replies(page).last.get_by_role("button", name="Retry").click()
        wait_done(page, 1)
        expect(users(page)).to_have_text(["Is anyone there?"])
        expect(replies(page).locator(".body")).to_have_text(["Here now."])


def test_a_refused_api_key_and_a_welcome_that_lists_only_answering_models(open_page,
                                                                         start_server, fake):
    with FakeProvider(models=["gpt-fake"], api_key=KEY) as cloud:
        settings = provider_settings(("ollama", "ollama", fake.ollama_url),
                                     default_model="ollama/llama3.2:3b")
        settings += (f'\n[[providers]]\nid = "cloud"\nkind = "openai"\n'
                     f'base_url = "{cloud.openai_url}"\napi_key = "sk-wrong-key-9999"\n'
                     f'models = ["gpt-fake"]\n')
        app = start_server(settings)
        page = open_page(app)
        welcome = page.locator("#welcome")
        expect(welcome).to_contain_text("2 models ready from ollama")
        expect(welcome.locator(".chip")).to_have_text(["llama3.2:3b", "qwen3:8b"])
        expect(welcome.locator(".down")).to_contain_text("cloud (key refused)")
        shoot(page, "welcome-with-a-provider-down")
        page.locator("#model-select").select_option("cloud/gpt-fake")
        send(page, "Hello cloud")
        expect_kept_with_failed_reply(page, ["Hello cloud"], "key")
        shoot(page, "send-failed-key-refused")
        assert [m["status"] for m in saved(app)] == ["complete", "error"]
        assert cloud.chat_requests(), "the request did not reach the provider"


def test_a_model_the_server_no_longer_has(page, app, fake):
    fake.script(Reply(text="First answer."), Reply(text="From qwen."))
    send(page, "One")
    wait_done(page, 1)
    fake.models.remove("llama3.2:3b")  # deleted from Ollama meanwhile
    send(page, "Two")
    expect_kept_with_failed_reply(page, ["One", "Two"], "llama3.2:3b")
    expect(replies(page).first.locator(".body")).to_have_text("First answer.")
    shoot(page, "send-failed-model-gone")
    assert [m["status"] for m in saved(app)] == ["complete", "complete", "complete", "error"]
    page.locator("#model-select").select_option("ollama/qwen3:8b")
    replies(page).last.get_by_role("button", name="Retry").click()
    wait_done(page, 2)
    expect(replies(page).locator(".body")).to_have_text(["First answer.", "From qwen."])


def test_stop_pressed_as_the_model_fails_still_shows_the_failure(open_page, start_server):
    app = start_server(provider_settings(("ollama", "ollama", f"http://127.0.0.1:{free_port()}"),
                                         default_model="ollama/llama3.2:3b"))
    page = open_page(app)
    send_and_stop(page, "Anyone?")
    expect(users(page)).to_have_text(["Anyone?"])
    # Whichever came first, the Stop or the failure, the reply says so and can be retried.
    failed = replies(page).last
    expect(failed).to_have_attribute("data-status", re.compile(r"^(stopped|error)$"))
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(message_box(page)).to_be_editable()
    assert saved(app)[-1]["status"] == failed.get_attribute("data-status")


@pytest.fixture
def small_limit(app):
    """The message limit lowered in the settings file after the page loaded its own copy."""
    def lower() -> None:
        app.settings_path.write_text(app.settings_path.read_text() +
                                     "\n[limits]\nmax_message_chars = 20\n")
        wait_for(lambda: app.get("/api/settings").json()["settings"]["limits"]
                 ["max_message_chars"] == 20)
    return lower


def test_a_refused_message_goes_back_in_the_composer_with_its_files(page, app, fake,
                                                                    small_limit, tmp_path):
    fake.script(Reply(text="First answer."), Reply(text="Short one answered."))
    send(page, "One")
    wait_done(page, 1)
    small_limit()
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    page.locator("#attach-input").set_input_files(str(notes))
    expect(page.locator(".attachment-chip")).to_have_attribute("data-status", "ready")
    long_text = "This message is longer than twenty characters."
    send(page, long_text)
    box = message_box(page)
    expect(box).to_have_value(long_text)
    expect(page.locator(".attachment-chip .attachment-name")).to_have_text("notes.txt")
    expect(page.locator("#notice")).to_contain_text("the limit is 20")
    expect(users(page)).to_have_text(["One"])
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    shoot(page, "send-refused-text-back")
    assert len(saved(app)) == 2
    # The draft is kept like any draft: it is still there after switching away and back.
    session_id = app.get("/api/sessions").json()["sessions"][0]["id"]
    wait_for(lambda: app.get(f"/api/sessions/{session_id}").json()["draft"] == long_text)
    box.fill("Short one")
    box.press("Enter")
    wait_done(page, 2)
    expect(users(page)).to_have_text(["One", "Short one"])
    expect(page.locator("article.message.user").last.locator(".attachment-name")).to_have_text(
        "notes.txt")


def test_a_refused_first_message_of_a_new_chat_goes_back_in_the_composer(page, app, fake,
                                                                         small_limit):
    small_limit()
    long_text = "A first message that is far too long."
    send(page, long_text)
    expect(message_box(page)).to_have_value(long_text)
    expect(page.locator("#notice")).to_contain_text("the limit is 20")
    expect(page.locator("article.message")).to_have_count(0)
    expect(page.locator("#welcome")).to_be_visible()


def test_a_chat_that_cannot_be_created_gives_the_text_back(page, app):
    app.runtime.shutdown()  # the app's server is gone
    send(page, "Hello?")
    expect(message_box(page)).to_have_value("Hello?")
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("article.message")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_a_message_sent_while_the_first_chat_loads_stays_on_screen(open_page, app, fake):
    fake.script(Reply(text="Old answer."), Reply(text="New answer."))
    app.chat(app.new_session()["id"], {"message": "Old question"})
    page = open_page(app)
    expect(users(page)).to_have_text(["Old question"])
    held = []

    def hold_first(route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    # The page opens its newest chat on load; hold that chat's messages on the way.
    page.route(re.compile(r"/api/sessions/[^/]+/messages\?limit=50$"), hold_first)
    page.reload()
    while not held:
        page.wait_for_timeout(20)
    send(page, "New question")
    expect(users(page)).to_have_text(["New question"])
    wait_done(page, 1)
    held[0].continue_()  # the old chat arrives late: it must not take the screen
    page.wait_for_timeout(300)
    expect(users(page)).to_have_text(["New question"])
    expect(replies(page).locator(".body")).to_have_text(["New answer."])
    expect(page.locator("#chat-title")).to_have_text("New question")
    sessions = app.get("/api/sessions").json()["sessions"]
    assert sorted(s["title"] for s in sessions) == ["New question", "Old question"]
