"""The buckets behind a key's requests and tokens per minute, on a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from openchat_desktop.access.clients import LAUNCH, Client
from openchat_desktop.access.errors import RateLimited
from openchat_desktop.access.limits import RateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Work:
    used: int
    finished: bool = False

    def tokens_used(self) -> int:
        return self.used


def key(rpm: int | None = None, tpm: int | None = None, key_id: str = "k1") -> Client:
    return Client(key_id=key_id, name="script", scope="chat", rpm=rpm, tpm=tpm)


def test_a_burst_of_a_minutes_requests_then_one_as_the_bucket_refills() -> None:
    clock = Clock()
    limits = RateLimits(clock)
    client = key(rpm=6)  # one every 10 s
    for _ in range(6):
        limits.spend_request(client)
    with pytest.raises(RateLimited) as refused:
        limits.spend_request(client)
    assert refused.value.retry_after == 10
    assert refused.value.message == (
        "This key may make 6 requests a minute. Try again in 10 seconds."
    )
    clock.now += 9.5
    with pytest.raises(RateLimited) as refused:
        limits.spend_request(client)
    assert refused.value.retry_after == 1
    clock.now += 0.5
    limits.spend_request(client)
    with pytest.raises(RateLimited):
        limits.spend_request(client)


def test_a_refused_request_costs_nothing() -> None:
    clock = Clock()
    limits = RateLimits(clock)
    client = key(rpm=60)
    for _ in range(60):
        limits.spend_request(client)
    for _ in range(100):  # hammering while refused does not push the wait further out
        with pytest.raises(RateLimited):
            limits.spend_request(client)
    clock.now += 1.0
    limits.spend_request(client)


def test_keys_have_their_own_buckets_and_no_limit_means_none() -> None:
    limits = RateLimits(Clock())
    first, second = key(rpm=1, key_id="a"), key(rpm=1, key_id="b")
    limits.spend_request(first)
    limits.spend_request(second)
    with pytest.raises(RateLimited):
        limits.spend_request(first)
    for _ in range(1000):
        limits.spend_request(LAUNCH)
        limits.spend_request(key(key_id="c"))
        limits.check_tokens(LAUNCH)


def test_tokens_of_a_running_generation_count_and_the_next_one_waits() -> None:
    clock = Clock()
    limits = RateLimits(clock)
    client = key(tpm=600)  # 10 a second
    limits.check_tokens(client)
    work = Work(used=0)
    limits.track(client, work)
    limits.check_tokens(client)
    work.used = 600  # still streaming: it is never cut, but the next generation waits
    with pytest.raises(RateLimited) as refused:
        limits.check_tokens(client)
    assert refused.value.retry_after == 1
    assert "600 tokens a minute" in refused.value.message
    work.used, work.finished = 900, True  # the model's report at the end: more than estimated
    with pytest.raises(RateLimited) as refused:
        limits.check_tokens(client)
    assert refused.value.retry_after == 31  # from -300 back above 0 at 10 a second
    clock.now += 31
    limits.check_tokens(client)
    limits.check_tokens(client)  # an ended generation is taken once, not at every check


def test_changed_limits_apply_at_once() -> None:
    limits = RateLimits(Clock())
    limits.spend_request(key(rpm=1))
    with pytest.raises(RateLimited):
        limits.spend_request(key(rpm=1))
    limits.spend_request(key(rpm=5))
