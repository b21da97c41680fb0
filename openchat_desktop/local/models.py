"""The built-in engine's model files: `<models folder>/<name>.gguf` and the bundled ones, each
listed as `local/<name>`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .gguf import GgufError, GgufInfo, read_gguf
from .starter import STARTER

SUFFIX = ".gguf"
# Vision projectors are GGUF files too, but they go beside a model, not in the model list.
PROJECTOR_PREFIX = "mmproj"


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str  # the file's name without `.gguf`: the model id is `local/<name>`
    path: Path
    bundled: bool  # came with the app: never deleted from the app


@dataclass(frozen=True, slots=True)
class Description:
    """What the model list shows of a file, read without loading it."""

    size: int
    context_length: int | None = None
    details: dict[str, object] = field(default_factory=dict)


def find_models(models_dir: Path, bundled_dir: Path) -> dict[str, ModelFile]:
    """Every model file by name, sorted by name. A person's own file wins over a bundled
    one of the same name: it is the one they chose to put there."""
    found: dict[str, ModelFile] = {}
    for folder, bundled in ((bundled_dir, True), (models_dir, False)):
        for path in _gguf_files(folder):
            found[path.stem] = ModelFile(path.stem, path, bundled)
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def describe(model: ModelFile) -> Description:
    """The one place where a model file's facts are read for the list and the engine: its
    size from the file system, the rest from its GGUF header (read once per version of the
    file). A file whose header cannot be read is still listed, with the sentence saying why."""
    stat = model.path.stat()
    details: dict[str, object] = {"bundled": model.bundled}
    if model.bundled and model.path.name == STARTER.file_name:
        details["starter"] = True
        details["label"] = STARTER.label
        details["note"] = STARTER.note
    try:
        info = _header(model.path, stat.st_mtime_ns, stat.st_size)
    except GgufError as exc:
        details["problem"] = exc.message
        return Description(size=stat.st_size, details=details)
    details.update(
        architecture=info.architecture,
        parameters=info.parameter_count,
        quantization=info.quantization,
        vision=info.has_vision,
    )
    return Description(size=stat.st_size, context_length=info.context_length, details=details)


@lru_cache(maxsize=256)
def _header(path: Path, mtime_ns: int, size: int) -> GgufInfo:
    """A file's header, kept while the file is unchanged: the list is asked for often."""
    return read_gguf(path)


def _gguf_files(folder: Path) -> list[Path]:
    try:
        entries = list(folder.iterdir())
    except OSError:  # a folder not made yet, or gone: no models there
        return []
    return [
        path
        for path in entries
        if path.suffix.lower() == SUFFIX
        and not path.name.lower().startswith(PROJECTOR_PREFIX)
        and path.is_file()
    ]
