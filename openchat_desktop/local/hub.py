"""Hugging Face, as the model downloads use it: what a pasted name or address means, which
.gguf files a repository has (size and sha256), and the file's bytes from any offset.

Names a person may paste (`parse_reference`):

    https://huggingface.co/<owner>/<repo>                     the repository: a default file
    https://huggingface.co/<owner>/<repo>/tree/<revision>
    https://huggingface.co/<owner>/<repo>/blob/<revision>/<file>.gguf    the page of a file
    https://huggingface.co/<owner>/<repo>/resolve/<revision>/<file>.gguf the file itself
    <owner>/<repo>   or   <owner>/<repo>/<file>.gguf          the same, without the address

`hf.co` and the configured hub's own address (a mirror) count as Hugging Face too.

Sizes and sha256 come from the repository's tree listing (`/api/models/<repo>/tree/<rev>`):
each model file is stored with Git LFS, whose `lfs.oid` is the file's sha256 and `lfs.size`
its size. One listing answers for every file, so a repository pasted without a file needs no
second request to choose one (`default_file`).

The token, when there is one, goes only to the hub's own address: the file itself comes from
a CDN the hub redirects to, and redirects are followed here, one by one, so it never leaves.
It is registered with the redaction rules as soon as the client has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from .. import __version__
from ..outbound.adapter import guard
from ..outbound.gate import DOWNLOADS, Gate
from ..providers.redaction import remember_credentials
from .errors import HubNeedsToken, HubNotFound, HubUnreachable, NotAHubModel

DEFAULT_HUB_URL = "https://huggingface.co"
TOKEN_ENV = "HF_TOKEN"
HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0  # a CDN may pause, but a minute of silence is a broken download
MAX_REDIRECTS = 10
MAX_LISTING_PAGES = 50

_REPO_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])(I?Q(\d)(?:_[A-Za-z0-9]+)*|BF16|F16|F32)(?![A-Za-z0-9])", re.IGNORECASE
)
_SPLIT_PART = re.compile(r"-\d{5}-of-\d{5}\.gguf$", re.IGNORECASE)
PREFERRED_QUANT = "Q4_K_M"


@dataclass(frozen=True)
class HubRef:
    """A repository, and one file in it when the name gave one."""

    repo: str
    file: str | None = None
    revision: str = "main"


@dataclass(frozen=True)
class HubFile:
    repo: str
    revision: str
    path: str  # inside the repository; may be in a folder
    size: int
    sha256: str

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def quantization(self) -> str | None:
        return quantization(self.file_name)


def parse_reference(text: str, hub_url: str = DEFAULT_HUB_URL) -> HubRef:
    """What a pasted name or address points at; NotAHubModel when it is neither."""
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        hub_host = urlsplit(hub_url).netloc.lower()
        if (parts.hostname or "").lower() not in HUB_HOSTS and parts.netloc.lower() != hub_host:
            raise NotAHubModel(
                f"“{_short(text)}” is not a Hugging Face address. Paste a link to a model on "
                "huggingface.co, or a name like “owner/repository”."
            )
        segments = [unquote(s) for s in parts.path.split("/") if s]
        is_url = True
    else:
        for prefix in ("hf.co/", "huggingface.co/"):
            if text.lower().startswith(prefix):
                text = text[len(prefix):]
        segments = [s for s in text.split("/") if s]
        is_url = False
    if len(segments) < 2 or not all(_REPO_PART.fullmatch(s) for s in segments[:2]):
        raise NotAHubModel(
            f"“{_short(text)}” is not a Hugging Face model. Use a catalog model, a link to a "
            "model on huggingface.co, or a name like “owner/repository”."
        )
    repo = "/".join(segments[:2])
    rest = segments[2:]
    revision = "main"
    file: str | None = None
    if rest and rest[0] in ("blob", "resolve") and len(rest) >= 3:
        revision, file = rest[1], "/".join(rest[2:])
    elif rest and rest[0] == "tree" and len(rest) >= 2:
        revision = rest[1]
    elif rest and not is_url:
        file = "/".join(rest)
    elif rest:
        raise NotAHubModel(
            f"“{_short(text)}” is not the address of a model or of a model file. Open the "
            "model's page on huggingface.co and copy its address."
        )
    if not _REVISION.fullmatch(revision):
        raise NotAHubModel(f"“{_short(revision)}” is not a branch or version of {repo}.")
    if file is not None:
        if ".." in file.split("/"):
            raise NotAHubModel(f"“{_short(file)}” is not a file name.")
        if not file.lower().endswith(".gguf"):
            raise NotAHubModel(
                f"“{_short(file)}” is not a model file: OpenChat runs .gguf files. Paste the "
                "repository's address to choose one of its .gguf files."
            )
    return HubRef(repo, file, revision)


def quantization(file_name: str) -> str | None:
    """The quantization a file's name gives, like "Q4_K_M", "IQ4_XS" or "F16"."""
    stem = file_name[:-5] if file_name.lower().endswith(".gguf") else file_name
    found = _QUANT.findall(stem)
    return found[-1][0].upper() if found else None


