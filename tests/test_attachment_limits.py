"""Attachments made to cost the server more than their size, through the real server: a PDF
that takes minutes to read, one that inflates to gigabytes, a client that leaves while its PDF
is read, uploads never sent, and files that would run as script if served as what they are.

The server runs in this test process, so "the server's CPU" is this process's plus that of
the child processes it started, read from /proc."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from openchat_desktop.chat import attachments
from openchat_desktop.store.clock import stamp

from .files import png
from .hostile_pdfs import deflate_bomb_pdf, dense_text_pdf, shared_stream_pdf
from .support import TOKEN, wait_for

# Far above the reading budget, far below the minutes these PDFs cost a reader with none.
ANSWER_BOUND = 10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- measuring the server ---------------------------------------------------------------------


def child_pids() -> list[int]:
    """The live processes the server (running in this process) started to read PDFs: those
    multiprocessing spawned, not its resource tracker (one idle process for the life of the
    app) nor the browser driver of the page tests."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            if (int(fields[1]) == os.getpid() and fields[0] != "Z"
                    and b"--multiprocessing-fork" in command):
                found.append(int(entry.name))
    return found


def cpu_seconds() -> float:
    """CPU time of this process and of its live PDF readers."""
    total = time.process_time()
    for pid in child_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def cpu_used_in(seconds: float) -> float:
    start = cpu_seconds()
    time.sleep(seconds)
    return cpu_seconds() - start


def memory_kb(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def upload_answer(app, name: str, data: bytes) -> requests.Response:
    try:
        return app.post("/api/attachments", files={"file": (name, data, "application/pdf")},
                        timeout=ANSWER_BOUND)
    except requests.Timeout:
        pytest.fail(f"no answer to the upload of {name} within {ANSWER_BOUND} s")


def stored(app) -> tuple[int, list[Path]]:
    """How many attachment rows there are, and the files in the attachments folder."""
    with sqlite3.connect(app.data_dir / "openchat.sqlite3") as db:
        (rows,) = db.execute("SELECT count(*) FROM attachments").fetchone()
    folder = app.data_dir / "attachments"
    return rows, sorted(folder.rglob("*")) if folder.exists() else []


# --- bounded reading --------------------------------------------------------------------------


def test_a_pdf_of_pages_sharing_one_heavy_stream_is_answered_and_then_the_server_is_quiet(app):
    document = shared_stream_pdf()
    assert len(document) < 20_000  # the file is tiny; reading every page costs minutes
    answer = upload_answer(app, "slow.pdf", document)
    assert answer.status_code == 415
    message = answer.json()["error"]["message"]
    assert message.startswith("“slow.pdf” could not be read: this PDF takes too long to read")
    assert "copy the text you need into the message" in message
    assert cpu_used_in(2.0) <= 0.5
    assert child_pids() == []
    assert stored(app) == (0, [])


def test_reading_stops_at_the_character_cap_and_says_so(app, fake):
    answer = upload_answer(app, "dense.pdf", dense_text_pdf())
    assert answer.status_code == 201, answer.text
    note = ("Only the first 2 of the 100 pages of “dense.pdf” were read: a file gives the model "
            f"at most {attachments.MAX_TEXT_CHARS:,} characters.")
    assert answer.json()["note"] == note
    # 200,000 characters take about 50,000 tokens: a window that holds them
    fake.context_lengths["llama3.2:3b"] = 131072
    assert app.patch("/api/settings", {"context": {"max_ollama_context": 131072}}).ok
    session = app.new_session()
    app.chat(session["id"], {"message": "Summarize", "attachments": [answer.json()["id"]]})
    content = fake.chat_requests()[-1].body["messages"][-1]["content"]
    assert content.startswith("File: dense.pdf\n```\nword word")
    assert f"\n[… cut here: {note}]\n```" in content
    assert len(content) < attachments.MAX_TEXT_CHARS + 500


def test_the_page_tells_the_person_when_only_part_of_a_pdf_is_read(page):
    page.locator("#attach-input").set_input_files(
        files=[{"name": "dense.pdf", "mimeType": "application/pdf", "buffer": dense_text_pdf()}])
    expect(page.locator('.attachment-chip[data-status="ready"]')).to_have_count(
        1, timeout=ANSWER_BOUND * 1000)
    expect(page.locator("#attach-error")).to_have_text(
        "Only the first 2 of the 100 pages of “dense.pdf” were read: a file gives the model at "
        f"most {attachments.MAX_TEXT_CHARS:,} characters.")


def test_a_whole_small_pdf_has_no_note(app):
    from .files import pdf

    answer = upload_answer(app, "short.pdf", pdf("One page", "Two pages"))
    assert answer.status_code == 201
    assert answer.json()["note"] is None


def test_a_client_that_leaves_while_its_pdf_is_read_stops_the_reading(app, monkeypatch):
    # A budget longer than the test waits: only the client leaving can end this reading.
    monkeypatch.setattr(attachments, "PDF_SECONDS", 60.0)
    request = requests.Request(
        "POST", app.url("/api/attachments"), headers={"Authorization": f"Bearer {TOKEN}"},
        files={"file": ("slow.pdf", shared_stream_pdf(), "application/pdf")},
    ).prepare()
    head = f"POST /api/attachments HTTP/1.1\r\nHost: {app.base.removeprefix('http://')}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
    assert isinstance(request.body, bytes)
    client = socket.create_connection((app.runtime.host, app.runtime.port))
    client.sendall(head.encode() + b"\r\n" + request.body)
    # Leave once the reading is under way (the server's CPU is busy with it).
    wait_for(lambda: cpu_used_in(0.2) > 0.1, timeout=ANSWER_BOUND)
    client.close()
    wait_for(lambda: not child_pids(), timeout=5)
    assert cpu_used_in(2.0) <= 0.5
    assert stored(app) == (0, [])


def test_many_heavy_pdfs_at_once_are_read_two_at_a_time(app):
    from openchat_desktop.pdf_text import MAX_READERS

    answers: list[requests.Response] = []
    uploads = [threading.Thread(target=lambda: answers.append(
        upload_answer(app, "slow.pdf", shared_stream_pdf()))) for _ in range(MAX_READERS + 2)]
    most = 0
    for upload in uploads:
        upload.start()
    while any(upload.is_alive() for upload in uploads):
        most = max(most, len(child_pids()))
        time.sleep(0.02)
    assert most == MAX_READERS
    assert [answer.status_code for answer in answers] == [415] * len(uploads)
    assert child_pids() == []


def test_a_deflate_bomb_keeps_the_server_and_the_reader_small(app):
    bomb = deflate_bomb_pdf()
    assert len(bomb) < 3 * 1024 * 1024  # 2.8 GB once inflated
    peaks: list[int] = []
    watching = True

    def watch_children() -> None:
        while watching:
            for pid in child_pids():
                try:
                    peaks.append(memory_kb("VmHWM", pid))
                except (OSError, AssertionError):
                    pass  # ended meanwhile
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_children)
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    before = memory_kb("VmRSS")
    watcher.start()
    try:
        answer = upload_answer(app, "bomb.pdf", bomb)
    finally:
        watching = False
        watcher.join()
    assert answer.status_code == 415
    assert answer.json()["error"]["message"].startswith("“bomb.pdf” could not be read: this PDF")
    assert memory_kb("VmHWM") - before < 100 * 1024  # the server itself never held it
    assert max(peaks, default=0) * 1024 <= attachments.PDF_MEMORY_BYTES
    assert cpu_used_in(2.0) <= 0.5


