"""The engine child: llama.cpp's server (xllamacpp) for one model, on 127.0.0.1, behind a key.

The parent starts `python -m openchat_desktop.local.child` (the frozen app: its executable
with `CHILD_FLAG`), writes one JSON line of settings on the child's stdin and keeps that pipe
open. The child loads the model, writes one JSON line on stdout, `{"url": …}` or
`{"error": …}`, and then serves until its stdin ends: the parent closed it, or the parent is
gone, since the system closes a dead process's pipes, even after SIGKILL. On Linux the kernel
also kills the child when its parent dies (PR_SET_PDEATHSIG), in case the pipe is held open
elsewhere.

This module imports nothing of the app: the child's start is the model's load, nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

CHILD_FLAG = "--local-engine-child"
"""The argument that makes the frozen app's executable run as the engine child."""

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def command() -> list[str]:
    """How the app starts a child: itself when frozen, else this module with this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG]
    return [sys.executable, "-m", "openchat_desktop.local.child"]


def environment() -> dict[str, str]:
    """The child's environment: the app's, with the package's folder first on the import path
    so the child runs the very code of the app that starts it."""
    env = dict(os.environ)
    if not getattr(sys, "frozen", False):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL when the parent dies. Elsewhere the stdin watch does it."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the stdin watch still ends the child


def gpu_available(xllamacpp: Any) -> bool:
    """Whether this build of llama.cpp can offload layers to a GPU."""
    for device in xllamacpp.get_device_info():
        kind = getattr(device.get("type"), "name", "")
        if kind.endswith(("_GPU", "_IGPU")):
            return True
    return False


def start_server(config: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The running server and what the parent needs to know about it."""
    import xllamacpp  # type: ignore[import-untyped]

    params = xllamacpp.CommonParams()
    params.model.path = config["model"]
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free port; the ready line tells the parent
    params.api_keys = [config["api_key"]]
    params.ui = False
    params.n_ctx = int(config["context_size"])
    params.n_batch = int(config["batch_size"])
    params.n_ubatch = min(params.n_ubatch, params.n_batch)
    params.cpuparams.n_threads = int(config["threads"])
    params.cpuparams_batch.n_threads = int(config["threads"])
    gpu = gpu_available(xllamacpp)
    layers = config.get("gpu_layers")
    # Unset: everything on the GPU when there is one (llama.cpp keeps what does not fit).
    params.n_gpu_layers = (999 if gpu else 0) if layers is None else int(layers)
    server = xllamacpp.Server(params)  # returns once the model is loaded and serving
    return server, {"url": server.listening_address, "gpu": gpu}


def watch_stdin() -> None:
    """Block until the parent closes our stdin or dies."""
    while sys.stdin.buffer.read(4096):
        pass


def main() -> int:
    die_with_parent()
    line = sys.stdin.buffer.readline()
    if not line:
        return 0  # the parent went away before saying anything
    config = json.loads(line)
    if os.getppid() != config.get("parent"):
        return 0  # the parent died before the kernel was told to watch it
    try:
        server, ready = start_server(config)
    except Exception as exc:  # reported to the parent, which words it for people
        ready, server = {"error": str(exc) or type(exc).__name__}, None
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    if server is None:
        return 1
    watch_stdin()
    # Leaving through the interpreter would run the server's destructor, which waits for
    # requests in flight: the parent is gone, nobody wants their answers.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
