"""Titles a chat's model writes (setting `chat.auto_title`): the request, the cleaning of what
comes back, and the background work that never delays a reply.

The title is asked for once the chat's first reply has ended, in a small request with a
token limit; a failure is logged and the chat keeps the title made from its first message.
Whether it may be saved (the person's own title always wins) is the store's atomic check.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import AppError
from ..providers.base import Cancel, ChatMessage, ChatRequest, TextDelta
from ..providers.router import ResolvedModel, Router

log = logging.getLogger(__name__)

TITLE_TOKENS = 24
TITLE_CHARS = 60
SHOWN_CHARS = 2_000  # of the question and of the answer: enough to know what a chat is about
MAX_REPLY_CHARS = 1_000  # a model that rambles instead is cut off here
INSTRUCTION = (
    "Write a title for this conversation in at most six words. Answer with the title only: "
    "no quotes, no punctuation at the end."
)
QUOTES = "\"'`“”‘’«»„*_#"
PREFIX = re.compile(r"^(?:title|chat title)\s*:\s*", re.IGNORECASE)


def title_request(
    model_name: str, question: str, answer: str, think: bool | str | None
) -> ChatRequest:
    """The request for a title of a chat that began with `question` and `answer`."""
    conversation = f"User: {question[:SHOWN_CHARS]}\n\nAssistant: {answer[:SHOWN_CHARS]}"
    return ChatRequest(
        model=model_name,
        messages=(ChatMessage("user", f"{INSTRUCTION}\n\n{conversation}"),),
        think=think,
        options={"max_tokens": TITLE_TOKENS},
    )


def clean_title(text: str) -> str | None:
    """One line, without quotes, a "Title:" label or trailing punctuation, at most
    TITLE_CHARS long (cut at a word); None when nothing is left."""
    line = next((line for line in text.splitlines() if line.strip(QUOTES + " \t")), "")
    line = " ".join(PREFIX.sub("", line.strip()).split())
    line = line.strip(QUOTES + " ").rstrip(".,;:!?…" + QUOTES + " ")
    if len(line) > TITLE_CHARS:
        cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
        line = (cut if len(cut) > TITLE_CHARS // 2 else line[:TITLE_CHARS]).rstrip(" ,.;:-")
    return line or None


def ask_title(
    router: Router, model: ResolvedModel, request: ChatRequest, cancel: Cancel
) -> str | None:
    """The model's title, cleaned (None: its answer held none, or `cancel` stopped it). The
    answer is read as it streams and cut off early when a model ignores the limit."""
    pieces: list[str] = []
    size = 0
    stream = router.stream_chat(model, request, cancel)
    try:
        for event in stream:
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                size += len(event.text)
                if size > MAX_REPLY_CHARS:
                    break
    finally:
        stream.close()
    return None if cancel.cancelled else clean_title("".join(pieces))


# How often a title waiting for the replies to end looks again.
BUSY_WAIT = 0.1  # seconds

TitleJob = Callable[[Cancel], bool]  # True: done (written or given up); False: stopped early


class TitleWriter:
    """Writes titles one at a time, on a thread that runs while there are titles to write,
    and knows which chats wait for one, so the page can ask again until the title is there.

    A title is the least urgent request the app makes, and it goes to the model a person is
    talking to, which often answers one request at a time (the built-in engine, Ollama by
    default). So a title waits while replies stream (`busy()`), and one being written when a
    reply starts is stopped (`make_way`) and asked again once the replies have ended: it never
    delays the person's next message. One at a time: when many replies end together (a team's
    server), their titles queue instead of competing with what still streams."""

    def __init__(self, busy: Callable[[], bool] = lambda: False) -> None:
        self._busy = busy
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._queue: deque[tuple[str, TitleJob]] = deque()
        self._writing = False  # the thread that writes them runs
        self._current: Cancel | None = None  # stops the title being written

    def pending(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._pending

    def start(self, session_id: str, job: TitleJob) -> Callable[[], None] | None:
        """Mark the chat `session_id` pending from now until `job` is done; returns what
        queues `job`, for the caller to call when it suits it (a reply's end reaches its
        clients first). A chat already waiting for a title gets no second job."""
        with self._lock:
            if session_id in self._pending:
                return None
            self._pending.add(session_id)

        def queue() -> None:
            with self._lock:
                self._queue.append((session_id, job))
                if self._writing:
                    return
                self._writing = True
            threading.Thread(target=self._write_all, name="titles", daemon=True).start()

        return queue

    def make_way(self) -> None:
        """A reply starts: the title being written stops, and waits its turn again."""
        with self._lock:
            current = self._current
        if current is not None:
            current.cancel()

    def _write_all(self) -> None:
        while True:
            while self._busy():
                time.sleep(BUSY_WAIT)
            with self._lock:
                if not self._queue:
                    self._writing = False
                    return
                session_id, job = self._queue.popleft()
                cancel = self._current = Cancel()
            done = self._run(session_id, job, cancel)
            with self._lock:
                self._current = None
                if done:
                    self._pending.discard(session_id)
                else:
                    self._queue.appendleft((session_id, job))

    def _run(self, session_id: str, job: TitleJob, cancel: Cancel) -> bool:
        try:
            return job(cancel) or not cancel.cancelled
        except Exception as exc:  # the chat keeps its title; nothing else depends on this
            if cancel.cancelled:
                return False
            log.warning("no title was written for chat %s: %s", session_id, exc,
                        exc_info=not isinstance(exc, AppError))
            return True
