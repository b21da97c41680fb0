"""The GGUF header reader: the real starter model, files written here byte by byte, and
every way a file can be cut short, mislabelled or lie about its lengths."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from openchat_desktop.errors import AppError
from openchat_desktop.local import gguf
from openchat_desktop.local.gguf import GgufError, read_gguf
from openchat_desktop.local.starter import STARTER
from openchat_desktop.paths import bundled_models_dir

from .gguf_files import (
    ARRAY,
    F32,
    HUGE,
    MODEL_METADATA,
    MODEL_TENSORS,
    STRING,
    T_F32,
    T_Q4_0,
    U8,
    U32,
    U64,
    gguf_file,
    kv,
    text,
    u32,
    u64,
)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def peak_allocation(action: Callable[[], object]) -> int:
    """The most memory Python allocated while `action` ran (it is expected to raise)."""
    tracemalloc.start()
    try:
        with pytest.raises(GgufError):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def starter() -> Path:
    path = bundled_models_dir() / STARTER.file_name
    assert path.is_file(), f"{path} is missing: scripts/setup.sh fetches it"
    return path


# The real model, compared with what llama.cpp's own Python reader (the `gguf` package) says.

def test_the_starter_model_is_described_as_llama_cpp_describes_it(starter):
    info = read_gguf(starter)
    assert info.path == starter
    assert info.file_size == STARTER.size == 98_362_432
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.name == "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert info.parameter_count == 134_515_008  # counted from the 272 tensor shapes
    assert info.tensor_count == 272
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.has_chat_template and info.chat_template_bytes == 368
    assert info.projector is None and not info.has_vision and not info.is_projector


def test_the_reader_steps_over_the_vocabulary_instead_of_holding_it(starter):
    tracemalloc.start()
    try:
        read_gguf(starter)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The header holds 98k strings (1.8 MB); the reader keeps a 256 KB window of it.
    assert peak < 1_000_000


def header_and_data_bounds(path: Path) -> tuple[bytes, int]:
    """The bytes before the tensor data, and the file's size."""
    data = path.read_bytes()[: 2 * 1024 * 1024]
    return data, path.stat().st_size


