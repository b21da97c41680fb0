"""Attachments through the real server: upload and sniffing, limits, what exactly reaches the
model (Ollama and OpenAI-compatible), the vision check, and files removed with their chats."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from openchat_desktop.chat import attachments

from .fake_provider import Reply
from .files import blob, pdf, png

VISION = "ollama/llava:7b"


pytestmark = pytest.mark.fake_models(
    "llama3.2:3b", "llava:7b", capabilities={"llava:7b": ["completion", "vision"]})


@pytest.fixture
def default_model():
    return VISION


@pytest.fixture
def app(start_server, both_kinds_settings):
    return start_server(both_kinds_settings)


def upload(app, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return app.post("/api/attachments", files={"file": (name, data, content_type)}, timeout=60)


def uploaded(app, name: str, data: bytes) -> dict:
    response = upload(app, name, data)
    assert response.status_code == 201, response.text
    return response.json()


def stored_file(app, sha256: str):
    return app.data_dir / "attachments" / sha256[:2] / sha256


# --- upload and sniffing ----------------------------------------------------------------------


def test_an_image_is_stored_once_by_its_hash_and_served_back(app):
    image = png()
    first = uploaded(app, "photo.png", image)
    assert first["kind"] == "image" and first["mime"] == "image/png"
    assert first["name"] == "photo.png" and first["size"] == len(image)
    assert first["sha256"] == hashlib.sha256(image).hexdigest()
    second = uploaded(app, "copy.png", image)
    assert second["id"] != first["id"] and second["sha256"] == first["sha256"]
    folder = app.data_dir / "attachments" / first["sha256"][:2]
    assert [p.name for p in folder.iterdir()] == [first["sha256"]]  # one file for both
    response = app.get(f"/api/attachments/{first['id']}")
    assert response.status_code == 200
    assert response.content == image
    assert response.headers["Content-Type"] == "image/png"


def test_the_type_comes_from_the_bytes_not_the_name(app):
    disguised = uploaded(app, "holiday.png", b"just some notes\nsecond line\n")
    assert (disguised["kind"], disguised["mime"]) == ("text", "text/plain")
    code = uploaded(app, "tool.py", b"print('hi')\n")
    assert (code["kind"], code["mime"]) == ("text", "text/x-python")
    table = uploaded(app, "data.csv", b"a,b\n1,2\n")
    assert (table["kind"], table["mime"]) == ("text", "text/csv")
    document = uploaded(app, "report", pdf("Quarterly numbers"))
    assert (document["kind"], document["mime"]) == ("pdf", "application/pdf")
    image = uploaded(app, "scan.txt", png())
    assert image["kind"] == "image"
    # A text file is offered as a download, never rendered by the page.
    response = app.get(f"/api/attachments/{disguised['id']}")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", blob()),
        ("photo.png", b"\x89PNX" + blob()),
        ("archive.zip", b"PK\x03\x04" + blob()),
    ],
)
def test_binary_files_are_refused_with_415(app, name, data):
    response = upload(app, name, data)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_attachment"
    assert name in error["message"] and "PDF" in error["message"]
    assert not (app.data_dir / "attachments").exists() or not any(
        (app.data_dir / "attachments").rglob("*")
    )


def test_a_pdf_without_text_or_an_empty_file_is_explained(app):
    broken = upload(app, "broken.pdf", b"%PDF-1.4\nthis is not really a pdf")
    assert broken.status_code == 415
    assert "broken.pdf" in broken.json()["error"]["message"]
    empty = upload(app, "empty.txt", b"")
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    missing = app.post("/api/attachments", data={"other": "x"})
    assert missing.status_code == 422 and "`file`" in missing.json()["error"]["message"]


def test_too_large_a_file_is_refused_with_413(app):
    response = upload(app, "big.png", b"\x89PNG\r\n\x1a\n" + bytes(attachments.MAX_FILE_BYTES))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "attachment_too_large" and "20 MB" in error["message"]
    assert not (app.data_dir / "attachments").exists() or not any(
        (app.data_dir / "attachments").rglob("*")
    )


def test_extracted_text_is_capped(app, fake):
    long = ("word " * (attachments.MAX_TEXT_CHARS // 5 + 1000)).encode()
    record = uploaded(app, "long.txt", long)
    # A model whose window is not known: 50,000 tokens fit no Ollama model here.
    session = app.new_session(model="compat/llama3.2:3b")
    app.chat(session["id"], {"message": "Summarize", "attachments": [record["id"]]})
    content = fake.chat_requests()[-1].body["messages"][-1]["content"]
    assert len(content) < attachments.MAX_TEXT_CHARS + 500
    assert f"the first {attachments.MAX_TEXT_CHARS:,} are included" in content


def test_limits_are_published(app):
    assert app.get("/api/attachments/limits").json() == {
        "max_file_bytes": 20 * 1024 * 1024,
        "max_files": 10,
        "max_total_bytes": 50 * 1024 * 1024,
        "max_text_chars": attachments.MAX_TEXT_CHARS,
    }


# --- what reaches the model -------------------------------------------------------------------


def test_ollama_gets_the_image_as_bare_base64(app, fake):
    image = png()
    record = uploaded(app, "photo.png", image)
    session = app.new_session()
    events = app.chat(session["id"], {"message": "What is this?", "attachments": [record["id"]]})
    assert events[-1][0] == "done"
    body = fake.chat_requests()[-1].body
    assert body["model"] == "llava:7b"
    assert body["messages"] == [
        {"role": "user", "content": "What is this?",
         "images": [base64.b64encode(image).decode("ascii")]},
    ]
    user = events[0][1]["user_message"]
    assert user["attachments"] == [
        {"id": record["id"], "name": "photo.png", "kind": "image", "mime": "image/png",
         "size": len(image), "sha256": record["sha256"]},
    ]


def test_openai_compatible_gets_text_and_image_url_parts(app, fake):
    image = png()
    record = uploaded(app, "photo.png", image)
    session = app.new_session()
    app.chat(session["id"], {"message": "Describe it", "model": "compat/llava:7b",
                             "attachments": [record["id"]]})
    body = fake.chat_requests()[-1].body
    url = "data:image/png;base64," + base64.b64encode(image).decode("ascii")
    assert body["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "Describe it"},
            {"type": "image_url", "image_url": {"url": url}},
        ]},
    ]


def test_text_and_pdf_files_go_before_the_message_with_their_names(app, fake):
    code = uploaded(app, "tool.py", b"print('hi')\n```\nnot the end\n")
    document = uploaded(app, "report.pdf", pdf("Sales rose 4%", "Costs fell"))
    session = app.new_session()
    fake.script(Reply(text="Done."), Reply(text="Sure."))
    app.chat(session["id"], {"message": "Summarize both", "model": "ollama/llama3.2:3b",
                             "attachments": [code["id"], document["id"]]})
    expected = (
        "File: tool.py\n````\nprint('hi')\n```\nnot the end\n````\n\n"
        "File: report.pdf\n```\nSales rose 4%\n\nCosts fell\n```\n\n"
        "Summarize both"
    )
    body = fake.chat_requests()[-1].body
    assert body["messages"] == [{"role": "user", "content": expected}]
    # The files stay in the context of later messages of the branch.
    app.chat(session["id"], {"message": "And now?", "model": "ollama/llama3.2:3b"})
    assert fake.chat_requests()[-1].body["messages"] == [
        {"role": "user", "content": expected},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "And now?"},
    ]


def test_files_alone_make_a_message_titled_by_the_first_file(app, fake):
    record = uploaded(app, "plan.md", b"# Plan\n- ship it\n")
    session = app.new_session()
    app.chat(session["id"], {"message": "", "attachments": [record["id"]]})
    body = fake.chat_requests()[-1].body
    assert body["messages"] == [
        {"role": "user", "content": "File: plan.md\n```\n# Plan\n- ship it\n```"}
    ]
    assert app.get(f"/api/sessions/{session['id']}").json()["title"] == "plan.md"
    messages = app.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
    assert [a["name"] for a in messages[0]["attachments"]] == ["plan.md"]
    assert "attachments" not in messages[1]  # replies carry none


def test_images_for_a_model_without_vision_are_refused_until_confirmed(app, fake):
    record = uploaded(app, "photo.png", png())
    session = app.new_session()
    body = {"message": "What is this?", "model": "ollama/llama3.2:3b",
            "attachments": [record["id"]]}
    refused = app.post(f"/api/sessions/{session['id']}/chat/stream", body)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "model_lacks_vision"
    assert "llama3.2:3b cannot see images" in error["message"]
    assert app.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []
    assert fake.chat_requests() == []
    events = app.chat(session["id"], {**body, "ignore_vision_warning": True})
    assert events[-1][0] == "done"
    # Sent anyway: the text goes, the image stays with the chat only.
    assert fake.chat_requests()[-1].body["messages"] == [
        {"role": "user", "content": "What is this?"}
    ]
    assert events[0][1]["user_message"]["attachments"][0]["id"] == record["id"]


def test_an_openai_compatible_model_is_not_assumed_blind(app, fake):
    record = uploaded(app, "photo.png", png())
    session = app.new_session()
    events = app.chat(session["id"], {"message": "hi", "model": "compat/llama3.2:3b",
                                      "attachments": [record["id"]]})
    assert events[-1][0] == "done"
    content = fake.chat_requests()[-1].body["messages"][0]["content"]
    assert [part["type"] for part in content] == ["text", "image_url"]


def test_attachment_limits_per_message(app, fake):
    session = app.new_session()
    many = [uploaded(app, f"n{i}.txt", f"note {i}".encode())["id"] for i in range(11)]
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "x", "attachments": many})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "attachment_too_large"
    assert "at most 10 files" in response.json()["error"]["message"]
    header = b"\x89PNG\r\n\x1a\n"
    big = [uploaded(app, f"b{i}.png", header + bytes([i]) * (18 * 1024 * 1024))["id"]
           for i in range(3)]
    response = app.post(f"/api/sessions/{session['id']}/chat/stream",
                        {"message": "x", "attachments": big})
    assert response.status_code == 413
    assert "50 MB" in response.json()["error"]["message"]
    unknown = app.post(f"/api/sessions/{session['id']}/chat/stream",
                       {"message": "x", "attachments": ["nope"]})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "attachment_not_found"
    twice = app.post(f"/api/sessions/{session['id']}/chat/stream",
                     {"message": "x", "attachments": [many[0], many[0]]})
    assert twice.status_code == 422
    assert app.get(f"/api/sessions/{session['id']}/messages").json()["messages"] == []
    assert fake.chat_requests() == []


# --- removal --------------------------------------------------------------------------------


def test_files_go_with_the_last_chat_that_uses_them(app):
    image = png()
    shared = uploaded(app, "photo.png", image)
    only_first = uploaded(app, "notes.txt", b"first chat only")
    first, second = app.new_session(), app.new_session()
    app.chat(first["id"], {"message": "a", "attachments": [shared["id"], only_first["id"]]})
    again = uploaded(app, "same-photo.png", image)  # the same bytes: the same file
    app.chat(second["id"], {"message": "b", "attachments": [again["id"]]})
    assert stored_file(app, shared["sha256"]).is_file()

    assert app.delete(f"/api/sessions/{first['id']}").status_code == 204
    assert not stored_file(app, only_first["sha256"]).exists()
    assert stored_file(app, shared["sha256"]).is_file()  # the second chat still shows it
    assert app.get(f"/api/attachments/{shared['id']}").status_code == 404
    assert app.get(f"/api/attachments/{again['id']}").content == image

    assert app.delete(f"/api/sessions/{second['id']}").status_code == 204
    assert not stored_file(app, shared["sha256"]).exists()
    with sqlite3.connect(app.data_dir / "openchat.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM attachments").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM message_attachments").fetchone() == (0,)


def test_an_unsent_upload_can_be_removed_but_a_sent_one_cannot(app):
    unsent = uploaded(app, "draft.txt", b"never sent")
    assert app.delete(f"/api/attachments/{unsent['id']}").status_code == 204
    assert not stored_file(app, unsent["sha256"]).exists()
    assert app.get(f"/api/attachments/{unsent['id']}").status_code == 404
    sent = uploaded(app, "sent.txt", b"sent")
    session = app.new_session()
    app.chat(session["id"], {"message": "x", "attachments": [sent["id"]]})
    response = app.delete(f"/api/attachments/{sent['id']}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "attachment_in_use"
    assert stored_file(app, sent["sha256"]).is_file()


def test_uploads_never_sent_are_cleaned_up_after_a_day(app):
    unsent = uploaded(app, "forgotten.txt", b"forgotten")
    sent = uploaded(app, "kept.txt", b"kept")
    session = app.new_session()
    app.chat(session["id"], {"message": "x", "attachments": [sent["id"]]})
    service = app.runtime.attachments
    assert service.clean_up() == 0  # nothing is a day old yet
    assert stored_file(app, unsent["sha256"]).is_file()
    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert service.clean_up(now=later) == 1
    assert not stored_file(app, unsent["sha256"]).exists()
    assert app.get(f"/api/attachments/{unsent['id']}").status_code == 404
    assert stored_file(app, sent["sha256"]).is_file()


def test_the_attachment_routes_need_the_token(app):
    record = uploaded(app, "photo.png", png())
    import requests

    response = requests.get(app.url(f"/api/attachments/{record['id']}"), timeout=10)
    assert response.status_code == 401
