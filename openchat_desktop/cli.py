"""The `openchat` command: the window (default), `--browser`, `serve`, `keys`, `--version`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, paths
from .instance import AlreadyRunning

if TYPE_CHECKING:
    from .store.records import ApiKeyRecord

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
    _add_keys_commands(sub)
    return parser


def _add_keys_commands(sub: Any) -> None:
    """`openchat keys create|list|revoke` (`sub`: the parser's subcommands)."""
    keys = sub.add_parser("keys", help="make, list and revoke API keys for scripts and teammates")
    actions = keys.add_subparsers(dest="keys_command", required=True,
                                  metavar="{create,list,revoke}")
    create = actions.add_parser("create", help="make a key; it is printed once, on the last line")
    create.add_argument("--name", required=True, help="what the key is for, e.g. ci-script")
    # Checked by access/keys.py, not argparse: the same sentences as the Settings panel's.
    create.add_argument("--scope", default="chat",
                        help="read (list and read), chat (also chat; the default) or admin "
                             "(also settings, providers and keys)")
    create.add_argument("--rpm", help="requests per minute (default: no limit)")
    create.add_argument("--tpm", help="tokens per minute (default: no limit)")
    create.add_argument("--no-record", dest="record", action="store_false",
                        help="do not keep its OpenAI-compatible calls as chats")
    listing = actions.add_parser("list", help="every key: name, prefix, scope, limits, use")
    revoke = actions.add_parser("revoke", help="revoke a key: it stops working at once")
    revoke.add_argument("name", help="the key's name")
    for action in (create, listing, revoke):
        action.add_argument("--data-dir", help="folder for chats and attachments "
                                               "(env OPENCHAT_HOME)")


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
    data_dir = paths.data_dir(args.data_dir)
    if host not in LOOPBACK:
        refuse_weak_token(host, token)
        refuse_without_keys(host, data_dir)
    try:
        runtime = Runtime(
            data_dir=data_dir,
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


def refuse_without_keys(host: str, data_dir: Path) -> None:
    """Off loopback, teammates and scripts use API keys: without an active one, serving to the
    network would give nobody but the launch token's holder a way in, so it stops here."""
    from .access.keys import ApiKeys
    from .store import Store, StoreError

    try:
        store = Store(paths.database_path(data_dir))
    except StoreError as exc:
        raise SystemExit(f"openchat: {exc}") from None
    try:
        active = ApiKeys(store).any_active()
    finally:
        store.close()
    if not active:
        print(f"openchat: listening on {host} makes OpenChat reachable from other machines, "
              "which reach it with API keys, and this data folder has none; make one first "
              "with: openchat keys create --name NAME.", file=sys.stderr, flush=True)
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


def keys(args: argparse.Namespace) -> int:
    """`openchat keys …`: works beside a running server on the same folder (no instance lock;
    the database serializes writers), which sees a new or revoked key at its next request."""
    from .access.errors import InvalidKeyFields, KeyNameTaken, KeyNotFound
    from .access.keys import ApiKeys
    from .store import Store, StoreError

    try:
        store = Store(paths.database_path(paths.data_dir(args.data_dir)))
    except StoreError as exc:
        print(f"openchat: {exc}", file=sys.stderr, flush=True)
        return 1
    api_keys = ApiKeys(store)
    try:
        if args.keys_command == "create":
            record, key = api_keys.create(args.name, scope=args.scope, rpm=args.rpm,
                                          tpm=args.tpm, record=args.record)
            print(f"Made the key “{record.name}”: {key_summary(record)}.")
            print("Copy it now: it is not shown again, and OpenChat keeps only a hash of it.")
            print(key, flush=True)
        elif args.keys_command == "list":
            print(keys_table(api_keys.all_keys()), flush=True)
        else:
            revoked = api_keys.revoke(args.name)
            print(f"Revoked the key “{revoked.name}” ({revoked.prefix}…): it no longer works.",
                  flush=True)
    except (InvalidKeyFields, KeyNameTaken, KeyNotFound, StoreError) as exc:
        print(f"openchat: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        store.close()
    return 0


def key_summary(record: ApiKeyRecord) -> str:
    """What a key may do, in words: its scope, its limits and whether its chats are kept."""
    limits = [f"{record.rpm:,} requests" if record.rpm else "",
              f"{record.tpm:,} tokens" if record.tpm else ""]
    shown = " and ".join(limit for limit in limits if limit)
    return (f"scope {record.scope}, "
            f"{shown + ' a minute' if shown else 'no rate limits'}, "
            f"its OpenAI-compatible calls {'kept' if record.record else 'not kept'} as chats")


def keys_table(records: list[ApiKeyRecord]) -> str:
    if not records:
        return "No API keys yet. Make one with: openchat keys create --name NAME"
    rows = [("NAME", "PREFIX", "SCOPE", "RPM", "TPM", "CHATS", "CREATED", "LAST USED",
             "REVOKED")]
    for record in records:
        rows.append((
            record.name, f"{record.prefix}…", record.scope,
            f"{record.rpm:,}" if record.rpm else "-", f"{record.tpm:,}" if record.tpm else "-",
            "kept" if record.record else "not kept", _minute(record.created_at),
            _minute(record.last_used_at), _minute(record.revoked_at),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows)
    return "\n".join(line.rstrip() for line in lines)


def _minute(stamp: str | None) -> str:
    """A stored UTC time to the minute, e.g. 2026-11-21 09:10 UTC; "-" for none."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else "-"


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    level = os.environ.get("OPENCHAT_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "keys":
        return keys(args)
    if args.browser:
        return browser(args)
    return window(args, started)


if __name__ == "__main__":
    sys.exit(main())



