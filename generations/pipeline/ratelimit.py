"""One request budget for every process that talks to the provider.

The provider allows 10,000 requests a minute; we keep to a configurable budget
below it (8,000 by default) by counting requests in one-second buckets of
``budget / 60``: any 60-second window then spans at most 61 buckets, so it stays
under ``61/60 x budget``. Counters live in Redis when ``REDIS_URL`` is set, else in
the database (a conditional UPDATE, correct on SQLite and PostgreSQL alike).

A 429 from the provider pauses every process for its Retry-After (shared through
the cache), on top of the per-task backoff.
"""

from __future__ import annotations

import math
import random
import time
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from generations.apixo.client import RateLimited
from generations.models import RateBucket

PAUSE_KEY = "seedance:provider:pause-until"


class Counter(Protocol):
    def take(self, second: int, limit: int) -> bool: ...

    def sent(self, first: int, last: int, limit: int) -> int: ...


class DatabaseCounter:
    def take(self, second: int, limit: int) -> bool:
        if (
            RateBucket.objects.filter(second=second, count__lt=limit).update(
                count=F("count") + 1
            )
            == 1
        ):
            return True
        try:
            with transaction.atomic():
                RateBucket.objects.create(second=second, count=1)
        except IntegrityError:
            return False  # the bucket exists and is full (or a racer just filled it)
        if random.random() < 0.01:
            RateBucket.objects.filter(second__lt=second - 3600).delete()
        return True

    def sent(self, first: int, last: int, limit: int) -> int:
        total = RateBucket.objects.filter(
            second__gte=first, second__lte=last
        ).aggregate(n=Sum("count"))["n"]
        return int(total or 0)


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    @staticmethod
    def key(second: int) -> str:
        return f"seedance:rate:{second}"

    def take(self, second: int, limit: int) -> bool:
        key = self.key(second)
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        return int(count) <= limit

    def sent(self, first: int, last: int, limit: int) -> int:
        # The counters count attempts; at most ``limit`` a second were let through.
        values = self.client.mget([self.key(s) for s in range(first, last + 1)])
        return sum(min(int(v), limit) for v in values if v is not None)


class RateLimiter:
    def __init__(
        self, counter: Counter, per_minute: int, max_wait_seconds: float = 10.0
    ) -> None:
        self.counter = counter
        self.per_second = max(1, math.floor(per_minute / 60))
        self.max_wait = max_wait_seconds

    def acquire(self, endpoint: str = "") -> None:
        """Block until a request may be sent; RateLimited if not within max_wait."""
        deadline = time.monotonic() + self.max_wait
        while True:
            now = time.time()
            paused_until = float(cache.get(PAUSE_KEY) or 0)
            if paused_until > now:
                self._sleep_or_give_up(paused_until - now, deadline)
                continue
            if self.counter.take(int(now), self.per_second):
                return
            self._sleep_or_give_up(math.floor(now) + 1 - now + 0.001, deadline)

    def _sleep_or_give_up(self, seconds: float, deadline: float) -> None:
        if time.monotonic() + seconds > deadline:
            raise RateLimited(
                "our own provider request budget is used up; waiting",
                retryable=True,
                maybe_sent=False,
                retry_after=seconds,
            )
        time.sleep(seconds)


def pause_all(seconds: float) -> None:
    """Hold every process's provider requests for ``seconds`` (after a 429)."""
    until = time.time() + min(seconds, 300.0)
    if until > float(cache.get(PAUSE_KEY) or 0):
        cache.set(PAUSE_KEY, until, timeout=int(seconds) + 5)


def requests_last_minute(now: float | None = None) -> int:
    """Provider requests let through by the shared limiter in the last 60 s."""
    second = int(now if now is not None else time.time())
    limiter = limiter_from_settings()
    return limiter.counter.sent(second - 59, second, limiter.per_second)


def limiter_from_settings() -> RateLimiter:
    counter: Counter = (
        RedisCounter(settings.REDIS_URL) if settings.REDIS_URL else DatabaseCounter()
    )
    return RateLimiter(counter, settings.PROVIDER_RATE_LIMIT_PER_MINUTE)
