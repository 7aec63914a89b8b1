"""The one fixed-window counter (API rate limit, share-link lookup misses)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache, caches

from generations import windows


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(1_000_000_200.0)  # a multiple of 60 and of 600
    monkeypatch.setattr(windows.time, "time", fake)
    return fake


def test_it_counts_within_a_window_and_starts_again_in_the_next(clock: Clock) -> None:
    assert windows.count("t", "who", 60) == (1, 60)
    clock.now += 59
    assert windows.count("t", "who", 60) == (2, 1)
    assert windows.counted("t", "who", 60) == (2, 1)
    clock.now += 1  # the next window, aligned to the epoch
    assert windows.counted("t", "who", 60) == (0, 60)
    assert windows.count("t", "who", 60) == (1, 60)


def test_each_prefix_and_principal_has_its_own_count(clock: Clock) -> None:
    windows.count("api-rate", "t1", 60)
    windows.count("api-rate", "t1", 60)
    assert windows.count("api-rate", "t2", 60)[0] == 1
    assert windows.count("share", "t1", 60)[0] == 1


def test_the_key_never_holds_the_principal_in_the_clear(clock: Clock) -> None:
    key, _left = windows.window("share-lookup-miss", "203.0.113.7", 600)
    assert "203.0.113.7" not in key
    assert key.startswith("share-lookup-miss:")


def test_an_evicted_counter_starts_at_one(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows.count("t", "who", 60)

    def evicted(*args: Any, **kwargs: Any) -> int:
        raise ValueError("Key not found")

    with monkeypatch.context() as patched:
        patched.setattr(caches["default"], "incr", evicted)
        assert windows.count("t", "who", 60) == (1, 60)
    assert windows.counted("t", "who", 60)[0] == 1
