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


def ask_title(router: Router, model: ResolvedModel, request: ChatRequest) -> str | None:
    """The model's title, cleaned (None: its answer held none). The answer is read as it
    streams and cut off early when a model ignores the limit."""
    pieces: list[str] = []
    size = 0
    stream = router.stream_chat(model, request, Cancel())
    try:
        for event in stream:
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                size += len(event.text)
                if size > MAX_REPLY_CHARS:
                    break
    finally:
        stream.close()
    return clean_title("".join(pieces))


class TitleWriter:
    """Writes titles one at a time, on a thread that runs while there are titles to write,
    and knows which chats wait for one, so the page can ask again until the title is there.
    One at a time: when many replies end together (a team's server), their titles' requests
    queue behind each other instead of competing with the replies still streaming."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._queue: deque[tuple[str, Callable[[], None]]] = deque()
        self._writing = False  # the thread that writes them runs

    def pending(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._pending

    def start(self, session_id: str, job: Callable[[], None]) -> Callable[[], None] | None:
        """Mark the chat `session_id` pending from now until `job` ends; returns what queues
        `job`, for the caller to call when it suits it (a reply's end reaches its clients
        first). A chat already waiting for a title gets no second job."""
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

    def _write_all(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._writing = False
                    return
                session_id, job = self._queue.popleft()
            self._run(session_id, job)

    def _run(self, session_id: str, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception as exc:  # the chat keeps its title; nothing else depends on this
            log.warning("no title was written for chat %s: %s", session_id, exc,
                        exc_info=not isinstance(exc, AppError))
        finally:
            with self._lock:
                self._pending.discard(session_id)
