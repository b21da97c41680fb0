"""Exporting a chat: the file's content, its name, the browser download from the chat menu,
and the desktop window's Save dialog path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .fake_provider import Reply
from .support import send


class Window:
    """Stands in for the desktop window: its Save dialog answers these paths in turn (None:
    the user cancelled) and remembers the names it suggested."""

    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def show(self) -> None:
        pass

    def ask_save_path(self, suggested_name: str) -> str | None:
        self.asked.append(suggested_name)
        return self.answers[len(self.asked) - 1]


@pytest.fixture
def chat(app, fake):
    fake.script(Reply(text="A **bold** answer.\n\n```py\nx = 1\n```", reasoning="Let me see."))
    session = app.new_session(title='Plans: "Q3" / notes')
    app.chat(session["id"], {"message": "What about Q3?"})
    return session


def test_markdown_export_holds_the_visible_branch(app, chat):
    response = app.get(f"/api/sessions/{chat['id']}/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/markdown")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Plans Q3 notes.md\"; filename*=UTF-8''Plans%20Q3%20notes.md"
    )
    assert response.text == (
        '# Plans: "Q3" / notes\n\n## You\n\nWhat about Q3?\n\n'
        "## Assistant (ollama/llama3.2:3b)\n\n<details><summary>Thinking</summary>\n\n"
        "Let me see.\n\n</details>\n\nA **bold** answer.\n\n```py\nx = 1\n```\n"
    )


def test_json_export_and_bad_requests(app, chat):
    data = app.get(f"/api/sessions/{chat['id']}/export?format=json").json()
    assert data["title"] == 'Plans: "Q3" / notes'
    assert [(m["role"], m["content"], m["status"]) for m in data["messages"]] == [
        ("user", "What about Q3?", "complete"),
        ("assistant", "A **bold** answer.\n\n```py\nx = 1\n```", "complete"),
    ]
    assert data["messages"][1]["reasoning"] == "Let me see."
    bad = app.get(f"/api/sessions/{chat['id']}/export?format=pdf")
    assert bad.status_code == 422 and bad.json()["error"]["message"] == (
        "`format` must be `markdown` or `json`."
    )
    assert app.get("/api/sessions/nope/export").status_code == 404


def test_save_dialog_needs_the_window_and_writes_where_the_user_chose(app, chat, tmp_path):
    refused = app.post(f"/api/sessions/{chat['id']}/export/save", {"format": "json"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_window"
    assert app.get("/api/instance").json() == {"window": False}

    target = tmp_path / "picked.json"
    window = Window([str(target), None])  # the second time: cancelled
    app.runtime.window = window
    assert app.get("/api/instance").json() == {"window": True}
    saved = app.post(f"/api/sessions/{chat['id']}/export/save", {"format": "json"})
    assert saved.json() == {"saved": str(target)}
    assert window.asked == ["Plans Q3 notes.json"]
    assert json.loads(target.read_text())["messages"][0]["content"] == "What about Q3?"
    cancelled = app.post(f"/api/sessions/{chat['id']}/export/save", {})
    assert cancelled.json() == {"saved": None}


def test_chat_menu_downloads_the_export(page):
    send(page, "Export me")
    expect(page.locator(".message.assistant")).to_contain_text("Hello world")
    page.get_by_role("button", name="Chat actions for Export me").click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name="Export as Markdown").click()
    assert download.value.suggested_filename == "Export me.md"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# Export me\n\n## You\n\nExport me\n\n## Assistant")
    assert "Hello world" in text


def test_an_attachment_is_saved_through_the_window_dialog(app, tmp_path):
    upload = app.post("/api/attachments", files={"file": ("notes.md", b"# Notes\n", "text/plain")})
    attachment = upload.json()
    refused = app.post(f"/api/attachments/{attachment['id']}/save", {})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_window"

    target = tmp_path / "kept notes.md"
    window = Window([str(target)])
    app.runtime.window = window
    saved = app.post(f"/api/attachments/{attachment['id']}/save", {})
    assert saved.json() == {"saved": str(target)}
    assert window.asked == ["notes.md"]
    assert target.read_bytes() == b"# Notes\n"
    assert app.post("/api/attachments/nope/save", {}).status_code == 404
