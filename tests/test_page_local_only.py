"""Local-only mode in headless Chromium: the switch in Settings turns it on at once, the header
says so, a send to a provider at another host fails with the sentence naming the host, and the
outbound log lists the refused request until it is cleared."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .support import send, shoot
from .test_local_only import free_port

SETTINGS = """
default_model = "claude/claude-x"

[[providers]]
id = "claude"
kind = "openai"
base_url = "https://api.anthropic.com/v1"
models = ["claude-x"]
"""


@pytest.fixture
def app(start_server, monkeypatch):
    # While the mode is off the app may try the remote provider: through a proxy on this
    # machine that is not there, so nothing leaves the test machine either.
    proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the test's own calls to the app
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    return start_server(SETTINGS)


def test_switching_local_only_on_refuses_the_remote_provider_and_logs_it(app, open_page):
    page = open_page(app)
    chip = page.get_by_role("button", name="Local only")
    expect(chip).to_be_hidden()

    page.get_by_role("button", name="Settings").click()
    switch = page.get_by_role("switch", name="Use this computer only")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.locator("#settings-status")).to_have_text("Saved.")
    expect(chip).to_be_visible()
    assert app.runtime.settings.current.local_only
    assert "local_only = true" in app.settings_path.read_text()
    shoot(page, "local-only-settings")
    page.get_by_role("button", name="Close").click()

    send(page, "Hello from a laptop")
    failed = page.locator("article.message.assistant").last
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed).to_contain_text(
        "Local-only mode is on, so OpenChat did not connect to api.anthropic.com for “claude”."
        " Turn it off in Settings to use this provider."
    )
    shoot(page, "local-only-refused-reply")

    chip.click()
    log = page.get_by_role("dialog", name="What left this computer")
    expect(log).to_be_visible()
    rows = log.locator("tbody tr")
    expect(rows.filter(has_text="POST api.anthropic.com/v1/chat/completions")).to_have_count(1)
    expect(rows.first).to_contain_text("refused (local-only)")
    expect(log).to_contain_text("Local-only mode is on")
    shoot(page, "local-only-outbound-log")

    log.get_by_role("button", name="Clear").click()
    expect(log.get_by_text("Nothing has been sent to another computer.")).to_be_visible()
    expect(rows).to_have_count(0)
    assert app.get("/api/outbound").json()["requests"] == []
    shoot(page, "local-only-outbound-log-cleared")
