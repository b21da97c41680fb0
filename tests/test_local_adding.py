"""Adding a GGUF file the person has to the built-in engine's models folder, through the real
app: from a path (copied, moved, linked), uploaded (streamed, larger than the JSON body limit),
refused when it is no model or its name is taken, and the desktop window's Open dialog."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from openchat_desktop.local.adding import STAGING_PREFIX
from openchat_desktop.local.downloads import DISK_MARGIN

from . import test_downloads
from .gguf_files import MODEL_METADATA, MODEL_TENSORS, T_F32, gguf_file
from .support import wait_for

MODEL = gguf_file(MODEL_METADATA, MODEL_TENSORS)
# Bigger than the settings' JSON body limit below: an upload has a limit of its own.
BIG_MODEL = gguf_file(MODEL_METADATA, [*MODEL_TENSORS, ("big.weight", [256, 1024], T_F32)])
SMALL_BODY_LIMIT = "[limits]\nmax_request_bytes = 65536\n"
small_disk = test_downloads.small_disk  # a tmpfs as the models folder


@pytest.fixture
def app(start_server):
    return start_server(SMALL_BODY_LIMIT)


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "elsewhere" / "Tiny-Qwen-Q4_K_M.gguf"
    path.parent.mkdir()
    path.write_bytes(MODEL)
    return path


def models_dir(app) -> Path:
    return app.data_dir / "models"


def listed(app) -> dict[str, dict]:
    models = app.get("/api/models").json()["models"]
    return {m["id"]: m for m in models if m["provider"] == "local"}


def left_behind(app) -> list[str]:
    """What adding left in the models folder besides the models: nothing, ever."""
    return sorted(p.name for p in models_dir(app).iterdir() if p.name.startswith(STAGING_PREFIX))


def add(app, path: Path | str, mode: str):
    return app.post("/api/local/models", {"path": str(path), "mode": mode})


def test_a_copied_file_is_listed_with_its_facts_and_the_original_stays(app, model_file):
    response = add(app, model_file, "copy")
    assert response.status_code == 201, response.text
    model = response.json()["model"]
    assert model["id"] == "local/Tiny-Qwen-Q4_K_M"
    assert model["details"]["quantization"] == "Q4_K_M"
    assert model["context_length"] == 40960
    assert response.json()["note"] is None
    assert (models_dir(app) / model_file.name).read_bytes() == MODEL
    assert model_file.read_bytes() == MODEL
    assert "local/Tiny-Qwen-Q4_K_M" in listed(app)
    assert left_behind(app) == []


def test_a_moved_file_leaves_its_old_place(app, model_file):
    response = add(app, model_file, "move")
    assert response.status_code == 201, response.text
    assert not model_file.exists()
    assert (models_dir(app) / model_file.name).read_bytes() == MODEL


def test_a_linked_file_stays_where_it_is_and_deleting_the_model_keeps_it(app, model_file):
    response = add(app, model_file, "link")
    assert response.status_code == 201, response.text
    target = models_dir(app) / model_file.name
    assert target.is_symlink() and target.resolve() == model_file.resolve()
    assert "local/Tiny-Qwen-Q4_K_M" in listed(app)
    assert app.delete("/api/providers/local/models/Tiny-Qwen-Q4_K_M").status_code == 204
    assert not target.exists() and not target.is_symlink()
    assert model_file.read_bytes() == MODEL


def test_a_name_already_in_the_folder_is_refused_and_nothing_is_replaced(app, model_file):
    assert add(app, model_file, "copy").status_code == 201
    other = model_file.parent / "other"
    other.mkdir()
    (other / model_file.name).write_bytes(BIG_MODEL)
    for mode in ("copy", "move", "link"):
        response = add(app, other / model_file.name, mode)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "model_file_taken"
        assert error["message"] == (
            "Your models folder already has a file named Tiny-Qwen-Q4_K_M.gguf. Rename the "
            "file you are adding, or delete the model of that name first.")
    assert (models_dir(app) / model_file.name).read_bytes() == MODEL
    assert (other / model_file.name).exists()
    assert left_behind(app) == []


@pytest.mark.parametrize("content, sentence", [
    (b"not a model at all, just words" * 10, "“notes.gguf” is not a GGUF model file."),
    (MODEL[:-100], "“notes.gguf” is incomplete or damaged: the file ends before the model it "
                   "describes does. Download it again."),
])
def test_a_file_that_is_no_whole_model_is_refused_with_its_sentence(app, tmp_path, content,
                                                                    sentence):
    path = tmp_path / "notes.gguf"
    path.write_bytes(content)
    response = add(app, path, "move")
    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid_model_file", "message": sentence}
    assert path.exists()  # refused before anything moved
    assert not (models_dir(app) / "notes.gguf").exists()


@pytest.mark.parametrize("path, mode, words", [
    ("relative/model.gguf", "copy", "full path"),
    ("/no/such/folder/model.gguf", "copy", "There is no file at “/no/such/folder/model.gguf”."),
    ("/etc/hostname", "copy", "is not a GGUF model file: model files for the built-in engine "
                              "end in .gguf."),
    ("/tmp/model.gguf", "steal", "`mode` must be “copy”, “move” or “link”."),
])
def test_what_cannot_be_added_is_refused_in_words(app, path, mode, words):
    response = add(app, path, mode)
    assert response.status_code == 422
    assert words in response.json()["error"]["message"]


def upload(app, name: str, data: bytes, **kw):
    return app.post("/api/local/models", files={"file": (name, data)}, timeout=30, **kw)


def test_an_upload_bigger_than_the_body_limit_is_streamed_in_and_listed(app):
    assert len(BIG_MODEL) > 4 * 65536
    response = upload(app, "Big-Qwen.gguf", BIG_MODEL)
    assert response.status_code == 201, response.text
    assert response.json()["model"]["id"] == "local/Big-Qwen"
    assert (models_dir(app) / "Big-Qwen.gguf").read_bytes() == BIG_MODEL
    assert "local/Big-Qwen" in listed(app)
    assert left_behind(app) == []
    # The JSON routes keep their limit.
    big_json = app.post("/api/sessions", {"title": "x" * 100_000})
    assert big_json.status_code == 413


def test_an_upload_that_is_no_model_is_refused_and_removed(app):
    response = upload(app, "fake.gguf", os.urandom(200_000))
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_model_file", "message": "“fake.gguf” is not a GGUF model file."}
    assert sorted(p.name for p in models_dir(app).iterdir()) == []


@pytest.mark.parametrize("name, code", [
    ("notes.txt", "invalid_model_file"),
    ("../../outside.gguf", None),  # only the file's own name counts: it lands inside
    (".hidden.gguf", "invalid_request"),
])
def test_an_uploads_name_decides_where_it_goes(app, name, code):
    response = upload(app, name, MODEL)
    if code is None:
        assert response.status_code == 201, response.text
        assert (models_dir(app) / "outside.gguf").read_bytes() == MODEL
        assert not (app.data_dir.parent / "outside.gguf").exists()
    else:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code


def test_an_upload_of_a_taken_name_is_refused(app, model_file):
    assert add(app, model_file, "copy").status_code == 201
    response = upload(app, model_file.name, BIG_MODEL)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "model_file_taken"
    assert (models_dir(app) / model_file.name).read_bytes() == MODEL


def test_an_upload_without_a_file_says_what_to_send(app):
    response = app.post("/api/local/models", files={"note": (None, "hello")})
    assert response.status_code == 422
    assert "field named `file`" in response.json()["error"]["message"]


def test_a_file_larger_than_the_free_space_is_refused_before_its_bytes(start_server,
                                                                        small_disk, tmp_path):
    folder = small_disk(DISK_MARGIN + 256 * 1024)
    app = start_server(SMALL_BODY_LIMIT)
    response = upload(app, "Big-Qwen.gguf", BIG_MODEL)
    assert response.status_code == 507
    assert response.json()["error"]["code"] == "disk_full"
    assert "not enough free disk space for this file" in response.json()["error"]["message"]
    source = tmp_path / "Big-Qwen.gguf"
    source.write_bytes(BIG_MODEL)
    response = add(app, source, "copy")
    assert response.status_code == 507
    assert "or link the file instead" in response.json()["error"]["message"]
    assert add(app, source, "link").status_code == 201  # a link takes no room
    assert sorted(p.name for p in folder.iterdir()) == ["Big-Qwen.gguf"]


class Dialogs:
    """The desktop window's dialogs, as the server sees them (runtime.WindowHooks)."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, ...]] = []

    def show(self) -> None:
        pass

    def ask_save_path(self, suggested_name: str) -> str | None:
        return None

    def ask_open_path(self, file_types: tuple[str, ...]) -> str | None:
        self.asked.append(file_types)
        return self.answer


