"""Local model management for Ollama providers: what is installed (and loaded), downloads that
run in the background, and deleting (also the built-in engine's model files). Downloads for
the built-in engine (provider `local`) come from Hugging Face (`local.downloads`) and are the
same kind of job.

A pull is a job (see `engine.job`): any number of clients follow its progress (the newest
state, never a backlog), closing a follower does not stop it, and `stop()` closes the upstream
request so Ollama stops downloading (it resumes from there next time). Ollama's errors are
turned into sentences that say what to do.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .chat.views import local_model_view, pull_view
from .engine import Job, Jobs
from .errors import InvalidRequest, NotOllama, ProviderNotFound, PullNotFound
from .providers.errors import ModelNotFound, ProviderError, ProviderUnavailable
from .providers.local import LocalProvider
from .providers.ollama import OllamaProvider
from .providers.router import Router

if TYPE_CHECKING:
    from .local.downloads import HubDownloads

log = logging.getLogger(__name__)

FINISHED_KEPT = 600.0  # seconds a finished pull stays listed (a panel opened later sees it)
MAX_NAME_CHARS = 300
MAX_HUB_NAME_CHARS = 1000  # a Hugging Face address with a folder and a long file name
LOCAL_PROVIDER_ID = "local"  # the built-in engine, whose models come from Hugging Face
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")


def explain_pull_error(exc: ProviderError, name: str, base_url: str) -> tuple[str, str]:
    """(code, sentence) for a failed pull, in plain words."""
    said = f"{exc.detail or ''} {exc.message}".lower()
    if isinstance(exc, ModelNotFound) or "file does not exist" in said:
        return "model_not_found", (
            f"Ollama has no model called “{name}”. Check the name at ollama.com/library."
        )
    if "no space left" in said or "not enough space" in said:
        return "disk_full", (
            f"There is not enough free disk space to download “{name}”. Free some space "
            "(deleting models you no longer use helps) and pull it again; Ollama keeps what it "
            "has downloaded so far."
        )
    if isinstance(exc, ProviderUnavailable):
        return "provider_unavailable", unreachable(base_url)
    return exc.code, f"Ollama could not download “{name}”: {exc.detail or exc.message}"


def unreachable(base_url: str) -> str:
    return (
        f"Ollama is not running at {base_url}. Start it — open the Ollama app, or run "
        "`ollama serve` in a terminal — then try again."
    )


class PullJob(Job, ABC):
    """One model download, whatever it downloads from. Its events: `start` (`{"pull"}`: the
    download as it is when a client starts following), `progress` (status, completed, total,
    and what a subclass adds), then `done` or `error` (a cancelled download ends in an `error`
    with code `cancelled`)."""

    def __init__(self, provider_id: str, name: str) -> None:
        super().__init__()
        self.id = uuid.uuid4().hex
        self.provider_id = provider_id
        self.name = name
        self.state = "running"  # running | done | error | cancelled
        self.status = "starting"
        self.completed: int | None = None
        self.total: int | None = None
        self.error: dict[str, str] | None = None
        self.log.append_state("start", self._start(), self._start)

    def view(self) -> dict[str, Any]:
        with self.log.lock:
            return pull_view(self)

    @abstractmethod
    def run(self) -> None:
        """Download, on the job's own thread; ends with `_end` whatever happens."""

    def _start(self) -> dict[str, Any]:
        return {"pull": self.view()}

    def _add_progress(self, **extra: object) -> None:
        self.log.add_state(
            "progress",
            {"status": self.status, "completed": self.completed, "total": self.total, **extra},
        )

    def _end(self, state: str, error: dict[str, str] | None) -> None:
        with self.log.lock:
            self.state = state
            self.error = error
            if state == "done":
                self.status = "success"
                if self.total:
                    self.completed = self.total
            self._add_progress()
            view = pull_view(self)
            if state == "done":
                self.log.add("done", {"pull": view})
            else:
                self.log.add("error", {**(error or {}), "pull": view})
            self.finish()


class Pull(PullJob):
    """A model download by Ollama, followed through its /api/pull stream."""

    def __init__(self, provider: OllamaProvider, name: str) -> None:
        self._provider = provider
        self._layers: dict[str, tuple[int, int]] = {}  # digest -> (completed, total)
        super().__init__(provider.config.id, name)

    def run(self) -> None:
        base_url = self._provider.config.base_url
        try:
            for line in self._provider.pull(self.name, self.cancel):
                self._progress(line)
        except ProviderError as exc:
            code, message = explain_pull_error(exc, self.name, base_url)
            self._end("error", {"code": code, "message": message})
            return
        except Exception as exc:  # a bug must still end the job with a sentence
            log.exception("pull of %s failed", self.name)
            self._end("error", {"code": "internal_error",
                                "message": f"The download of “{self.name}” failed ({exc!r})."})
            return
        if self.cancel.cancelled:
            self._end("cancelled", {
                "code": "cancelled",
                "message": f"The download of “{self.name}” was cancelled. Pull it again to "
                "continue where it stopped.",
            })
        else:
            self._end("done", None)

    def _progress(self, line: dict[str, object]) -> None:
        with self.log.lock:
            status = line.get("status")
            if isinstance(status, str):
                self.status = status
            digest = line.get("digest")
            total = line.get("total")
            if isinstance(digest, str) and isinstance(total, int):
                completed = line.get("completed")
                done = completed if isinstance(completed, int) else 0
                self._layers[digest] = (done, total)
                # One bar for the whole model: the layers seen so far, added up.
                self.completed = sum(c for c, _ in self._layers.values())
                self.total = sum(t for _, t in self._layers.values())
            if self.status != "starting":
                self._add_progress()
                self.log.lock.notify_all()


