"""GGUF files written byte by byte, for tests of the reader and of model listings."""

from __future__ import annotations

import struct
from typing import Any

# Value kinds of the format.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR_FORMATS = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f",
                  BOOL: "?", U64: "Q", I64: "q", F64: "d"}
# Tensor number types used here: number -> (values per block, bytes per block).
T_F32, T_Q4_0, T_Q8_0 = 0, 2, 8
BLOCKS = {T_F32: (1, 4), T_Q4_0: (32, 18), T_Q8_0: (32, 34)}
HUGE = 2**60


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return u64(len(raw)) + raw


def encode(kind: int, value: Any) -> bytes:
    """A value without its kind: a scalar, a string, or (item kind, items) for an array."""
    if kind == STRING:
        return text(value)
    if kind == ARRAY:
        item_kind, items = value
        return u32(item_kind) + u64(len(items)) + b"".join(encode(item_kind, i) for i in items)
    return struct.pack("<" + SCALAR_FORMATS[kind], value)


def kv(key: str, kind: int, value: Any) -> bytes:
    return text(key) + u32(kind) + encode(kind, value)


def gguf_file(
    metadata: list[tuple[str, int, Any]],
    tensors: list[tuple[str, list[int], int]] = (),  # type: ignore[assignment]
    *,
    version: int = 3,
    alignment: int = 32,
) -> bytes:
    """A whole GGUF file: header, tensor entries, padding, and zeroed tensor data."""
    entries = b""
    offset = 0
    sizes = []
    for name, shape, number_type in tensors:
        block, block_bytes = BLOCKS[number_type]
        elements = 1
        for extent in shape:
            elements *= extent
        size = elements // block * block_bytes
        entries += text(name) + u32(len(shape)) + b"".join(u64(d) for d in shape)
        entries += u32(number_type) + u64(offset)
        sizes.append(size)
        offset += -(-size // alignment) * alignment
    header = (b"GGUF" + u32(version) + u64(len(tensors)) + u64(len(metadata))
              + b"".join(kv(*item) for item in metadata) + entries)
    padding = b"\0" * (-len(header) % alignment)
    return header + padding + b"\0" * offset


MODEL_METADATA = [
    ("general.architecture", STRING, "qwen3"),
    ("general.name", STRING, "Tiny Qwen"),
    ("qwen3.context_length", U32, 40960),
    ("general.file_type", U32, 15),
    ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "héllo"])),
    ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 0.5, 1.0])),
    ("tokenizer.chat_template", STRING, "{% for m in messages %}{{ m.content }}{% endfor %}"),
]
MODEL_TENSORS = [
    ("token_embd.weight", [64, 3], T_Q8_0),
    ("blk.0.attn_q.weight", [64, 64], T_Q4_0),
    ("output_norm.weight", [64], T_F32),
]
