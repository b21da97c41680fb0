"""Failures of the built-in engine and of its models, each a sentence a person can act on.

    AppError (openchat_desktop.errors)
    ├── ProviderError (providers.errors)
    │   └── EngineFailed     502 engine_failed: the engine could not load a model, or stopped
    ├── InvalidRequest (openchat_desktop.errors)
    │   ├── GgufError        422 invalid_model_file: not a whole, sound GGUF file
    │   └── NotAHubModel     422 not_a_hub_model: the name is neither a catalog entry nor a
    │                        Hugging Face repository or .gguf file
    ├── Conflict (openchat_desktop.errors)
    │   ├── BundledModel     409 bundled_model: a model that came with the app cannot be deleted
    │   └── ModelFileTaken   409 model_file_taken: another file already has the model's name
    └── DownloadFailed       502 download_failed: the download broke off (the part is kept)
        ├── HubUnreachable   502 hub_unreachable: offline, or the hub did not answer
        ├── HubNotFound      404 hub_not_found: no such repository, revision or file
        ├── HubNeedsToken    403 hub_needs_token: a gated or private repository
        ├── DiskFull         507 disk_full: not enough free space, before or during
        ├── ChecksumMismatch 502 checksum_mismatch: the file is not what the hub announced
        └── DownloadCancelled 409 cancelled: the person cancelled (the part is kept)

A download's errors end its event stream as `error` `{"code", "message"}`; their sentences are
redacted (a hub's words may quote the request), and never carry a token.
"""

from __future__ import annotations

from ..errors import AppError, Conflict, InvalidRequest
from ..providers.errors import ProviderError
from ..providers.redaction import redact


class EngineFailed(ProviderError):
    code = "engine_failed"


class GgufError(InvalidRequest):
    code = "invalid_model_file"


class BundledModel(Conflict):
    code = "bundled_model"


class NotAHubModel(InvalidRequest):
    code = "not_a_hub_model"


class ModelFileTaken(Conflict):
    code = "model_file_taken"


class DownloadFailed(AppError):
    code = "download_failed"
    status = 502

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class HubUnreachable(DownloadFailed):
    code = "hub_unreachable"


class HubNotFound(DownloadFailed):
    code = "hub_not_found"
    status = 404


class HubNeedsToken(DownloadFailed):
    code = "hub_needs_token"
    status = 403


class DiskFull(DownloadFailed):
    code = "disk_full"
    status = 507


class ChecksumMismatch(DownloadFailed):
    code = "checksum_mismatch"


class DownloadCancelled(DownloadFailed):
    code = "cancelled"
    status = 409
