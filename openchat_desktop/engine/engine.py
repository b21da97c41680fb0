"""The engine: runs generations on reused worker threads, finds them again by message id,
checkpoints them and ends them all at shutdown.

A checkpoint thread saves every reply whose text changed at most every `CHECKPOINT_INTERVAL`
seconds — also when the provider goes quiet — in one transaction for all of them; each
worker saves its reply's end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from ..threads import ThreadPool
from .events import StreamFactory
from .generation import EndHook, Generation
from .job import Jobs
from .recording import Recorder

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 0.25  # seconds: at most ~4 database writes per second per reply
FINISHED_GRACE = 120.0  # seconds a finished generation's log stays replayable from memory
COMPACT_AFTER = 5.0  # seconds after its end a reply's per-token log is folded


class Engine:
    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._lock = threading.Lock()
        self._generations: Jobs[Generation] = Jobs(keep=FINISHED_GRACE, fold_after=COMPACT_AFTER)
        self._closed = False
        self._wake = threading.Event()
        self._checkpointer: threading.Thread | None = None
        # Reused worker threads: starting a new thread per reply waits for it to be
        # scheduled (~1 ms on a busy machine), straight in the time to first token.
        self._workers = ThreadPool(64, name="generation")

    def start(
        self,
        *,
        message_id: str,
        session_id: str,
        start: dict,
        stream: StreamFactory,
        describe: Callable[[], dict | None],
        seed: Mapping[str, str] | None = None,
        on_end: EndHook | None = None,
    ) -> Generation:
        """Run `stream` as the reply `message_id`. `start` is the first event's data;
        `describe()` gives the saved reply as the `done` event carries it; `seed` and
        `on_end`: see `Generation`. A reply continued takes the place of its earlier
        generation."""
        generation = Generation(
            message_id=message_id,
            session_id=session_id,
            start=start,
            stream=stream,
            recorder=self._recorder,
            describe=describe,
            seed=seed,
            on_end=on_end,
            continue_elsewhere=self._workers.submit,
            streaming=self.streaming,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine is shut down")
            self._generations.add(message_id, generation)
            if self._checkpointer is None:
                self._checkpointer = threading.Thread(
                    target=self._checkpoint_loop, name="checkpoints", daemon=True
                )
                self._checkpointer.start()
        self._workers.submit(generation.run)
        return generation

    def _checkpoint_loop(self) -> None:
        while not self._wake.wait(CHECKPOINT_INTERVAL):
            self.checkpoint()
            self._generations.prune()

    def checkpoint(self) -> None:
        """Save every running reply whose text changed, in one transaction."""
        taken = []
        for generation in self.running():
            checkpoint = generation.take_checkpoint()
            if checkpoint is not None:
                taken.append((generation, checkpoint))
        if not taken:
            return
        try:
            self._recorder.save_checkpoints([checkpoint for _, checkpoint in taken])
        except Exception:  # a busy or full disk must not end the replies; the end saves again
            log.exception("checkpoint failed")
            for generation, _ in taken:
                generation.checkpoint_failed()

    def get(self, message_id: str) -> Generation | None:
        return self._generations.get(message_id)

    def running(self) -> list[Generation]:
        return self._generations.running()

    def streaming(self) -> int:
        """How many replies are running."""
        return len(self._generations.running())

    def stop(self, message_id: str, timeout: float = 2.0) -> Generation | None:
        """Stop a running reply and wait (briefly) until it is saved."""
        generation = self.get(message_id)
        if generation is None:
            return None
        generation.stop("stopped")
        if not generation.wait_finished(timeout):
            generation.force_end()
        return generation

    def shutdown(self, timeout: float = 1.5) -> int:
        """Save every running reply as `interrupted`; returns how many were running."""
        with self._lock:
            self._closed = True
            running = self.running()
        self._wake.set()
        for generation in running:
            generation.stop("interrupted")
        deadline = time.monotonic() + timeout
        for generation in running:
            if not generation.wait_finished(max(0.0, deadline - time.monotonic())):
                generation.force_end()
        self._workers.shutdown(wait=False, cancel_futures=True)
        return len(running)
