"""Why a model download from Hugging Face failed, each in words a person can act on.

    AppError (openchat_desktop.errors)
    ├── InvalidRequest (openchat_desktop.errors)
    │   └── NotAHubModel     422 not_a_hub_model: the name is neither a catalog entry nor a
    │                        Hugging Face repository or .gguf file
    ├── Conflict (openchat_desktop.errors)
    │   └── ModelFileTaken   409 model_file_taken: another file already has the model's name
    └── DownloadFailed       502 download_failed: the download broke off (the part is kept)
        ├── HubUnreachable   502 hub_unreachable: offline, or the hub did not answer
        ├── HubNotFound      404 hub_not_found: no such repository, revision or file
        ├── HubNeedsToken    403 hub_needs_token: a gated or private repository
        ├── DiskFull         507 disk_full: not enough free space, before or during
        ├── ChecksumMismatch 502 checksum_mismatch: the file is not what the hub announced
        └── DownloadCancelled 409 cancelled: the person cancelled (the part is kept)

Each one ends a download's event stream as `error` `{"code", "message"}`; the sentences are
redacted (a hub's words may quote the request), and never carry a token.
"""

from __future__ import annotations

from ..errors import AppError, Conflict, InvalidRequest
from ..providers.redaction import redact


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