def cut_offsets(header_length: int, size: int) -> list[int]:
    """Every byte of the first fixed fields and first keys, then spread over the header
    (vocabulary, template, tensor entries), then inside the tensor data up to the last byte."""
    spread = range(64, header_length, max(1, header_length // 400))
    return [*range(0, 64), *spread, header_length - 1, header_length, header_length + 1,
            size // 2, size - 1]


def test_a_starter_model_cut_short_anywhere_is_refused(starter, tmp_path):
    data, size = header_and_data_bounds(starter)
    data_start = 1_785_664  # where llama.cpp's reader puts the tensor data
    cut = tmp_path / "cut.gguf"
    refused = set()
    for length in cut_offsets(data_start, size):
        with open(cut, "wb") as file:
            file.write(data[:length])
            # Past the header only the length matters: the rest is left sparse.
            file.truncate(length)
        with pytest.raises(GgufError) as caught:
            read_gguf(cut)
        refused.add(caught.value.message)
    assert refused == {
        "“cut.gguf” is not a GGUF model file.",
        "“cut.gguf” is incomplete or damaged: the file ends before the model it describes "
        "does. Download it again.",
    }


# Files written here.

def test_a_hand_written_model_is_described(tmp_path):
    path = write(tmp_path, "tiny.gguf", gguf_file(MODEL_METADATA, MODEL_TENSORS))
    info = read_gguf(path)
    assert info.architecture == "qwen3"
    assert info.name == "Tiny Qwen"
    assert info.context_length == 40960
    assert info.quantization == "Q4_K_M"  # the declared file type, not the tensors' types
    assert info.parameter_count == 64 * 3 + 64 * 64 + 64
    assert info.tensor_count == 3
    assert info.chat_template_bytes == len(MODEL_METADATA[-1][2])
    assert info.file_size == path.stat().st_size
    assert info.version == 3 and not info.has_vision


def test_declared_values_win_and_missing_ones_are_inferred_or_absent(tmp_path):
    declared = [
        ("llama.context_length", U64, 131072),  # before the architecture that names it
        ("general.architecture", STRING, "llama"),
        ("general.parameter_count", U64, 8_030_261_248),
        ("general.file_type", U32, 1024 | 7),  # llama.cpp's "guessed" flag on Q8_0
    ]
    info = read_gguf(write(tmp_path, "declared.gguf", gguf_file(declared, MODEL_TENSORS)))
    assert (info.context_length, info.parameter_count, info.quantization) == (
        131072, 8_030_261_248, "Q8_0")

    bare = [("general.architecture", STRING, "llama")]
    info = read_gguf(write(tmp_path, "bare.gguf", gguf_file(bare, MODEL_TENSORS)))
    assert info.name is None and info.context_length is None
    assert not info.has_chat_template
    # no declared type: the most common type of the weight matrices, as llama.cpp guesses
    assert info.quantization in {"Q8_0", "Q4_0"}
    many_q4 = [*MODEL_TENSORS, ("blk.0.attn_k.weight", [64, 64], T_Q4_0)]
    assert read_gguf(write(tmp_path, "q4.gguf", gguf_file(bare, many_q4))).quantization == "Q4_0"


def test_version_2_and_another_alignment_are_read(tmp_path):
    metadata = [("general.architecture", STRING, "phi3"), ("general.alignment", U32, 64)]
    data = gguf_file(metadata, MODEL_TENSORS, version=2, alignment=64)
    info = read_gguf(write(tmp_path, "v2.gguf", data))
    assert (info.version, info.architecture) == (2, "phi3")
    # a file declaring 64 but laid out with 32 has its second tensor out of place
    with pytest.raises(GgufError) as caught:
        read_gguf(write(tmp_path, "bad.gguf", gguf_file(metadata, MODEL_TENSORS, version=2)))
    assert caught.value.message == damaged("a tensor's data is not where the format puts it")


def test_a_long_name_is_kept_short_and_bad_bytes_do_not_break_it(tmp_path):
    metadata = [("general.architecture", STRING, "llama"),
                ("general.name", STRING, b"\xff\xfe" + b"x" * 100_000)]
    info = read_gguf(write(tmp_path, "long.gguf", gguf_file(metadata, MODEL_TENSORS)))
    assert info.name is not None
    assert info.name.startswith("\ufffd\ufffdxxx") and len(info.name) == gguf.MAX_TEXT_BYTES


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "“bad.gguf” is not a GGUF model file."),
        (b"GGML" + u32(3) + u64(0) + u64(0), "“bad.gguf” is not a GGUF model file."),
        (b"Hello, this is a text file\n", "“bad.gguf” is not a GGUF model file."),
        (b"GGUF" + u32(1) + u32(0) + u32(0),
         "“bad.gguf” is in GGUF version 1, too old for llama.cpp. Download a newer copy of the "
         "model."),
        (b"GGUF" + u32(4) + u64(0) + u64(0),
         "“bad.gguf” is in GGUF version 4, newer than this app can read. Update OpenChat to "
         "use it."),
        (b"GGUF" + struct.pack(">I", 3) + struct.pack(">Q", 0) * 2,
         "“bad.gguf” was made for big-endian computers and cannot run on this one. Download "
         "the usual (little-endian) file instead."),
    ],
    ids=["empty", "wrong-magic", "text", "version-1", "version-4", "big-endian"],
)
def test_a_file_that_is_not_a_readable_gguf_says_so(tmp_path, data, message):
    with pytest.raises(GgufError) as caught:
        read_gguf(write(tmp_path, "bad.gguf", data))
    assert caught.value.message == message


def damaged(what: str) -> str:
    return f"“bad.gguf” is damaged and cannot be used: {what}."


