"""Model downloads from Hugging Face for the built-in engine, through the real app and a fake
hub (tests/fake_hub.py): progress, resume after a dropped connection and after a restart,
checksums, the hub's refusals in plain words, disk space, cancel, pasted names, the catalog."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from openchat_desktop.local import catalog
from openchat_desktop.local.downloads import DISK_MARGIN
from openchat_desktop.local.errors import NotAHubModel
from openchat_desktop.local.hub import HubFile, HubRef, default_file, parse_reference

from .fake_hub import serving
from .support import iter_events, read_events, wait_for

QWEN = catalog.find("qwen3-1.7b")
assert QWEN is not None
SIZE = 1024 * 1024
DATA = os.urandom(SIZE)
TOKEN = "hf_GatedAccessToken0123456789abcdef"


@pytest.fixture
def hub(monkeypatch):
    with serving(monkeypatch, QWEN.repo, {QWEN.file: DATA, "README.md": b"# Qwen3"}) as fake:
        yield fake


@pytest.fixture
def app(hub, start_server):
    return start_server()


def pull(app, name):
    response = app.post("/api/providers/local/models/pull", {"name": name}, stream=True,
                        timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return response


def until_received(events, size: int) -> None:
    """Read progress events until the app says it has `size` bytes (in its part file)."""
    for kind, data in events:
        if kind == "progress" and data["completed"] == size:
            return
    raise AssertionError(f"the download ended before {size} bytes")


def models(app) -> Path:
    return app.data_dir / "models"


def parts(app) -> list[Path]:
    return sorted(models(app).glob("*.part"))


def test_a_catalog_model_downloads_with_progress_and_lands_verified(app, hub):
    hub.delay = 0.02
    events = read_events(pull(app, "qwen3-1.7b"))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done", events[-1]
    progress = [data for kind, data in events if kind == "progress"]
    receiving = [p for p in progress if p["status"] == "downloading" and p["completed"]]
    assert len(receiving) >= 5
    completed = [p["completed"] for p in receiving]
    assert completed == sorted(completed) and all(p["total"] == SIZE for p in receiving)
    assert all({"speed", "seconds_left"} <= set(p) for p in progress)
    assert any(p["speed"] and p["seconds_left"] is not None for p in receiving)
    assert progress[-1]["status"] == "success" and progress[-1]["completed"] == SIZE
    assert events[-1][1]["pull"]["state"] == "done"
    assert (models(app) / QWEN.file).read_bytes() == DATA
    assert parts(app) == []
    listed = app.get("/api/local/catalog").json()["models"]
    assert [m["downloaded"] for m in listed if m["id"] == "qwen3-1.7b"] == [True]


def test_a_dropped_connection_is_resumed_with_a_range(app, hub):
    hub.drop_after = 100_000
    events = read_events(pull(app, "qwen3-1.7b"))
    assert events[-1][0] == "done", events[-1]
    ranges = [seen.headers.get("Range") for seen in hub.cdn_requests()]
    assert ranges == [None, "bytes=100000-"]
    assert (models(app) / QWEN.file).read_bytes() == DATA


def test_a_part_left_by_a_closed_app_is_checked_and_continued(hub, start_server, tmp_path):
    data_dir = tmp_path / "data"
    first = start_server(data_dir=data_dir)
    hub.hold_at = 120_000
    response = pull(first, "qwen3-1.7b")
    until_received(iter_events(response), 120_000)
    first.runtime.shutdown()  # the app closes mid-download
    response.close()
    left = wait_for(lambda: parts(first) or None)
    assert [p.stat().st_size for p in left] == [120_000]
    hub.release()

    second = start_server(data_dir=data_dir)
    events = read_events(pull(second, "qwen3-1.7b"))
    assert events[-1][0] == "done", events[-1]
    # The part was hashed again, then only the rest was fetched.
    received = [data["completed"] for kind, data in events
                if kind == "progress" and data["status"] == "downloading"]
    assert received and min(received) >= 120_000
    assert hub.cdn_requests()[-1].headers.get("Range") == "bytes=120000-"
    assert (models(second) / QWEN.file).read_bytes() == DATA
    assert parts(second) == []


def test_a_file_whose_checksum_differs_is_removed(app, hub):
    hub.wrong_bytes = True
    events = read_events(pull(app, "qwen3-1.7b"))
    kind, data = events[-1]
    assert kind == "error" and data["code"] == "checksum_mismatch"
    assert "checksum differs" in data["message"] and "removed" in data["message"]
    assert list(models(app).iterdir()) == []


def test_an_unknown_repository_or_file_is_not_found(app, hub):
    kind, data = read_events(pull(app, "nobody/Nothing-GGUF"))[-1]
    assert kind == "error" and data["code"] == "hub_not_found"
    assert "Hugging Face has no model “nobody/Nothing-GGUF”" in data["message"]
    kind, data = read_events(pull(app, f"{QWEN.repo}/Qwen3-1.7B-Q9_X.gguf"))[-1]
    assert kind == "error" and data["code"] == "hub_not_found"
    assert "has no model file “Qwen3-1.7B-Q9_X.gguf”" in data["message"]


def test_a_gated_model_asks_for_a_token_which_goes_to_the_hub_only(app, hub, monkeypatch):
    hub.add("meta-llama/Gated-GGUF", {"Gated-Q4_K_M.gguf": DATA}, token=TOKEN)
    kind, data = read_events(pull(app, "meta-llama/Gated-GGUF"))[-1]
    assert kind == "error" and data["code"] == "hub_needs_token"
    assert "gated model" in data["message"] and "HF_TOKEN" in data["message"]

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    response = pull(app, f"{hub.url}/meta-llama/Gated-GGUF")
    body = response.text
    assert "event: done" in body and TOKEN not in body
    assert (models(app) / "Gated-Q4_K_M.gguf").read_bytes() == DATA
    to_hub = [s for s in hub.requests if not s.path.startswith("/cdn/")]
    assert to_hub[-1].headers.get("Authorization") == f"Bearer {TOKEN}"
    assert [s.headers.get("Authorization") for s in hub.cdn_requests()] == [None]


def test_an_offline_hub_is_explained(start_server, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    app = start_server()
    kind, data = read_events(pull(app, "qwen3-1.7b"))[-1]
    assert kind == "error" and data["code"] == "hub_unreachable"
    assert "Could not reach Hugging Face at http://127.0.0.1:9" in data["message"]


def test_cancel_keeps_the_part_and_the_next_download_continues(app, hub):
    hub.hold_at = 64 * 1024
    response = pull(app, "qwen3-1.7b")
    events = iter_events(response)
    pull_id = next(events)[1]["pull"]["id"]
    until_received(events, 64 * 1024)
    cancelled = app.post(f"/api/pulls/{pull_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["pull"]["state"] == "cancelled"
    rest = list(events)
    response.close()
    assert rest[-1][0] == "error" and rest[-1][1]["code"] == "cancelled"
    assert "download it again to continue" in rest[-1][1]["message"]
    assert [p.stat().st_size for p in parts(app)] == [64 * 1024]
    assert not (models(app) / QWEN.file).exists()
    listed = app.get("/api/local/catalog").json()["models"]
    assert [m["partial"] for m in listed if m["id"] == "qwen3-1.7b"] == [64 * 1024]
    hub.release()

    events = read_events(pull(app, "qwen3-1.7b"))
    assert events[-1][0] == "done", events[-1]
    assert hub.cdn_requests()[-1].headers.get("Range") == f"bytes={64 * 1024}-"
    assert (models(app) / QWEN.file).read_bytes() == DATA


def test_a_repository_gets_its_q4_k_m_file_and_pasted_addresses_work(app, hub):
    files = {"Tiny-Q2_K.gguf": DATA[:1000], "Tiny-Q4_K_M.gguf": DATA[:2000],
             "Tiny-Q8_0.gguf": DATA[:3000], "mmproj-Tiny-F16.gguf": DATA[:500]}
    hub.add("someone/Tiny-GGUF", files)
    assert read_events(pull(app, "https://huggingface.co/someone/Tiny-GGUF"))[-1][0] == "done"
    assert sorted(p.name for p in models(app).iterdir()) == ["Tiny-Q4_K_M.gguf"]
    address = "https://huggingface.co/someone/Tiny-GGUF/blob/main/Tiny-Q8_0.gguf"
    assert read_events(pull(app, address))[-1][0] == "done"
    assert (models(app) / "Tiny-Q8_0.gguf").read_bytes() == DATA[:3000]


@pytest.mark.parametrize("name", ["https://example.com/owner/repo", "not a model",
                                  "owner/repo/README.md", "https://huggingface.co/owner"])
def test_a_name_that_cannot_be_a_model_is_refused_at_once(app, name):
    response = app.post("/api/providers/local/models/pull", {"name": name})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_a_hub_model"


@pytest.mark.parametrize(("text", "expected"), [
    ("https://huggingface.co/owner/Repo-GGUF", HubRef("owner/Repo-GGUF")),
    ("https://huggingface.co/owner/Repo-GGUF/tree/dev", HubRef("owner/Repo-GGUF", None, "dev")),
    ("https://huggingface.co/owner/Repo-GGUF/blob/main/m-Q4_K_M.gguf",
     HubRef("owner/Repo-GGUF", "m-Q4_K_M.gguf")),
    ("https://huggingface.co/owner/Repo-GGUF/resolve/main/m-Q4_K_M.gguf?download=true",
     HubRef("owner/Repo-GGUF", "m-Q4_K_M.gguf")),
    ("https://hf.co/owner/Repo-GGUF/resolve/abc123/sub/m.gguf",
     HubRef("owner/Repo-GGUF", "sub/m.gguf", "abc123")),
    ("http://mirror.test:8080/owner/Repo-GGUF/blob/main/m.gguf",
     HubRef("owner/Repo-GGUF", "m.gguf")),
    ("owner/Repo-GGUF", HubRef("owner/Repo-GGUF")),
    ("  owner/Repo-GGUF/m-Q4_K_M.gguf ", HubRef("owner/Repo-GGUF", "m-Q4_K_M.gguf")),
    ("hf.co/owner/Repo-GGUF", HubRef("owner/Repo-GGUF")),
])
def test_every_pasted_form_names_its_repository_and_file(text, expected):
    assert parse_reference(text, "http://mirror.test:8080") == expected


@pytest.mark.parametrize("text", ["https://github.com/owner/repo", "owner", "owner/repo/x.bin",
                                  "https://huggingface.co/owner/repo/discussions",
                                  "owner/repo/../../etc/passwd.gguf"])
def test_what_is_not_a_model_is_refused_with_a_sentence(text):
    with pytest.raises(NotAHubModel) as refused:
        parse_reference(text)
    assert refused.value.message.endswith(".")


def test_without_q4_k_m_the_smallest_file_of_four_bits_or_more_is_chosen():
    def file(path: str, size: int) -> HubFile:
        return HubFile("o/r", "main", path, size, "0" * 64)

    files = [file("m-Q3_K_M.gguf", 300), file("m-Q5_K_M.gguf", 500), file("m-IQ4_XS.gguf", 400),
             file("m-Q8_0.gguf", 800), file("m-Q4_K_M-00001-of-00002.gguf", 200)]
    assert default_file(files) == files[2]
    assert default_file(files[:1]) == files[0]
    assert default_file([]) is None


@pytest.mark.parametrize(("gigabytes", "expected"), [
    (1, None), (2, "qwen3-0.6b"), (3, "llama-3.2-1b"), (4, "qwen3-1.7b"), (6, "llama-3.2-3b"),
    (8, "qwen3-4b"), (64, "qwen3-4b"), (None, None),
])
def test_the_recommendation_is_the_best_model_that_fits_the_memory(gigabytes, expected):
    ram = gigabytes * 1_000_000_000 if gigabytes else None
    chosen = catalog.recommended(ram)
    assert (chosen.id if chosen else None) == expected
    if chosen is not None:
        assert chosen.ram <= ram / 2


def test_the_catalog_says_what_suits_this_machine(app):
    body = app.get("/api/local/catalog").json()
    assert body["ram"] == catalog.machine_ram() and body["ram"] > 0
    best = catalog.recommended(body["ram"])
    assert body["recommended"] == (best.id if best else None)
    assert [m["id"] for m in body["models"] if m["recommended"]] == (
        [best.id] if best else [])
    assert len(body["models"]) == len(catalog.CATALOG) >= 8
    for model in body["models"]:
        assert model["file"].endswith(".gguf") and model["size"] < model["ram"]
        assert model["downloaded"] is False and model["partial"] == 0


# --- disk space, on a real small filesystem -----------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a given size mounted as the models folder (root only: tests run as root)."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        folder = tmp_path / "data" / "models"
        folder.mkdir(parents=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                 str(folder)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_not_enough_free_space_stops_before_downloading(hub, start_server, small_disk):
    small_disk(DISK_MARGIN)  # the margin alone fills it
    app = start_server()
    kind, data = read_events(pull(app, "qwen3-1.7b"))[-1]
    assert kind == "error" and data["code"] == "disk_full"
    assert "not enough free disk space" in data["message"]
    assert hub.cdn_requests() == []


def test_a_disk_that_fills_up_midway_stops_and_the_download_continues_later(
    hub, start_server, small_disk
):
    folder = small_disk(DISK_MARGIN + 2 * SIZE)
    app = start_server()
    hub.hold_at = 64 * 1024
    response = pull(app, "qwen3-1.7b")
    events = iter_events(response)
    until_received(events, 64 * 1024)
    filler = folder / "other-files"
    with filler.open("wb") as out:  # something else fills the disk meanwhile
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    hub.release()
    kind, data = list(events)[-1]
    response.close()
    assert kind == "error" and data["code"] == "disk_full", data
    assert "filled up" in data["message"] and "kept" in data["message"]
    assert not (folder / QWEN.file).exists()
    kept = parts(app)[0].stat().st_size
    assert 64 * 1024 <= kept < SIZE

    filler.unlink()
    ended = read_events(pull(app, "qwen3-1.7b"))[-1]
    assert ended[0] == "done", ended
    assert hub.cdn_requests()[-1].headers.get("Range") == f"bytes={kept}-"
    assert hashlib.sha256((folder / QWEN.file).read_bytes()).digest() == \
        hashlib.sha256(DATA).digest()
