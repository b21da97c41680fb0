"""The reused worker threads: tasks run, threads are reused, idle ones end, the maximum holds,
and shutdown ends or cancels what it should."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from openchat_desktop.threads import ThreadPool
from tests.support import wait_for

IDLE = 0.2  # seconds; the app's threads wait 30


def test_runs_tasks_and_gives_their_results_and_errors() -> None:
    pool = ThreadPool(4, name="t", idle_timeout=IDLE)
    assert pool.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=5) == 5

    def fail() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        pool.submit(fail).result(timeout=5)
    pool.shutdown()


def test_a_task_after_another_runs_on_the_same_thread() -> None:
    pool = ThreadPool(4, name="t", idle_timeout=5.0)
    first = pool.submit(threading.current_thread).result(timeout=5)
    wait_for(lambda: pool.idle_count() == 1)
    second = pool.submit(threading.current_thread).result(timeout=5)
    assert second is first
    assert first.name == "t-1" and first.daemon
    assert pool.thread_count() == 1
    pool.shutdown()


def test_a_task_wakes_one_idle_thread_the_last_to_go_idle() -> None:
    pool = ThreadPool(4, name="t", idle_timeout=60.0)
    releases = [threading.Event() for _ in range(3)]
    futures = [pool.submit(lambda r: (r.wait(5), threading.current_thread())[1], r)
               for r in releases]
    for count, release in enumerate(releases, 1):  # they go idle one after the other
        release.set()
        wait_for(lambda count=count: pool.idle_count() == count)
    last_idle = futures[-1].result(timeout=5)
    held = threading.Event()
    future = pool.submit(lambda: (held.wait(5), threading.current_thread())[1])
    assert pool.idle_count() == 2  # one thread taken at once, the others left waiting
    held.set()
    assert future.result(timeout=5) is last_idle
    assert pool.thread_count() == 3
    pool.shutdown()


def test_idle_threads_end_after_the_timeout_and_new_tasks_start_new_ones() -> None:
    pool = ThreadPool(8, name="t", idle_timeout=IDLE)
    release = threading.Event()
    futures = [pool.submit(release.wait, 5) for _ in range(5)]
    wait_for(lambda: pool.thread_count() == 5)
    threads = [t for t in threading.enumerate() if t.name.startswith("t-")]
    release.set()
    assert all(f.result(timeout=5) for f in futures)
    wait_for(lambda: pool.thread_count() == 0)
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert pool.submit(lambda: 7).result(timeout=5) == 7
    assert pool.thread_count() == 1
    pool.shutdown()


def test_busy_threads_are_not_ended_by_the_timeout() -> None:
    pool = ThreadPool(2, name="t", idle_timeout=IDLE)
    release = threading.Event()
    running = pool.submit(release.wait, 5)
    wait_for(lambda: pool.thread_count() == 1)
    release.wait(4 * IDLE)  # several timeouts go by while the task runs
    assert pool.thread_count() == 1 and not running.done()
    release.set()
    assert running.result(timeout=5)
    pool.shutdown()


def test_past_the_maximum_tasks_wait_for_a_thread() -> None:
    pool = ThreadPool(2, name="t", idle_timeout=IDLE)
    release = threading.Event()
    order: list[int] = []
    busy = [pool.submit(release.wait, 5) for _ in range(2)]
    queued = [pool.submit(order.append, n) for n in range(5)]
    assert pool.thread_count() == 2
    assert not any(f.done() for f in queued)
    release.set()
    for future in busy + queued:
        future.result(timeout=5)
    assert pool.thread_count() <= 2
    assert sorted(order) == list(range(5))
    pool.shutdown()


def test_shutdown_ends_idle_threads_and_refuses_new_tasks() -> None:
    pool = ThreadPool(4, name="t", idle_timeout=60.0)
    thread = pool.submit(threading.current_thread).result(timeout=5)
    wait_for(lambda: pool.idle_count() == 1)
    pool.shutdown(wait=True)
    assert not thread.is_alive()
    assert pool.thread_count() == 0
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)


def test_shutdown_with_cancel_futures_cancels_queued_tasks_but_lets_running_ones_end() -> None:
    pool = ThreadPool(1, name="t", idle_timeout=60.0)
    release = threading.Event()
    running = pool.submit(release.wait, 5)
    queued = pool.submit(lambda: "ran")
    cancelled: list[bool] = []
    queued.add_done_callback(lambda future: cancelled.append(future.cancelled()))
    wait_for(running.running)
    pool.shutdown(wait=False, cancel_futures=True)
    assert cancelled == [True]
    with pytest.raises(CancelledError):
        queued.result(timeout=0)
    release.set()
    assert running.result(timeout=5)
    wait_for(lambda: pool.thread_count() == 0)


def test_shutdown_without_cancelling_runs_the_queued_tasks_first() -> None:
    pool = ThreadPool(1, name="t", idle_timeout=60.0)
    release = threading.Event()
    running = pool.submit(release.wait, 5)
    queued = pool.submit(lambda: "ran")
    release.set()
    pool.shutdown(wait=True)
    assert running.result(timeout=0) and queued.result(timeout=0) == "ran"
    assert pool.thread_count() == 0


def test_the_last_thread_to_end_for_want_of_work_says_the_pool_went_quiet() -> None:
    quiet: list[int] = []
    pool = ThreadPool(4, name="t", idle_timeout=IDLE,
                      when_all_idle_ended=lambda: quiet.append(pool.thread_count()))
    release = threading.Event()
    futures = [pool.submit(release.wait, 5) for _ in range(3)]
    release.set()
    for future in futures:
        future.result(timeout=5)
    wait_for(lambda: pool.thread_count() == 0)
    wait_for(lambda: quiet == [0])  # once, by the last one, when none is left
    pool.submit(lambda: None).result(timeout=5)
    pool.shutdown(wait=True)  # ended by shutdown: not for want of work
    assert quiet == [0]
