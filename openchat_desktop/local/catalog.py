"""The short list of good small instruct models the app offers to download, and which one
suits this machine.

Each entry names one file of one Hugging Face repository: a 4-bit K-quant (Q4_K_M) where the
repository has one, the best size-for-quality trade on a CPU. Gated repositories (Meta's and
Google's own) are avoided: the entries point at public mirrors that carry the same weights,
so no account is needed; `gated` says when an entry would need a token anyway. Sizes are the
files' sizes rounded, for the page; the exact size and sha256 come from the hub at download
time. `ram` is what the model needs while it answers (the file, the context and the engine),
not the machine's total.

The entries are ordered best first: `recommended` walks them and takes the first that fits
comfortably, so a bigger machine gets a better model and a small one still gets one.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

GB = 1_000_000_000
# Share of the machine's memory a recommended model may use: the system, the window and the
# browser-like page need the rest, and a model that pushes the machine into swap is unusable.
COMFORTABLE_SHARE = 0.5


@dataclass(frozen=True)
class CatalogEntry:
    id: str  # what the pull API takes: {"name": "<id>"}
    name: str  # as a person reads it
    repo: str  # "owner/name" on the hub
    file: str  # the .gguf file in that repository
    size: int  # bytes, approximate
    ram: int  # bytes needed to run it, approximate
    parameters: str
    license: str
    gated: bool
    good_at: str


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "qwen3-4b", "Qwen3 4B", "Qwen/Qwen3-4B-GGUF", "Qwen3-4B-Q4_K_M.gguf",
        2_497_000_000, 3_600_000_000, "4B", "Apache-2.0", False,
        "The strongest here: reasoning, code and many languages; thinks before answering.",
    ),
    CatalogEntry(
        "gemma-3-4b", "Gemma 3 4B", "unsloth/gemma-3-4b-it-GGUF", "gemma-3-4b-it-Q4_K_M.gguf",
        2_490_000_000, 3_600_000_000, "4B", "Gemma Terms of Use", False,
        "Natural writing and summaries in many languages.",
    ),
    CatalogEntry(
        "llama-3.2-3b", "Llama 3.2 3B Instruct", "bartowski/Llama-3.2-3B-Instruct-GGUF",
        "Llama-3.2-3B-Instruct-Q4_K_M.gguf", 2_020_000_000, 3_000_000_000, "3B",
        "Llama 3.2 Community License", False,
        "Follows instructions well: rewriting, summaries, everyday questions.",
    ),
    CatalogEntry(
        "qwen3-1.7b", "Qwen3 1.7B", "unsloth/Qwen3-1.7B-GGUF", "Qwen3-1.7B-Q4_K_M.gguf",
        1_107_000_000, 1_900_000_000, "1.7B", "Apache-2.0", False,
        "Good all-rounder for modest machines; can think step by step.",
    ),
    CatalogEntry(
        "smollm2-1.7b", "SmolLM2 1.7B Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct-GGUF",
        "smollm2-1.7b-instruct-q4_k_m.gguf", 1_056_000_000, 1_800_000_000, "1.7B",
        "Apache-2.0", False,
        "Quick, light English chat and short writing tasks.",
    ),
    CatalogEntry(
        "llama-3.2-1b", "Llama 3.2 1B Instruct", "bartowski/Llama-3.2-1B-Instruct-GGUF",
        "Llama-3.2-1B-Instruct-Q4_K_M.gguf", 808_000_000, 1_400_000_000, "1B",
        "Llama 3.2 Community License", False,
        "Fast answers and simple tasks on small machines.",
    ),
    CatalogEntry(
        "gemma-3-1b", "Gemma 3 1B", "unsloth/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf",
        806_000_000, 1_400_000_000, "1B", "Gemma Terms of Use", False,
        "Small and fluent: short replies and simple questions.",
    ),
    CatalogEntry(
        "qwen3-0.6b", "Qwen3 0.6B", "Qwen/Qwen3-0.6B-GGUF", "Qwen3-0.6B-Q8_0.gguf",
        639_000_000, 1_000_000_000, "0.6B", "Apache-2.0", False,
        "The smallest real assistant: runs almost anywhere, answers simply.",
    ),
)


def find(entry_id: str) -> CatalogEntry | None:
    return next((entry for entry in CATALOG if entry.id == entry_id.lower()), None)


def recommended(total_ram_bytes: int | None) -> CatalogEntry | None:
    """The best entry that fits comfortably in a machine with this much memory; None when
    none does (or the memory is unknown): the starter model is all such a machine gets."""
    if not total_ram_bytes:
        return None
    budget = total_ram_bytes * COMFORTABLE_SHARE
    return next((entry for entry in CATALOG if entry.ram <= budget), None)


def machine_ram() -> int | None:
    """This machine's physical memory in bytes, or None when the system does not say."""
    if sys.platform == "win32":
        return _windows_ram()
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


class _MemoryStatus(ctypes.Structure):
    _fields_ = [  # noqa: RUF012 - the layout ctypes reads, not a mutable default
        ("dwLength", ctypes.c_ulong),
        ("dwMemoryLoad", ctypes.c_ulong),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def _windows_ram() -> int | None:
    if sys.platform != "win32":
        return None
    status = _MemoryStatus()
    status.dwLength = ctypes.sizeof(_MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.ullTotalPhys)
