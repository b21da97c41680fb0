"""The `openchat` command: the window (default), `--browser`, `serve`, `--version`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import webbrowser

from . import __version__, paths
from .instance import AlreadyRunning

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# A token that guards a server other machines can reach: at least this long, with this many
# different characters, so it cannot be guessed by trying.
STRONG_TOKEN_LENGTH = 16
STRONG_TOKEN_CHARACTERS = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openchat",
        description="OpenChat Desktop: a private, local-first AI chat app.",
    )
    parser.add_argument("--version", action="version", version=f"OpenChat {__version__}")
    parser.add_argument("--browser", action="store_true",
                        help="open the chat page in the default browser instead of a window")
    _add_server_options(parser)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve headless and print the address")
    _add_server_options(serve)
    return parser


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    default = argparse.SUPPRESS if parser.prog != "openchat" else None
    parser.add_argument("--host", default=default,
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default,
                        help="port to listen on (default: a free port)")
    parser.add_argument("--data-dir", default=default,
                        help="folder for chats and attachments (env OPENCHAT_HOME)")
    parser.add_argument("--settings", default=default,
                        help="settings file (env OPENCHAT_SETTINGS)")
    parser.add_argument("--token", default=default,
                        help="fixed access token instead of a random one (env OPENCHAT_TOKEN)")


def _runtime(args: argparse.Namespace, *, window: bool = False):
    from .runtime import Runtime
    from .store import StoreError

    host = args.host or "127.0.0.1"
    token = args.token or os.environ.get("OPENCHAT_TOKEN") or None
    if host not in LOOPBACK:
        refuse_weak_token(host, token)
    try:
        runtime = Runtime(
            data_dir=paths.data_dir(args.data_dir),
            settings_path=paths.settings_path(args.settings),
            token=token,
            host=host,
            port=args.port or 0,
            window=window,
        )
    except StoreError as exc:
        raise SystemExit(f"openchat: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"openchat: could not start the server on {host}: {exc}") from None
    if runtime.settings.problem is not None:  # the last good settings (or defaults) apply
        print(f"openchat: {runtime.settings.problem.message}", file=sys.stderr, flush=True)
    return runtime


def refuse_weak_token(host: str, token: str | None) -> None:
    """Off loopback anyone on the network can try tokens: a missing or weak one stops here
    (exit status 2, as for any unusable option). On loopback a script may keep a short one."""
    if not token:
        problem = "set a token with --token or OPENCHAT_TOKEN first"
    elif len(token) < STRONG_TOKEN_LENGTH or len(set(token)) < STRONG_TOKEN_CHARACTERS:
        problem = (f"its token must have at least {STRONG_TOKEN_LENGTH} characters, "
                   f"{STRONG_TOKEN_CHARACTERS} of them different (openssl rand -hex 24 makes one)")
    else:
        return
    print(f"openchat: listening on {host} makes OpenChat reachable from other machines; "
          f"{problem}.", file=sys.stderr, flush=True)
    raise SystemExit(2)


def serve(args: argparse.Namespace) -> int:
    try:
        runtime = _runtime(args)
    except AlreadyRunning as exc:
        raise SystemExit(
            f"openchat: {exc} Stop it first, or give this one its own --data-dir."
        ) from None
    stopping = threading.Event()

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=runtime.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"OpenChat is serving at {runtime.url}", flush=True)
    try:
        runtime.serve_forever()
    finally:
        runtime.shutdown()
    return 0


def browser(args: argparse.Namespace, notice: str | None = None) -> int:
    try:
        runtime = _runtime(args)
    except AlreadyRunning as exc:
        return _hand_over(exc, window=False)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())  # before anyone can send it
    runtime.start()
    if notice:
        print(notice, flush=True)
    print(f"OpenChat is serving at {runtime.url} (press Ctrl+C to quit)", flush=True)
    webbrowser.open(runtime.url)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.shutdown()
    return 0


def window(args: argparse.Namespace, started: float) -> int:
    from .desktop.gui import gui_problem

    problem = gui_problem()
    if problem is not None:
        print(f"OpenChat could not open its window: {problem}.", file=sys.stderr, flush=True)
        return browser(args, notice="OpenChat opens in your browser instead.")
    from .desktop.window import hold_signals, open_window, webengine_flags

    webengine_flags()
    hold_signals()
    try:
        runtime = _runtime(args, window=True)
    except AlreadyRunning as exc:
        return _hand_over(exc, window=True)
    runtime.start()
    try:
        open_window(runtime, started=started)
    finally:
        runtime.shutdown()
    # Everything is saved and closed. Leave now: tearing down Qt WebEngine's objects at
    # interpreter exit can hang when a helper process went away early.
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


def _hand_over(exc: AlreadyRunning, *, window: bool) -> int:
    """Another OpenChat holds the data folder: show its window, or its page in the browser."""
    instance = exc.instance
    if instance is None:
        raise SystemExit(f"openchat: {exc} Close it first.")
    if window and instance.window:
        import requests

        try:
            shown = requests.post(
                f"{instance.base_url}/api/instance/show",
                headers={"Authorization": f"Bearer {instance.token}"}, timeout=5,
            ).json().get("window")
        except (requests.RequestException, ValueError):
            shown = False
        if shown:
            print("OpenChat is already open; its window was brought to the front.", flush=True)
            return 0
    print(f"OpenChat is already running; opening it in your browser ({instance.base_url}).",
          flush=True)
    webbrowser.open(instance.url)
    return 0


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    level = os.environ.get("OPENCHAT_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.browser:
        return browser(args)
    return window(args, started)


if __name__ == "__main__":
    sys.exit(main())



