"""What a GGUF model file is, read from its header without loading the model.

The header is a signature, a version, two counts, typed key/values (the model's description
and its vocabulary) and one entry per tensor (name, shape, number type, offset); the tensor
data follows. The reader walks it forward and keeps only what the Models panel shows. Any
file may be hostile or half-downloaded, so every length is checked against what is left of
the file before anything is read, texts are kept only up to a few hundred bytes, big
vocabularies are stepped over rather than read, and the walk stops at `MAX_HEADER_BYTES`.
The tensor entries also say where the data ends, so a file cut short anywhere is refused
(`GgufError`, in `local.errors`).
"""

from __future__ import annotations

import os
import re
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import GgufError

MAGIC = b"GGUF"
# llama.cpp reads versions 2 and 3 (3 added big-endian files, which it refuses on our CPUs).
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
# Headers of real models are a few MB (a 256k-word vocabulary is about 10 MB); each string
# stepped over costs a little time, so this also bounds how long reading a file can take.
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_KEY_BYTES = 65535  # the format's own limit
MAX_TEXT_BYTES = 512  # of a kept text (architecture, name); the rest is stepped over
MAX_DIMS = 4  # llama.cpp's tensors have at most four dimensions
MAX_FOLDER_ENTRIES = 10_000  # looked at when searching for a vision projector beside a model
READ_CHUNK = 256 * 1024

# Value kinds: number -> struct format of a scalar (strings and arrays are handled apart).
STRING, ARRAY = 8, 9
SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
           12: "d"}
INTEGERS = {0, 1, 2, 3, 4, 5, 10, 11}
# Smallest sizes on disk, to refuse a count the rest of the file cannot hold before walking it.
LENGTH = struct.Struct("<Q")  # of a string
MIN_KV_BYTES = 8 + 4 + 1  # key length, value kind, one byte of value
MIN_TENSOR_BYTES = 8 + 4 + 4 + 8  # name length, dimensions, number type, offset

# llama.cpp's file types (`general.file_type`), named as llama.cpp and Hugging Face name them.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}
FILE_TYPE_GUESSED = 1024  # a flag llama.cpp sets when it guessed the type itself

QK_K = 256  # values in a "K" quantization block


@dataclass(frozen=True, slots=True)
class NumberType:
    """A ggml tensor number type: `block` values take `block_bytes` bytes on disk."""

    name: str
    block: int
    block_bytes: int


NUMBER_TYPES = {
    0: NumberType("F32", 1, 4),
    1: NumberType("F16", 1, 2),
    2: NumberType("Q4_0", 32, 18),
    3: NumberType("Q4_1", 32, 20),
    6: NumberType("Q5_0", 32, 22),
    7: NumberType("Q5_1", 32, 24),
    8: NumberType("Q8_0", 32, 34),
    9: NumberType("Q8_1", 32, 40),
    10: NumberType("Q2_K", QK_K, 84),
    11: NumberType("Q3_K", QK_K, 110),
    12: NumberType("Q4_K", QK_K, 144),
    13: NumberType("Q5_K", QK_K, 176),
    14: NumberType("Q6_K", QK_K, 210),
    15: NumberType("Q8_K", QK_K, 292),
    16: NumberType("IQ2_XXS", QK_K, 66),
    17: NumberType("IQ2_XS", QK_K, 74),
    18: NumberType("IQ3_XXS", QK_K, 98),
    19: NumberType("IQ1_S", QK_K, 50),
    20: NumberType("IQ4_NL", 32, 18),
    21: NumberType("IQ3_S", QK_K, 110),
    22: NumberType("IQ2_S", QK_K, 82),
    23: NumberType("IQ4_XS", QK_K, 136),
    24: NumberType("I8", 1, 1),
    25: NumberType("I16", 1, 2),
    26: NumberType("I32", 1, 4),
    27: NumberType("I64", 1, 8),
    28: NumberType("F64", 1, 8),
    29: NumberType("IQ1_M", QK_K, 56),
    30: NumberType("BF16", 1, 2),
    34: NumberType("TQ1_0", QK_K, 54),
    35: NumberType("TQ2_0", QK_K, 66),
    39: NumberType("MXFP4", 32, 17),
    40: NumberType("NVFP4", 64, 36),
    41: NumberType("Q1_0", 128, 18),
}

