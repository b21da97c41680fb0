"""The engine manager: one engine child at a time, started on first use of a model, checked
through its health endpoint, unloaded after an idle time, restarted after a crash and stopped
with the app.

Replies take the engine with `use()`: while any reply holds it, it is never unloaded for
idleness. Asking for another model restarts the child with that one; a reply still streaming
from the old one ends with a sentence that says so.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import requests

from ..paths import models_dir
from ..providers.base import Cancel
from ..settings.values import LocalEngine
from . import child as engine_child
from .errors import EngineFailed
from .models import ModelFile, describe

log = logging.getLogger(__name__)

LOAD_TIMEOUT = 300.0  # seconds: a large model on a slow disk; beyond that something is wrong
HEALTH_TIMEOUT = 10.0  # seconds for the health check once the child says it listens
STOP_TIMEOUT = 5.0
EXIT_WAIT = 2.0  # seconds a broken reply waits to learn whether the child is gone
DEFAULT_BATCH = 512
SMALL_CONTEXT = 2048
LARGE_CONTEXT = 4096
LARGE_MEMORY = 8 * 1024**3  # bytes of RAM from which the larger default context fits

CLOSING = "OpenChat is closing; the built-in engine is stopped."

# Why a child ended, as `Endpoint.ended` reports it.
CRASHED = "crashed"
REPLACED = "replaced"
UNLOADED = "unloaded"
SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The engine's settings in effect: the ones left unset filled from the machine."""

    models_dir: Path
    threads: int
    context_size: int
    batch_size: int
    gpu_layers: int | None  # None: all layers on the GPU when the build has one
    idle_unload: float


def machine_memory() -> int | None:
    """The machine's RAM in bytes, or None where it cannot be told."""
    if sys.platform == "win32":
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [
                ("length", ctypes.c_ulong),
                ("load", ctypes.c_ulong),
                ("total", ctypes.c_ulonglong),
                ("rest", ctypes.c_ulonglong * 6),
            ]

        status = MemoryStatus()
        status.length = ctypes.sizeof(status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.total)
        return None
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def machine_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def effective_settings(local: LocalEngine, data_dir: Path) -> EngineSettings:
    """The settings with the machine's defaults: threads leave the app a core (DESIGN §11);
    the context grows with the RAM."""
    memory = machine_memory()
    context = LARGE_CONTEXT if memory is None or memory >= LARGE_MEMORY else SMALL_CONTEXT
    folder = Path(local.models_dir).expanduser() if local.models_dir else models_dir(data_dir)
    return EngineSettings(
        models_dir=folder,
        threads=local.threads or max(1, machine_cores() - 1),
        context_size=local.context_size or context,
        batch_size=local.batch_size or DEFAULT_BATCH,
        gpu_layers=local.gpu_layers,
        idle_unload=local.idle_unload,
    )


def model_context(settings: EngineSettings, trained: int | None) -> int:
    """The window the engine gives a model: its setting, at most what the model was trained
    for."""
    return min(settings.context_size, trained) if trained else settings.context_size


class Endpoint:
    """A running child as a reply uses it: where it listens and with which key."""

    def __init__(self, model: ModelFile, process: subprocess.Popen[bytes], url: str, key: str):
        self.model = model
        self.process = process
        self.base_url = url.rstrip("/") + "/v1"
        self.api_key = key
        self.ended: str | None = None  # why the child was stopped; CRASHED once found dead

    @property
    def alive(self) -> bool:
        return self.ended is None and self.process.poll() is None

    def exit_reason(self, wait: float) -> str | None:
        """Why the child is gone (waiting up to `wait` seconds for it to go), or None."""
        if self.ended is None:
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                return None
            self.ended = CRASHED
        return self.ended


@dataclass(frozen=True, slots=True)
class Loading:
    """A model being loaded (or waiting its turn to be): replies wait on `done`, which a
    closing app cancels."""

    model: ModelFile
    since: float  # wall-clock time, for the page
    done: Future[Endpoint]


