"""How much each API key may ask: requests per minute and tokens per minute.

Each limit is a bucket that refills continuously and holds at most a minute's worth, so a
caller that was quiet may spend a minute's allowance in a burst. Tokens are counted from
what replies used, as the backend we follow does: while a generation runs, the tokens it has
produced so far count; once it ends, the usage its model reported. A generation in flight is
never cut. When the budget is spent, the next generation waits: it is refused with a 429 that
says how long to wait, and a request that does not generate still gets through.

The launch token and keys without limits never wait, and cost one dictionary lookup.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .clients import Client
from .errors import RateLimited


class Metered(Protocol):
    """Work whose tokens count toward a key's budget: a generation, or a stream relayed as it
    is."""

    @property
    def finished(self) -> bool: ...

    def tokens_used(self) -> int: ...


class Bucket:
    """`per_minute` units, refilled evenly over a minute; the level may go below zero when
    more was used than was left (a reply longer than the budget), and refills from there."""

    def __init__(self, per_minute: int, now: float) -> None:
        self.per_minute = per_minute
        self.level = float(per_minute)
        self._rate = per_minute / 60.0
        self._stamp = now

    def refill(self, now: float) -> None:
        self.level = min(float(self.per_minute), self.level + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait(self, needed: float) -> float:
        """Seconds until the level reaches `needed` (after `refill`)."""
        return 0.0 if self.level >= needed else (needed - self.level) / self._rate


@dataclass
class Budget:
    rpm: int | None
    tpm: int | None
    requests: Bucket | None
    tokens: Bucket | None
    running: list[Metered] = field(default_factory=list)


class RateLimits:
    """Every key's buckets, in memory: a restart gives each key a full minute again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}

    def spend_request(self, client: Client) -> None:
        """Count one request, or refuse it when the key's requests per minute are used up."""
        if client.key_id is None or client.rpm is None:
            return
        with self._lock:
            budget = self._budget(client)
            bucket = budget.requests
            assert bucket is not None
            bucket.refill(self._clock())
            wait = bucket.wait(1.0)
            if wait > 0:
                raise limited(f"This key may make {client.rpm:,} requests a minute.", wait)
            bucket.level -= 1.0

    def check_tokens(self, client: Client) -> None:
        """Refuse a new generation while the key's tokens per minute are used up, counting the
        tokens of its generations still running."""
        if client.key_id is None or client.tpm is None:
            return
        with self._lock:
            budget = self._budget(client)
            bucket = budget.tokens
            assert bucket is not None
            bucket.refill(self._clock())
            running = self._settle(budget)
            wait = bucket.wait(running + 1.0)
            if wait > 0:
                raise limited(
                    f"This key may use {client.tpm:,} tokens a minute, and has used them.", wait
                )

    def track(self, client: Client, metered: Metered) -> None:
        """Count `metered`'s tokens toward the key's budget, while it runs and once it ends."""
        if client.key_id is None or client.tpm is None:
            return
        with self._lock:
            self._budget(client).running.append(metered)

    def _budget(self, client: Client) -> Budget:
        """The key's buckets; new ones when its limits were changed."""
        assert client.key_id is not None
        budget = self._budgets.get(client.key_id)
        if budget is None or (budget.rpm, budget.tpm) != (client.rpm, client.tpm):
            now = self._clock()
            budget = Budget(
                rpm=client.rpm,
                tpm=client.tpm,
                requests=Bucket(client.rpm, now) if client.rpm is not None else None,
                tokens=Bucket(client.tpm, now) if client.tpm is not None else None,
            )
            self._budgets[client.key_id] = budget
        return budget

    @staticmethod
    def _settle(budget: Budget) -> int:
        """Take what ended generations used from the bucket; the tokens of those still running."""
        bucket = budget.tokens
        assert bucket is not None
        running = 0
        still: list[Metered] = []
        for metered in budget.running:
            finished = metered.finished  # read first: a generation may end between the two
            used = metered.tokens_used()
            if finished:
                bucket.level -= used
            else:
                running += used
                still.append(metered)
        budget.running = still
        return running


def limited(what: str, wait: float) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    return RateLimited(f"{what} Try again in {seconds} second{'s' if seconds != 1 else ''}.",
                       retry_after=seconds)
