"""Reused worker threads that go away when idle.

A new thread per task waits to be scheduled (about a millisecond on a busy machine), straight
in a reply's time to first token, so tasks go to threads that already run. The standard
library's ThreadPoolExecutor reuses threads too, but keeps every one it ever started: after
a burst of 32 streams the app held 66 threads for good. Here a thread that has had nothing
to do for `idle_timeout` seconds ends.

Each idle thread waits on a lock of its own. A task is handed to the thread that went idle
last, which is woken alone and directly (no shared queue to poll, no other thread woken);
the threads idle longest are the ones that time out. Only when every thread is busy and the
maximum is reached do tasks queue, taken in order as threads finish.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

IDLE_TIMEOUT = 15.0  # seconds a thread waits for a task before it ends


@dataclass
class Task:
    future: Future[Any]
    function: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.function(*self.args, **self.kwargs)
        except BaseException as exc:  # the future carries it to whoever waits
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


@dataclass(eq=False)  # found again by identity
class IdleThread:
    """A thread waiting for its next task: `wake` is held until a task (or None: end) is put
    in `task`."""

    wake: threading.Lock = field(default_factory=threading.Lock)
    task: Task | None = None

    def __post_init__(self) -> None:
        self.wake.acquire()


class ThreadPool:
    """Runs tasks on at most `max_threads` reused daemon threads named `name`-N."""

    def __init__(self, max_threads: int, name: str, idle_timeout: float | None = None,
                 when_all_idle_ended: Callable[[], object] | None = None) -> None:
        self.max_threads = max_threads
        self.name = name
        self.idle_timeout = IDLE_TIMEOUT if idle_timeout is None else idle_timeout
        # Called by the last thread to end for want of work: nothing has run for a while.
        self.when_all_idle_ended = when_all_idle_ended
        self._lock = threading.Lock()
        self._idle: list[IdleThread] = []  # the last to go idle is woken first
        self._queue: deque[Task] = deque()  # tasks waiting while every thread is busy
        self._threads: set[threading.Thread] = set()
        self._started = 0
        self._closed = False

    def submit(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run `function(*args, **kwargs)` on a pool thread; its Future, as the standard
        library's executors give."""
        task = Task(Future(), function, args, kwargs)
        with self._lock:
            if self._closed:
                raise RuntimeError("the thread pool is shut down")
            if self._idle:
                idle = self._idle.pop()
                idle.task = task
                idle.wake.release()
            elif len(self._threads) < self.max_threads:
                self._started += 1
                thread = threading.Thread(
                    target=self._work, args=(task,), name=f"{self.name}-{self._started}",
                    daemon=True,
                )
                self._threads.add(thread)
                thread.start()
            else:
                self._queue.append(task)
        return task.future

    def thread_count(self) -> int:
        """Threads alive now, busy or idle."""
        with self._lock:
            return len(self._threads)

    def idle_count(self) -> int:
        """Threads alive and waiting for a task."""
        with self._lock:
            return len(self._idle)

    def _work(self, task: Task | None) -> None:
        while task is not None:
            task.run()
            del task  # the task's result must not live on while the thread waits
            task = self._next_task()

    def _next_task(self) -> Task | None:
        """The next task for the calling thread, waiting up to `idle_timeout` for one; None
        when the thread should end (idle too long, or the pool shut down)."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if self._closed:
                self._threads.discard(threading.current_thread())
                return None
            idle = IdleThread()
            self._idle.append(idle)
        if idle.wake.acquire(timeout=self.idle_timeout):
            return self._ended_if_none(idle.task)
        quiet = False
        with self._lock:
            timed_out = idle in self._idle  # else a task was handed over as the wait ended
            if timed_out:
                self._idle.remove(idle)
                self._threads.discard(threading.current_thread())
                quiet = not self._threads
        if not timed_out:
            return self._ended_if_none(idle.task)  # set before the release
        if quiet and self.when_all_idle_ended is not None:
            self.when_all_idle_ended()
        return None

    def _ended_if_none(self, task: Task | None) -> Task | None:
        if task is None:
            with self._lock:
                self._threads.discard(threading.current_thread())
        return task

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more tasks; idle threads end at once, busy ones after the queued tasks
        (cancelled first with `cancel_futures`). `wait` joins every thread."""
        cancelled: list[Task] = []
        with self._lock:
            self._closed = True
            if cancel_futures:
                cancelled = list(self._queue)
                self._queue.clear()
            for idle in self._idle:
                idle.wake.release()  # its task stays None: the thread ends
            self._idle.clear()
            threads = list(self._threads)
        for task in cancelled:  # outside the lock: a future's callbacks may use the pool
            task.future.cancel()
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