def quant_bits(name: str | None) -> int | None:
    if not name:
        return None
    if name in ("BF16", "F16"):
        return 16
    if name == "F32":
        return 32
    digits = re.search(r"\d+", name)
    return int(digits.group()) if digits else None


def is_model_file(file: HubFile) -> bool:
    """A whole model: not a vision projector (mmproj) and not one part of a split model."""
    name = file.file_name.lower()
    return "mmproj" not in name and not _SPLIT_PART.search(name)


def default_file(files: list[HubFile]) -> HubFile | None:
    """The file to download when a repository is named without one: Q4_K_M, the usual best
    trade of size and quality; else the smallest of 4 bits or more (3 bits and less lose too
    much); else the largest of what is left."""
    models = [f for f in files if is_model_file(f)]
    preferred = [f for f in models if f.quantization == PREFERRED_QUANT]
    if preferred:
        return min(preferred, key=lambda f: f.size)
    good = [f for f in models if (quant_bits(f.quantization) or 16) >= 4]
    if good:
        return min(good, key=lambda f: f.size)
    return max(models, key=lambda f: f.size, default=None)


class Hub:
    """One hub's API and files. `token` opens gated and private repositories."""

    def __init__(
        self, base_url: str = DEFAULT_HUB_URL, token: str | None = None, gate: Gate | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._token = (token or "").strip() or None
        if self._token:
            remember_credentials(self._token, ())
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"OpenChat/{__version__}"
        if gate is not None:
            guard(self.session, gate, DOWNLOADS)

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def close(self) -> None:
        self.session.close()

    def files(self, repo: str, revision: str = "main") -> list[HubFile]:
        """Every .gguf file of the repository with its size and sha256, in all its folders."""
        url: str | None = (
            f"{self.base_url}/api/models/{repo}/tree/{quote(revision, safe='')}?recursive=true"
        )
        found: list[HubFile] = []
        for _ in range(MAX_LISTING_PAGES):
            if url is None:
                break
            response = self.get(url, repo=repo)
            try:
                entries = response.json()
            except ValueError:
                raise HubUnreachable(
                    f"{self.base_url} did not answer like Hugging Face: its file list of "
                    f"{repo} could not be read. Check the hub address in settings."
                ) from None
            finally:
                response.close()
            found.extend(_gguf_files(repo, revision, entries))
            url = response.links.get("next", {}).get("url")
        return found

    def resolve(self, ref: HubRef) -> HubFile:
        """The file `ref` names, or the repository's default .gguf file."""
        files = self.files(ref.repo, ref.revision)
        if ref.file is not None:
            for file in files:
                if file.path == ref.file:
                    return file
            raise HubNotFound(
                f"{ref.repo} has no model file “{ref.file}”. Check the name on the model's "
                "page on Hugging Face."
            )
        chosen = default_file(files)
        if chosen is None:
            raise HubNotFound(
                f"{ref.repo} has no .gguf model file OpenChat can run. Look for a repository "
                "whose name ends in “GGUF”."
            )
        return chosen

    def file_url(self, file: HubFile) -> str:
        return (
            f"{self.base_url}/{file.repo}/resolve/{quote(file.revision, safe='')}/"
            f"{quote(file.path)}"
        )

    def open(self, file: HubFile, start: int = 0) -> requests.Response:
        """The file's bytes from `start` on, unread (206 when the range was honoured)."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        return self.get(self.file_url(file), repo=file.repo, headers=headers, file=file.path)

    def get(
        self,
        url: str,
        *,
        repo: str,
        headers: dict[str, str] | None = None,
        file: str | None = None,
    ) -> requests.Response:
        """A successful answer to a GET, redirects followed here so that the token is sent
        to the hub's own address only; failures as sentences."""
        for _ in range(MAX_REDIRECTS):
            sent = dict(headers or {})
            if self._token and _origin(url) == self._origin:
                sent["Authorization"] = f"Bearer {self._token}"
            try:
                response = self.session.get(
                    url, headers=sent, stream=True, allow_redirects=False,
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                )
            except requests.RequestException:
                raise HubUnreachable(
                    f"Could not reach Hugging Face at {self.base_url}. Check that this "
                    "computer is online (and the hub address in settings), then try again."
                ) from None
            if response.is_redirect and "Location" in response.headers:
                url = urljoin(url, response.headers["Location"])
                response.close()
                continue
            if response.status_code < 400:
                return response
            response.close()
            raise self._failure(response, repo, file)
        raise HubUnreachable(f"{self.base_url} sent the download round in circles. Try again.")

    def _failure(
        self, response: requests.Response, repo: str, file: str | None
    ) -> HubNotFound | HubNeedsToken | HubUnreachable:
        status = response.status_code
        code = response.headers.get("X-Error-Code", "")
        if code == "GatedRepo" or (status in (401, 403) and code != "RepoNotFound"):
            if self._token:
                return HubNeedsToken(
                    f"Hugging Face refused access to {repo} with your token. Open "
                    f"{self.base_url}/{repo} with the same account, accept the model's "
                    "licence, check the token can read it, then download it again."
                )
            return HubNeedsToken(
                f"{repo} is a gated model: Hugging Face lets only signed-in people who "
                f"accepted its licence download it. Accept it at {self.base_url}/{repo}, "
                f"then give OpenChat a Hugging Face access token ({TOKEN_ENV}) and download "
                "it again — or choose a model from the catalog, which needs no account."
            )
        if status in (401, 404) or code in ("RepoNotFound", "RevisionNotFound", "EntryNotFound"):
            if file is not None and code == "EntryNotFound":
                return HubNotFound(f"{repo} has no file “{file}” any more. Try again later.")
            return HubNotFound(
                f"Hugging Face has no model “{repo}”. Check the name (it looks like "
                "“owner/repository”); a private repository also needs a token."
            )
        if status == 429:
            return HubUnreachable(
                "Hugging Face is limiting downloads from this computer right now. Wait a few "
                "minutes and try again."
            )
        return HubUnreachable(
            f"Hugging Face could not send {repo} right now (it answered {status}). Try again "
            "in a while."
        )


def _gguf_files(repo: str, revision: str, entries: object) -> list[HubFile]:
    """The .gguf entries of one listing page. A file not stored with LFS has no sha256 to
    check against, so it is left out (real model files always are)."""
    if not isinstance(entries, list):
        return []
    files = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "file":
            continue
        path, lfs = entry.get("path"), entry.get("lfs")
        if not isinstance(path, str) or not path.lower().endswith(".gguf"):
            continue
        if not isinstance(lfs, dict):
            continue
        oid, size = lfs.get("oid"), lfs.get("size", entry.get("size"))
        if isinstance(oid, str) and re.fullmatch(r"[0-9a-f]{64}", oid) and isinstance(size, int):
            files.append(HubFile(repo, revision, path, size, oid))
    return files


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"
