from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import close_old_connections

from generations.apixo.client import RateLimited
from generations.models import RateBucket
from generations.pipeline import ratelimit


def test_it_allows_the_budget_per_second_then_refuses() -> None:
    counter = FakeCounter()
    limiter = ratelimit.RateLimiter(counter, per_minute=600, max_wait_seconds=0)
    for _ in range(10):
        limiter.acquire()
    with pytest.raises(RateLimited) as info:
        limiter.acquire()
    assert info.value.maybe_sent is False and info.value.retryable is True


def test_it_waits_for_the_next_second_when_allowed() -> None:
    counter = FakeCounter()
    limiter = ratelimit.RateLimiter(counter, per_minute=60, max_wait_seconds=2)
    limiter.acquire()
    limiter.acquire()
    # One request per one-second bucket: the second slept into the next bucket.
    first, second = sorted(counter.counts)
    assert counter.counts == {first: 1, first + 1: 1}
    assert time.time() >= second


def test_it_pauses_everyone_after_a_provider_429(settings: Any) -> None:
    limiter = ratelimit.RateLimiter(FakeCounter(), per_minute=6000, max_wait_seconds=0)
    ratelimit.pause_all(30)
    try:
        with pytest.raises(RateLimited) as info:
            limiter.acquire()
        assert info.value.retry_after is not None and info.value.retry_after > 25
    finally:
        from django.core.cache import cache

        cache.delete(ratelimit.PAUSE_KEY)


@pytest.mark.django_db(transaction=True)
def test_it_counts_across_threads_in_the_database() -> None:
    counter = ratelimit.DatabaseCounter()
    second = int(time.time()) + 10_000  # a bucket nobody else uses
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            ok = counter.take(second, 25)
            with lock:
                granted.append(ok)
        close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 25
    assert RateBucket.objects.get(second=second).count == 25


class FakeCounter:
    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def take(self, second: int, limit: int) -> bool:
        if self.counts.get(second, 0) >= limit:
            return False
        self.counts[second] = self.counts.get(second, 0) + 1
        return True


def test_it_counts_what_redis_let_through() -> None:
    """Redis counts attempts; at most the per-second budget went out each second."""
    import os

    import redis

    url = os.environ.get("SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        counter = ratelimit.RedisCounter(url)
        counter.client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis at {url} cannot be reached")
    second = int(time.time()) + 20_000  # buckets nobody else uses
    for _ in range(7):
        counter.take(second, 5)
    counter.take(second + 1, 5)
    assert counter.sent(second, second + 1, 5) == 6
    counter.client.delete(counter.key(second), counter.key(second + 1))