KEY_ARCHITECTURE = b"general.architecture"
KEY_NAME = b"general.name"
KEY_PARAMETER_COUNT = b"general.parameter_count"
KEY_FILE_TYPE = b"general.file_type"
KEY_ALIGNMENT = b"general.alignment"
KEY_CHAT_TEMPLATE = b"tokenizer.chat_template"
CONTEXT_LENGTH_SUFFIX = b".context_length"
KEPT_TEXTS = {KEY_ARCHITECTURE, KEY_NAME}
KEPT_INTEGERS = {KEY_PARAMETER_COUNT, KEY_FILE_TYPE, KEY_ALIGNMENT}
MAX_CONTEXT_KEYS = 64  # `<arch>.context_length` candidates kept until the architecture is known

PROJECTOR_MARK = "mmproj"
PROJECTOR_ARCHITECTURE = "clip"
# Trailing number types in a projector's name ("mmproj-gemma-3-4b-it-f16"): not the model's name.
PROJECTOR_SUFFIX = re.compile(r"[-_.](f16|f32|bf16|q\d\w*)$", re.IGNORECASE)
NAME_SEPARATORS = re.compile(r"[-_. ]+")


@dataclass(frozen=True, slots=True)
class GgufInfo:
    """What the Models panel shows about a model file, and what starting it needs."""

    path: Path
    file_size: int  # bytes
    version: int  # of the GGUF format
    architecture: str  # llama.cpp's name for the network, e.g. "llama", "qwen3", "clip"
    name: str | None  # `general.name`, as the model's makers wrote it
    parameter_count: int  # `general.parameter_count`, else counted from the tensor shapes
    quantization: str | None  # e.g. "Q4_K_M"; from the tensors (a guess) when not declared
    context_length: int | None  # tokens the model was trained for
    chat_template_bytes: int  # length of the built-in chat template; 0 when there is none
    tensor_count: int
    projector: Path | None  # the vision projector (mmproj) file beside it, if any

    @property
    def has_chat_template(self) -> bool:
        return self.chat_template_bytes > 0

    @property
    def is_projector(self) -> bool:
        """A vision projector is loaded with a model, never chatted with on its own."""
        return self.architecture == PROJECTOR_ARCHITECTURE

    @property
    def has_vision(self) -> bool:
        return self.projector is not None or self.is_projector