@pytest.mark.parametrize(
    ("metadata", "tensors", "message"),
    [
        ([("general.name", STRING, "no architecture")], MODEL_TENSORS,
         damaged("it does not say which kind of model it holds")),
        ([("general.architecture", STRING, "llama"), ("x", ARRAY, (ARRAY, []))], [],
         damaged("it holds a list of lists, which llama.cpp does not read")),
        ([("general.architecture", STRING, "llama"), ("general.alignment", U32, 48)], [],
         damaged("its data alignment is not a power of two")),
        ([("general.architecture", STRING, "llama")], [("odd", [33, 2], T_Q4_0)],
         damaged("a tensor's shape does not fit its number type")),
    ],
    ids=["no-architecture", "nested-list", "alignment", "shape"],
)
def test_a_damaged_file_says_what_is_wrong(tmp_path, metadata, tensors, message):
    with pytest.raises(GgufError) as caught:
        read_gguf(write(tmp_path, "bad.gguf", gguf_file(metadata, tensors)))
    assert caught.value.message == message


def test_a_key_longer_than_the_format_allows_is_refused(tmp_path):
    long_key = ("general." + "k" * 70_000, U8, 1)
    data = gguf_file([("general.architecture", STRING, "llama"), long_key], MODEL_TENSORS)
    with pytest.raises(GgufError) as caught:
        read_gguf(write(tmp_path, "bad.gguf", data))
    assert caught.value.message == damaged("one of its keys is longer than the format allows")


def test_a_value_of_unknown_kind_is_refused(tmp_path):
    data = b"GGUF" + u32(3) + u64(0) + u64(1) + text("general.architecture") + u32(13) + u64(0)
    with pytest.raises(GgufError, match="unknown kind 13"):
        read_gguf(write(tmp_path, "bad.gguf", data + b"\0" * 64))


ARCH = kv("general.architecture", STRING, "llama")
PADDING = b"\0" * 4096  # enough that a small claimed count is not refused just for the size
LIES = {
    # counts
    "kv-count": b"GGUF" + u32(3) + u64(0) + u64(HUGE) + PADDING,
    "tensor-count": b"GGUF" + u32(3) + u64(HUGE) + u64(1) + ARCH + PADDING,
    # lengths
    "key-length": b"GGUF" + u32(3) + u64(0) + u64(1) + u64(HUGE) + PADDING,
    "kept-text": b"GGUF" + u32(3) + u64(0) + u64(1) + text("general.architecture") + u32(STRING)
    + u64(HUGE) + PADDING,
    "skipped-text": b"GGUF" + u32(3) + u64(0) + u64(2) + ARCH + text("tokenizer.chat_template")
    + u32(STRING) + u64(HUGE) + PADDING,
    "string-list": b"GGUF" + u32(3) + u64(0) + u64(2) + ARCH + text("tokenizer.ggml.tokens")
    + u32(ARRAY) + u32(STRING) + u64(HUGE) + PADDING,
    "string-in-list": b"GGUF" + u32(3) + u64(0) + u64(2) + ARCH + text("tokenizer.ggml.tokens")
    + u32(ARRAY) + u32(STRING) + u64(2) + text("a") + u64(HUGE) + PADDING,
    "number-list": b"GGUF" + u32(3) + u64(0) + u64(2) + ARCH + text("tokenizer.ggml.scores")
    + u32(ARRAY) + u32(F32) + u64(HUGE) + PADDING,
    # tensors
    "tensor-name": b"GGUF" + u32(3) + u64(1) + u64(1) + ARCH + u64(HUGE) + PADDING,
    "dimensions": b"GGUF" + u32(3) + u64(1) + u64(1) + ARCH + text("t") + u32(2**31) + PADDING,
    "shape": b"GGUF" + u32(3) + u64(1) + u64(1) + ARCH + text("t") + u32(2) + u64(2**40)
    + u64(2**40) + u32(T_F32) + u64(0) + PADDING,
    "data-offset": b"GGUF" + u32(3) + u64(1) + u64(1) + ARCH + text("t") + u32(1) + u64(32)
    + u32(T_F32) + u64(2**62) + PADDING,
}


