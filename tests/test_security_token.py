"""The launch token stays with the page that was opened with it: another program serving a
page on another loopback port (the same site to a browser, which shares cookies across ports)
never receives it, and no cookie is accepted in its place. The page keeps the token in its own
tab, sends it as a header, shows pictures and downloads through that header, and says what to
do when it has no token or the server stops accepting it — in headless Chromium."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from .files import sunset_png
from .support import TOKEN, Server, send, shoot, wait_done, wait_for

pytestmark = pytest.mark.fake_models(
    "llava:7b", capabilities={"llava:7b": ["completion", "vision"]})

SIGNED_OUT = ("Open OpenChat from the link it printed when it started "
              "(it carries the token for this launch).")


class OtherLocalApp:
    """Another program's web server on another loopback port: it records every header the
    browser sends it, and its page tries to call our API with the browser's credentials,
    posting back what it got."""

    def __init__(self, target: str) -> None:
        self.headers: list[tuple[str, str]] = []
        self.reports: list[str] = []
        page = PAGE.replace("TARGET", html.escape(target)).encode()
        other = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                other.headers.extend(self.headers.items())
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def do_POST(self) -> None:
                other.headers.extend(self.headers.items())
                length = int(self.headers.get("Content-Length", "0"))
                other.reports.append(self.rfile.read(length).decode())
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads what was received, not a log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


PAGE = """<!doctype html>
<title>Another local app</title>
<p>Another app on this computer.</p>
<script>
  fetch("TARGET/api/settings", { credentials: "include" })
    .then((response) => response.text().then((text) => `${response.status} ${text}`),
          (error) => `failed: ${error}`)
    .then((result) => fetch("/report", { method: "POST", body: result }));
</script>
"""


@pytest.fixture
def default_model() -> str:
    return "ollama/llava:7b"


@pytest.fixture
def other_app(app: Server) -> Iterator[OtherLocalApp]:
    other = OtherLocalApp(app.base)
    yield other
    other.close()


def attach_picture(page: Page) -> None:
    page.locator("#attach-input").set_input_files(
        files=[{"name": "sunset.png", "mimeType": "image/png", "buffer": sunset_png()}])
    expect(page.locator('.attachment-chip[data-status="ready"]')).to_have_count(1)


def signed_out(page: Page) -> None:
    """The page shows the one sentence that says how to get in, and no app around it."""
    expect(page.get_by_role("alert")).to_have_text(SIGNED_OUT)
    expect(page.get_by_role("textbox", name="Message")).to_be_hidden()


def test_a_page_on_another_loopback_port_never_receives_the_token(page, app, other_app):
    send(page, "Hello there")
    wait_done(page, 1)
    attach_picture(page)
    send(page, "And this picture?")
    wait_done(page, 2)
    expect(page.locator("article.message.user .attached-image img")).to_be_visible()

    other = page.context.new_page()
    other.goto(other_app.url)
    wait_for(lambda: other_app.reports, timeout=10)

    received = "\n".join(f"{name}: {value}" for name, value in other_app.headers)
    assert TOKEN not in received
    # Whatever cookie the browser handed over is worth nothing at our API.
    for name, value in other_app.headers:
        if name.lower() == "cookie":
            replay = requests.get(app.url("/api/settings"), headers={"Cookie": value}, timeout=5)
            assert replay.status_code == 401
    # And the other page's own call with the browser's credentials got nothing.
    assert other_app.reports[0].startswith(("failed:", "401 ")), other_app.reports[0]
    # Our page, meanwhile, carries on.
    send(page, "Still here?")
    wait_done(page, 3)


def test_a_cookie_is_not_a_credential(app):
    opened = requests.get(app.url(f"/?token={TOKEN}"), allow_redirects=False, timeout=5)
    assert opened.status_code == 200 and "<textarea" in opened.text
    assert "Set-Cookie" not in opened.headers
    refused = requests.get(app.url("/api/settings"), cookies={"openchat_token": TOKEN}, timeout=5)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_the_token_leaves_the_address_bar_and_a_reload_keeps_working(page, app):
    assert page.url == app.url("/")
    send(page, "Before the reload")
    wait_done(page, 1)
    page.reload()
    expect(page.locator("article.message.user")).to_contain_text("Before the reload")
    send(page, "After the reload")
    wait_done(page, 2)
    assert page.url == app.url("/")


def test_an_attached_picture_shows_and_a_file_downloads(page, app):
    attach_picture(page)
    page.locator("#attach-input").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"remember the milk"}])
    expect(page.locator('.attachment-chip[data-status="ready"]')).to_have_count(2)
    send(page, "Look at these")
    wait_done(page, 1)
    picture = page.locator("article.message.user .attached-image img")
    expect(picture).to_be_visible()
    wait_for(lambda: picture.evaluate("img => img.complete && img.naturalWidth") == 240)
    assert picture.get_attribute("src").startswith("blob:")
    shoot(page, "token-attached-picture")
    with page.expect_download() as download:
        page.locator("article.message.user .attached-file").click()
    assert download.value.suggested_filename == "notes.txt"
    assert Path(download.value.path()).read_bytes() == b"remember the milk"
    # After a reload the picture comes back the same way.
    page.reload()
    again = page.locator("article.message.user .attached-image img")
    expect(again).to_be_visible()
    wait_for(lambda: again.evaluate("img => img.complete && img.naturalWidth") == 240)


def test_the_page_without_a_token_says_how_to_open_it(browser, app):
    context = browser.new_context()
    try:
        page = context.new_page()
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        assert page.goto(app.url("/")).ok
        signed_out(page)
        shoot(page, "token-missing")
        assert not [url for url in asked if "/api/" in url]
    finally:
        context.close()


def test_a_wrong_link_is_refused_with_a_sentence(app):
    wrong = requests.get(app.url("/?token=wrong"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == (
        "That link's token is not valid any more: use the link OpenChat printed when it "
        "started.")


def test_a_refusal_mid_session_says_how_to_open_it_again(page, app):
    send(page, "First")
    wait_done(page, 1)
    # The app started again with another token; this tab still holds the old one.
    app.runtime.app.config["OPENCHAT_TOKEN"] = "another-token-9876543210"
    # Send at once, in the page: a call the page makes by itself after the reply may already
    # have met the refusal and replaced the composer, which is the same outcome.
    page.evaluate("""() => {
        const box = document.querySelector("#message-input");
        if (!box) return;
        box.value = "Second";
        box.dispatchEvent(new Event("input", {bubbles: true}));
        box.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
    }""")
    signed_out(page)
    shoot(page, "token-refused")