# --- uploads never sent -----------------------------------------------------------------------


def test_uploads_never_sent_go_after_a_day_without_waiting_for_a_restart(app):
    forgotten = app.post("/api/attachments", files={"file": ("old.txt", b"forgotten")}).json()
    kept = app.post("/api/attachments", files={"file": ("new.txt", b"recent")}).json()
    two_days_ago = stamp(datetime.now(UTC) - timedelta(days=2))
    with sqlite3.connect(app.data_dir / "openchat.sqlite3") as db:
        db.execute("UPDATE attachments SET created_at = ? WHERE id = ?",
                   (two_days_ago, forgotten["id"]))
    app.post("/api/attachments", files={"file": ("another.txt", b"another")})
    assert app.get(f"/api/attachments/{forgotten['id']}").status_code == 404
    folder = app.data_dir / "attachments"
    assert not (folder / forgotten["sha256"][:2] / forgotten["sha256"]).exists()
    assert app.get(f"/api/attachments/{kept['id']}").content == b"recent"


# --- serving files back -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("tool.js", b"fetch('/api/settings').then(r => r.text()).then(alert)\n", "text/plain"),
        ("page.html", b"<!doctype html><script>alert(document.cookie)</script>\n",
         "text/plain"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                     b"</svg>\n", "text/plain"),
        ("notes.xml", b"<?xml version='1.0'?><a>x</a>\n", "text/plain"),
    ],
)
def test_files_that_could_run_as_script_are_served_as_plain_text_downloads(app, name, data,
                                                                           mime):
    record = app.post("/api/attachments", files={"file": (name, data)}).json()
    response = app.get(f"/api/attachments/{record['id']}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"] == f"{mime}; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_downloads_as_bytes(app):
    from .files import pdf

    record = upload_answer(app, "report.pdf", pdf("Quarterly numbers")).json()
    response = app.get(f"/api/attachments/{record['id']}")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_image_still_shows_inline(app):
    image = png()
    record = app.post("/api/attachments", files={"file": ("photo.png", image)}).json()
    response = app.get(f"/api/attachments/{record['id']}")
    assert response.content == image
    assert response.headers["Content-Type"] == "image/png"
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