class LocalModels:
    """The Models panel's operations on Ollama providers, and downloads from Hugging Face for
    the built-in engine (provider `local`)."""

    def __init__(
        self,
        router: Callable[[], Router],
        on_change: Callable[[], None],
        hub: HubDownloads | None = None,
    ) -> None:
        self._router = router
        self._on_change = on_change  # model facts cached elsewhere are stale now
        self._hub = hub
        self._lock = threading.Lock()  # one download per model: look and add together
        self._pulls: Jobs[PullJob] = Jobs(keep=FINISHED_KEPT)

    def provider(self, provider_id: str) -> OllamaProvider:
        provider = self._router().providers.get(provider_id)
        if provider is None:
            raise ProviderNotFound(f"There is no provider “{provider_id}”.")
        if not isinstance(provider, OllamaProvider):
            raise NotOllama(
                f"“{provider_id}” is not an Ollama server: its models are managed where it "
                "runs, not from OpenChat."
            )
        return provider

    def installed(self, provider_id: str) -> list[dict[str, Any]]:
        """Installed models with size, parameters, quantization, capabilities, loaded or not."""
        provider = self.provider(provider_id)
        try:
            models = provider.list_models()
            running = {str(m.get("name") or m.get("model")): m for m in provider.running()}
        except ProviderUnavailable:
            raise ProviderUnavailable(unreachable(provider.config.base_url)) from None
        rows = [local_model_view(model, running.get(model.name)) for model in models]
        return sorted(rows, key=lambda row: row["name"].lower())

    def pull(self, provider_id: str, name: object) -> PullJob:
        """Start downloading `name`, or join the download of it already running."""
        if self._downloads_from_hub(provider_id):
            return self._pull_from_hub(provider_id, name)
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest("Give the model's name, for example “llama3.2:3b”.")
        name = name.strip()
        if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
            raise InvalidRequest(
                f"“{name[:80]}” is not a model name. Names look like “llama3.2:3b” or "
                "“hf.co/user/model:tag”."
            )
        provider = self.provider(provider_id)
        return self._start(provider_id, name, lambda: Pull(provider, name))

    def _downloads_from_hub(self, provider_id: str) -> bool:
        """The built-in engine's id names the hub downloads, unless settings gave that id to
        an Ollama server."""
        return (
            self._hub is not None
            and provider_id == LOCAL_PROVIDER_ID
            and not isinstance(self._router().providers.get(provider_id), OllamaProvider)
        )

    def _pull_from_hub(self, provider_id: str, name: object) -> PullJob:
        """A model file from Hugging Face into the models folder: `name` is a catalog id, a
        repository or file address, or "owner/repo[/file.gguf]"."""
        hub = self._hub
        assert hub is not None  # checked by _downloads_from_hub
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest(
                "Give a catalog model, for example “qwen3-1.7b”, or a Hugging Face address."
            )
        name = name.strip()
        if len(name) > MAX_HUB_NAME_CHARS:
            raise InvalidRequest("That address is too long to be a Hugging Face model.")
        hub.check(name)  # a name that cannot be a model is refused before any stream starts
        return self._start(provider_id, name, lambda: hub.download(provider_id, name))

    def _start(self, provider_id: str, name: str, make: Callable[[], PullJob]) -> PullJob:
        with self._lock:
            self._pulls.prune()
            for pull in self._pulls.all():
                if (pull.provider_id, pull.name, pull.state) == (provider_id, name, "running"):
                    return pull
            job = make()
            self._pulls.add(job.id, job)

        def run() -> None:
            job.run()
            if job.state == "done":
                self._on_change()

        threading.Thread(target=run, name=f"pull-{name}", daemon=True).start()
        return job

    def get(self, pull_id: str) -> PullJob:
        pull = self._pulls.get(pull_id)
        if pull is None:
            raise PullNotFound("There is no such download (it may have ended a while ago).")
        return pull

    def pulls(self) -> list[PullJob]:
        self._pulls.prune()
        return self._pulls.all()

    def cancel(self, pull_id: str, timeout: float = 5.0) -> PullJob:
        """Close the download's upstream request and wait (briefly) for it to end."""
        pull = self.get(pull_id)
        pull.stop()
        pull.wait_finished(timeout)
        return pull

    def delete(self, provider_id: str, name: str) -> None:
        """Delete a model: from Ollama, or a model file of the built-in engine."""
        local = self._router().providers.get(provider_id)
        if isinstance(local, LocalProvider):
            local.delete(name)
            self._on_change()
            return
        provider = self.provider(provider_id)
        try:
            provider.delete(name)
        except ModelNotFound:
            raise ModelNotFound(
                f"Ollama has no model called “{name}” to delete. Refresh the list."
            ) from None
        except ProviderUnavailable:
            raise ProviderUnavailable(unreachable(provider.config.base_url)) from None
        self._on_change()

    def shutdown(self) -> None:
        for pull in self.pulls():
            pull.stop()