def test_the_window_picks_a_file_and_its_path_is_added(app, model_file):
    assert app.post("/api/local/models/pick").json()["error"]["code"] == "no_window"
    app.runtime.window = Dialogs(str(model_file))
    assert app.post("/api/local/models/pick").json() == {"path": str(model_file)}
    assert app.runtime.window.asked == [("GGUF model files (*.gguf)",)]
    assert add(app, model_file, "copy").status_code == 201
    app.runtime.window = Dialogs(None)
    assert app.post("/api/local/models/pick").json() == {"path": None}


def test_a_half_copied_add_left_by_a_killed_app_is_cleared_at_next_start(start_server, tmp_path):
    folder = tmp_path / "data" / "models"
    abandoned = folder / f"{STAGING_PREFIX}killed"
    recent = folder / f"{STAGING_PREFIX}running-elsewhere"
    for staged in (abandoned, recent):
        staged.mkdir(parents=True)
        (staged / "Big-Q4_K_M.gguf").write_bytes(MODEL[:1000])
    hours_ago = time.time() - 2 * 3600
    for path in (abandoned, abandoned / "Big-Q4_K_M.gguf"):
        os.utime(path, (hours_ago, hours_ago))
    start_server()
    wait_for(lambda: not abandoned.exists(), timeout=10)
    assert recent.exists() and (recent / "Big-Q4_K_M.gguf").exists()
