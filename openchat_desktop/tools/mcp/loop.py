"""The one asyncio event loop the MCP SDK runs on, in a thread of its own, behind a blocking
API: the app's threads (requests, replies) hand it coroutines and wait for their results."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ...providers.base import Cancel
from .errors import CallStopped

T = TypeVar("T")


class EventLoopThread:
    """An asyncio loop in a daemon thread, started the first time it is needed: an app with no
    MCP server never starts it."""

    def __init__(self, name: str = "mcp") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=loop.run_forever, name=self._name, daemon=True
                )
                self._thread.start()
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the loop; its future can be waited on from any thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())

    def run(self, coroutine: Coroutine[Any, Any, T], cancel: Cancel | None = None) -> T:
        """Run a coroutine and wait for its result. `cancel` ends the wait at once and cancels
        the coroutine on the loop (raising CallStopped here); the coroutine bounds its own time."""
        future = self.submit(coroutine)

        def stop() -> None:
            future.cancel()

        unregister = cancel.on_cancel(stop) if cancel is not None else None
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise CallStopped("The call was stopped.") from None
        finally:
            if unregister is not None:
                unregister()

    def stop(self) -> None:
        """Stop the loop and wait for its thread; what still runs on it is abandoned."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()