def read_gguf(path: str | os.PathLike[str]) -> GgufInfo:
    """The header of the GGUF file at `path`; GgufError when it is not a whole, sound one."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            header = Header(file, os.fstat(file.fileno()).st_size, path)
            return header.describe(projector=find_projector(path))
    except OSError as exc:
        raise GgufError(
            f"“{path.name}” could not be read: {exc.strerror or 'the system refused'}."
        ) from None


class Header:
    """A forward walk over one file's header through a small window of bytes: every read or
    step is checked against the end of the file and `MAX_HEADER_BYTES` before it is made."""

    def __init__(self, file: BinaryIO, size: int, path: Path) -> None:
        self.file = file
        self.size = size
        self.path = path
        self.file_name = path.name
        self.pos = 0
        self.window = b""
        self.window_start = 0

    # The refusals, in words a person can act on.

    def incomplete(self) -> GgufError:
        return GgufError(
            f"“{self.file_name}” is incomplete or damaged: the file ends before the model it "
            "describes does. Download it again."
        )

    def damaged(self, what: str) -> GgufError:
        return GgufError(f"“{self.file_name}” is damaged and cannot be used: {what}.")

    # Reading.

    def need(self, count: int) -> None:
        """Refuse to go `count` bytes further unless the file and the header bound allow it."""
        end = self.pos + count
        if count < 0 or end > self.size:
            raise self.incomplete()
        if end > MAX_HEADER_BYTES:
            raise self.damaged("its description is far longer than any model's")

    def take(self, count: int) -> memoryview:
        """The next `count` bytes (at most a chunk or a capped text), from the window."""
        self.need(count)
        offset = self.pos - self.window_start
        if offset < 0 or offset + count > len(self.window):
            self.file.seek(self.pos)
            self.window = self.file.read(max(count, READ_CHUNK))
            self.window_start = self.pos
            offset = 0
            if len(self.window) < count:  # the file shrank while being read
                raise self.incomplete()
        self.pos += count
        return memoryview(self.window)[offset : offset + count]

    def skip(self, count: int) -> None:
        self.need(count)
        self.pos += count

    def scalar(self, fmt: str) -> int | float | bool:
        value: int | float | bool = struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def u32(self) -> int:
        return int(self.scalar("I"))

    def u64(self) -> int:
        return int(self.scalar("Q"))

    def text(self, length: int, keep: int) -> str:
        """A string value of `length` bytes, of which at most `keep` are decoded."""
        kept = bytes(self.take(min(length, keep)))
        self.skip(length - len(kept))
        return kept.decode("utf-8", errors="replace").strip()

    def skip_strings(self, count: int) -> None:
        """Step over an array of strings (a vocabulary) one length at a time."""
        if count * 8 > self.size - self.pos:
            raise self.incomplete()
        # The hot loop of the walk (a vocabulary is 50k-250k strings): lengths are read from
        # the window in place while it holds them.
        length_at = LENGTH.unpack_from
        for _ in range(count):
            offset = self.pos - self.window_start
            if offset + 8 <= len(self.window):
                length = length_at(self.window, offset)[0]
                self.need(8 + length)
                self.pos += 8 + length
            else:
                self.skip(self.u64())

    def skip_array(self) -> None:
        kind = self.u32()
        count = self.u64()
        if kind == STRING:
            self.skip_strings(count)
        elif kind in SCALARS:
            self.skip(count * struct.calcsize(SCALARS[kind]))
        elif kind == ARRAY:
            raise self.damaged("it holds a list of lists, which llama.cpp does not read")
        else:
            raise self.damaged(f"it holds a list of values of unknown kind {kind}")

    # The walk.

    def describe(self, projector: Path | None) -> GgufInfo:
        if self.size < 4 or bytes(self.take(4)) != MAGIC:
            raise GgufError(f"“{self.file_name}” is not a GGUF model file.")
        version = self.u32()
        if version not in SUPPORTED_VERSIONS:
            raise self.unsupported(version)
        tensor_count = self.u64()
        kv_count = self.u64()
        if kv_count * MIN_KV_BYTES > self.size - self.pos:
            raise self.incomplete()

        texts: dict[bytes, str] = {}
        integers: dict[bytes, int] = {}
        chat_template_bytes = 0
        for _ in range(kv_count):
            key_length = self.u64()
            if key_length > MAX_KEY_BYTES:
                raise self.damaged("one of its keys is longer than the format allows")
            key = bytes(self.take(key_length))
            kind = self.u32()
            if kind == STRING:
                length = self.u64()
                if key in KEPT_TEXTS:
                    texts[key] = self.text(length, MAX_TEXT_BYTES)
                else:
                    self.skip(length)
                    if key == KEY_CHAT_TEMPLATE:
                        chat_template_bytes = length
            elif kind == ARRAY:
                self.skip_array()
            elif kind in SCALARS:
                value = self.scalar(SCALARS[kind])
                if kind in INTEGERS and isinstance(value, int) and self.kept(key, integers):
                    integers[key] = value
            else:
                raise self.damaged(f"it holds a value of unknown kind {kind}")

        architecture = texts.get(KEY_ARCHITECTURE)
        if not architecture:
            raise self.damaged("it does not say which kind of model it holds")
        alignment = integers.get(KEY_ALIGNMENT, DEFAULT_ALIGNMENT)
        if alignment <= 0 or alignment & (alignment - 1):
            raise self.damaged("its data alignment is not a power of two")
        counted, quantization_guess = self.read_tensors(tensor_count, alignment)

        declared_count = integers.get(KEY_PARAMETER_COUNT)
        file_type = integers.get(KEY_FILE_TYPE)
        return GgufInfo(
            path=self.path,
            file_size=self.size,
            version=version,
            architecture=architecture,
            name=texts.get(KEY_NAME) or None,
            parameter_count=declared_count if declared_count else counted,
            quantization=(
                FILE_TYPES.get(file_type & ~FILE_TYPE_GUESSED)
                if file_type is not None
                else quantization_guess
            ),
            context_length=integers.get(architecture.encode() + CONTEXT_LENGTH_SUFFIX),
            chat_template_bytes=chat_template_bytes,
            tensor_count=tensor_count,
            projector=projector,
        )

    @staticmethod
    def kept(key: bytes, integers: dict[bytes, int]) -> bool:
        """Whether an integer is one the description needs. The context length's key names
        the architecture, which may come later, so a few candidates are kept."""
        if key in KEPT_INTEGERS:
            return True
        return key.endswith(CONTEXT_LENGTH_SUFFIX) and len(integers) < MAX_CONTEXT_KEYS

    def read_tensors(self, count: int, alignment: int) -> tuple[int, str | None]:
        """(parameters counted from the shapes, the most common number type of the weight
        matrices); refuses a file too short to hold the tensor data its entries describe."""
        if count * MIN_TENSOR_BYTES > self.size - self.pos:
            raise self.incomplete()
        parameters = 0
        data_bytes = 0
        matrix_types: Counter[str] = Counter()
        for _ in range(count):
            self.skip(self.u64())  # the tensor's name
            dims = self.u32()
            if dims > MAX_DIMS:
                raise self.damaged("a tensor has more dimensions than llama.cpp allows")
            shape = [self.u64() for _ in range(dims)]
            kind = self.u32()
            offset = self.u64()
            elements = 1
            for extent in shape:
                elements *= extent
            parameters += elements
            if offset % alignment:
                raise self.damaged("a tensor's data is not where the format puts it")
            number_type = NUMBER_TYPES.get(kind)
            if number_type is None:
                # Newer than this table: its size is unknown, so only its start is checked.
                data_bytes = max(data_bytes, offset)
                continue
            if shape and shape[0] % number_type.block:
                raise self.damaged("a tensor's shape does not fit its number type")
            tensor_bytes = elements // number_type.block * number_type.block_bytes
            data_bytes = max(data_bytes, offset + tensor_bytes)
            if dims >= 2:
                matrix_types[number_type.name] += 1
        data_start = -(-self.pos // alignment) * alignment
        if count and data_start + data_bytes > self.size:
            raise self.incomplete()
        guess = matrix_types.most_common(1)[0][0] if matrix_types else None
        return parameters, guess

    def unsupported(self, version: int) -> GgufError:
        if version and not version & 0xFFFF:
            return GgufError(
                f"“{self.file_name}” was made for big-endian computers and cannot run on this "
                "one. Download the usual (little-endian) file instead."
            )
        if version < min(SUPPORTED_VERSIONS):
            return GgufError(
                f"“{self.file_name}” is in GGUF version {version}, too old for llama.cpp. "
                "Download a newer copy of the model."
            )
        return GgufError(
            f"“{self.file_name}” is in GGUF version {version}, newer than this app can read. "
            "Update OpenChat to use it."
        )


def find_projector(path: Path) -> Path | None:
    """The vision projector (an `mmproj` GGUF file) that goes with the model at `path`.

    In a folder of its own a model owns the projector beside it; in a shared folder a
    projector belongs to the model whose name starts with the projector's name once "mmproj"
    and its number type are taken out ("mmproj-gemma-3-4b-it-f16" goes with
    "gemma-3-4b-it-Q4_K_M"), so a projector is never lent to an unrelated model.
    """
    if PROJECTOR_MARK in path.name.lower():
        return None
    projectors: list[Path] = []
    models = 0
    try:
        with os.scandir(path.parent) as entries:
            for index, entry in enumerate(entries):
                if index >= MAX_FOLDER_ENTRIES:
                    break
                if not entry.name.lower().endswith(".gguf"):
                    continue
                if PROJECTOR_MARK in entry.name.lower():
                    if entry.is_file():
                        projectors.append(Path(entry.path))
                else:
                    models += 1
    except OSError:
        return None
    projectors.sort()
    model_key = name_key(path.stem)
    for projector in projectors:
        key = name_key(PROJECTOR_SUFFIX.sub("", projector.stem.lower().replace(PROJECTOR_MARK, "")))
        if key and model_key.startswith(key):
            return projector
    return projectors[0] if projectors and models == 1 else None


def name_key(name: str) -> str:
    """A name compared without case or separators: "Qwen2.5-VL_7B" -> "qwen25vl7b"."""
    return NAME_SEPARATORS.sub("", name.lower())