@pytest.mark.parametrize("data", LIES.values(), ids=LIES.keys())
def test_a_header_lying_about_sizes_is_refused_without_allocating(tmp_path, data):
    path = write(tmp_path, "liar.gguf", data)
    assert peak_allocation(lambda: read_gguf(path)) < 1_000_000


def test_a_vocabulary_larger_than_any_header_is_refused_without_reading_it(tmp_path, monkeypatch):
    strings = [f"token-{i:06d}" for i in range(50_000)]
    metadata = [("general.architecture", STRING, "llama"),
                ("tokenizer.ggml.tokens", ARRAY, (STRING, strings))]
    path = write(tmp_path, "big.gguf", gguf_file(metadata, MODEL_TENSORS))
    assert read_gguf(path).architecture == "llama"
    monkeypatch.setattr(gguf, "MAX_HEADER_BYTES", 100_000)
    with pytest.raises(GgufError) as caught:
        read_gguf(path)
    assert caught.value.message == damaged("its description is far longer than any model's"
                                           ).replace("bad.gguf", "big.gguf")


def test_a_file_that_cannot_be_opened_is_refused_with_the_reason(tmp_path):
    with pytest.raises(GgufError) as caught:
        read_gguf(tmp_path / "missing.gguf")
    assert caught.value.message == "“missing.gguf” could not be read: No such file or directory."
    (tmp_path / "folder.gguf").mkdir()
    with pytest.raises(GgufError, match="“folder.gguf” could not be read: Is a directory."):
        read_gguf(tmp_path / "folder.gguf")


def test_a_gguf_error_is_a_422_naming_the_file(tmp_path):
    with pytest.raises(GgufError) as caught:
        read_gguf(write(tmp_path, "x.gguf", b"nope"))
    error = caught.value
    assert isinstance(error, AppError)
    assert (error.code, error.status) == ("invalid_model_file", 422)
    assert error.public() == {"code": "invalid_model_file",
                              "message": "“x.gguf” is not a GGUF model file."}


# Vision projectors beside a model.

def model_bytes(architecture: str = "llama") -> bytes:
    return gguf_file([("general.architecture", STRING, architecture)], MODEL_TENSORS)


def test_a_projector_in_a_models_own_folder_gives_it_vision(tmp_path):
    model = write(tmp_path, "llava-v1.6-Q4_K_M.gguf", model_bytes())
    projector = write(tmp_path, "mmproj-model-f16.gguf", model_bytes("clip"))
    info = read_gguf(model)
    assert info.projector == projector and info.has_vision and not info.is_projector
    projector_info = read_gguf(projector)
    assert projector_info.is_projector and projector_info.has_vision
    assert projector_info.projector is None


def test_in_a_shared_folder_a_projector_goes_only_with_its_own_model(tmp_path):
    gemma = write(tmp_path, "gemma-3-4b-it-Q4_K_M.gguf", model_bytes("gemma3"))
    qwen = write(tmp_path, "Qwen2.5-VL-7B-Instruct-Q4_K_M.gguf", model_bytes("qwen2vl"))
    plain = write(tmp_path, "Llama-3.2-1B-Instruct-Q4_K_M.gguf", model_bytes())
    write(tmp_path, "mmproj-gemma-3-4b-it-f16.gguf", model_bytes("clip"))
    write(tmp_path, "Qwen2.5-VL-7B-Instruct-mmproj-BF16.gguf", model_bytes("clip"))
    write(tmp_path, "mmproj-model-f16.gguf", model_bytes("clip"))  # whose? nobody can tell
    assert read_gguf(gemma).projector == tmp_path / "mmproj-gemma-3-4b-it-f16.gguf"
    assert read_gguf(qwen).projector == tmp_path / "Qwen2.5-VL-7B-Instruct-mmproj-BF16.gguf"
    assert read_gguf(plain).projector is None