class EngineManager:
    def __init__(
        self,
        settings: Callable[[], EngineSettings],
        *,
        log_path: Path | None = None,
    ) -> None:
        self._settings = settings
        self._log_path = log_path
        self._cond = threading.Condition()
        self._endpoint: Endpoint | None = None
        self._loading: Loading | None = None
        self._starting: subprocess.Popen[bytes] | None = None  # a child still loading
        self._users = 0
        self._last_used = time.monotonic()
        self._closed = False
        # Linux kills the child when the *thread* that started it ends (PR_SET_PDEATHSIG), and
        # request threads come and go: every child starts from this one long-lived thread.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-engine")
        threading.Thread(target=self._unload_when_idle, name="local-engine-idle",
                         daemon=True).start()

    @property
    def settings(self) -> EngineSettings:
        return self._settings()

    @contextmanager
    def use(self, model: ModelFile, cancel: Cancel | None = None) -> Iterator[Endpoint | None]:
        """The engine serving `model`, started (or switched to it) if need be, kept loaded
        until the block ends. None if `cancel` fired while the model loaded: the load goes on,
        so the next message finds it ready."""
        endpoint = self._acquire(model, cancel)
        if endpoint is None:
            yield None
            return
        try:
            yield endpoint
        finally:
            with self._cond:
                self._users -= 1
                self._last_used = time.monotonic()
                self._cond.notify_all()

    def _acquire(self, model: ModelFile, cancel: Cancel | None) -> Endpoint | None:
        while True:
            with self._cond:
                if self._closed:
                    raise EngineFailed(CLOSING)
                endpoint = self._endpoint
                if endpoint is not None and endpoint.alive and endpoint.model == model:
                    self._users += 1
                    return endpoint
                loading = self._loading
                if loading is None or loading.model != model:
                    loading = Loading(model, time.time(), self._spawner.submit(self._switch, model))
                    self._loading = loading
                    loading.done.add_done_callback(partial(self._loaded, loading))
            if not _wait(loading.done, cancel):
                return None
            if loading.done.cancelled():
                raise EngineFailed(CLOSING)
            loading.done.result()  # a failed load raises its sentence
            # Loaded: take it (or, if another model was asked for meanwhile, load again).

    def _switch(self, model: ModelFile) -> Endpoint:
        """Run on the spawner thread, one at a time: stop the child serving another model,
        start one for `model`, and make it the engine."""
        with self._cond:
            endpoint = self._endpoint
            if endpoint is not None and endpoint.alive and endpoint.model == model:
                return endpoint
            self._endpoint = None
        if endpoint is not None:
            self._stop(endpoint, REPLACED if endpoint.alive else CRASHED)
        try:
            endpoint = self._start(model)
        except EngineFailed:
            if self._closed:  # the load was ended by the app closing
                raise EngineFailed(CLOSING) from None
            raise
        with self._cond:
            if self._closed:
                self._stop(endpoint, SHUTDOWN)
                raise EngineFailed(CLOSING)
            self._endpoint = endpoint
            self._last_used = time.monotonic()  # unused, it unloads after the idle time
            self._cond.notify_all()
        return endpoint

    def _loaded(self, loading: Loading, _: Future[Endpoint]) -> None:
        with self._cond:
            if self._loading is loading:
                self._loading = None

    def _start(self, model: ModelFile) -> Endpoint:
        settings = self._settings()
        described = describe(model)
        context = model_context(settings, described.context_length)
        key = secrets.token_urlsafe(32)
        config = {
            "parent": os.getpid(),
            "model": str(model.path),
            "api_key": key,
            "threads": settings.threads,
            "context_size": context,
            "batch_size": settings.batch_size,
            "gpu_layers": settings.gpu_layers,
        }
        log.info("starting the built-in engine with %s", model.name)
        stderr = self._log_file()
        try:
            process = subprocess.Popen(
                engine_child.command(),
                env=engine_child.environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                close_fds=True,
            )
        finally:
            if not isinstance(stderr, int):
                stderr.close()  # the child has its own copy
        assert process.stdin is not None and process.stdout is not None
        with self._cond:
            self._starting = process
            closing = self._closed  # shut down while this start waited its turn
        try:
            if closing:
                raise EngineFailed(CLOSING)
            try:
                process.stdin.write(json.dumps(config).encode() + b"\n")
                process.stdin.flush()
            except OSError:
                pass  # the child is gone already: the missing ready line says so
            ready = _ready_line(process, process.stdout)
            if "url" not in ready:
                raise EngineFailed(_load_failure(model, ready.get("error")))
            endpoint = Endpoint(model, process, str(ready["url"]), key)
            _check_health(endpoint)
        except BaseException:
            _kill(process)
            raise
        finally:
            with self._cond:
                self._starting = None
        log.info("the built-in engine serves %s at %s", model.name, endpoint.base_url)
        return endpoint

    def _log_file(self) -> IO[bytes] | int:
        """The child's own log (llama.cpp's messages), kept for the last start only."""
        if self._log_path is None:
            return subprocess.DEVNULL
        try:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            return self._log_path.open("wb")
        except OSError:
            return subprocess.DEVNULL

    def stop_model(self, model: ModelFile) -> None:
        """Stop the engine if it serves `model` (before its file is deleted). Runs in turn with
        the loads, so a load in progress ends first."""
        with self._cond:
            if self._closed:
                return
            stopping = self._spawner.submit(self._stop_serving, model)
        stopping.result()

    def _stop_serving(self, model: ModelFile) -> None:
        with self._cond:
            endpoint = self._endpoint
            if endpoint is None or endpoint.model.path != model.path:
                return
            self._endpoint = None
        self._stop(endpoint, UNLOADED)

    def state(self) -> dict[str, Any]:
        """What the page shows: `loading` (which model, since when), `loaded` (which model, and
        the child's process id for whoever looks at the system's process list) or `idle`."""
        with self._cond:
            loading, endpoint = self._loading, self._endpoint
            if loading is not None:
                return {"state": "loading", "model": loading.model.name, "since": loading.since,
                        "pid": None}
            if endpoint is not None and endpoint.alive:
                return {"state": "loaded", "model": endpoint.model.name, "since": None,
                        "pid": endpoint.process.pid}
            return {"state": "idle", "model": None, "since": None, "pid": None}

    def shutdown(self) -> None:
        """Stop the child; later uses are refused. Safe to call twice."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            endpoint, self._endpoint = self._endpoint, None
            starting = self._starting
            self._cond.notify_all()
        if starting is not None:
            starting.kill()  # the load in progress then ends at once, refused
        if endpoint is not None:
            self._stop(endpoint, SHUTDOWN)
        self._spawner.shutdown(wait=False, cancel_futures=True)  # waiters then hear CLOSING

    def _stop(self, endpoint: Endpoint, reason: str) -> None:
        if endpoint.ended is None:
            endpoint.ended = reason
        log.info("stopping the built-in engine (%s, %s)", endpoint.model.name, reason)
        _kill(endpoint.process)

    def _unload_when_idle(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                endpoint = self._endpoint
                if endpoint is None or self._users:
                    self._cond.wait()
                    continue
                idle = self._settings().idle_unload
                remaining = self._last_used + idle - time.monotonic()
                if remaining > 0:
                    # A changed idle setting applies within a minute.
                    self._cond.wait(min(remaining, 60.0))
                    continue
                self._endpoint = None
            self._stop(endpoint, UNLOADED)


def _wait(done: Future[Endpoint], cancel: Cancel | None) -> bool:
    """Wait for a load; False if `cancel` fired first."""
    if cancel is None:
        wait([done])
        return True
    woken = threading.Event()
    forget = cancel.on_cancel(woken.set)
    done.add_done_callback(lambda _: woken.set())
    try:
        woken.wait()
    finally:
        forget()
    return done.done()


def _ready_line(process: subprocess.Popen[bytes], stdout: IO[bytes]) -> dict[str, Any]:
    """The child's ready line; a child that says nothing within LOAD_TIMEOUT is killed."""
    timed_out = threading.Event()

    def give_up() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(LOAD_TIMEOUT, give_up)
    timer.start()
    try:
        for line in stdout:
            try:
                value = json.loads(line)
            except ValueError:
                continue  # a library writing to stdout: not ours
            if isinstance(value, dict):
                return value
    finally:
        timer.cancel()
    if timed_out.is_set():
        raise EngineFailed(
            f"The built-in engine took more than {LOAD_TIMEOUT / 60:.0f} minutes to load the "
            "model and was stopped. A smaller model loads faster."
        )
    return {"error": f"it stopped with code {process.wait()}"}


def _check_health(endpoint: Endpoint) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    with requests.Session() as session:
        session.trust_env = False  # no proxy may see traffic meant for this machine
        while True:
            try:
                if session.get(endpoint.base_url[:-3] + "/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or endpoint.process.poll() is not None:
                raise EngineFailed(
                    f"The built-in engine loaded “{endpoint.model.name}” but does not answer. "
                    "Send again to restart it."
                )
            time.sleep(0.05)


def _load_failure(model: ModelFile, said: object) -> str:
    why = f" ({said})" if isinstance(said, str) and said else ""
    return (
        f"The built-in engine could not load “{model.name}”{why}. The file may be damaged or "
        "need more memory than is free; try another model."
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    """The child holds nothing worth saving: end it at once and reap it."""
    if process.poll() is None:
        process.kill()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        log.warning("the built-in engine (pid %d) did not stop", process.pid)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
