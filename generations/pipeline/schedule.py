"""When to poll a task next.

Seeded with the provider's documented generation times (scaled by the simulator's
speed factor when the simulator stands in for Apixo): the first poll comes near the
earliest likely finish, polls are dense across the likely window and back off with
jitter once a task runs longer than expected.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings

from generations.apixo import contract

MIN_INTERVAL_SECONDS = 0.5
MAX_INTERVAL_SECONDS = 30.0


def time_scale() -> float:
    """How much faster than the real provider the configured one runs."""
    if settings.SIMULATOR_ENABLED:
        return max(1.0, float(settings.SIMULATOR_SPEED))
    return 1.0


def expected_window(duration: int) -> tuple[float, float]:
    low, high = contract.GENERATION_SECONDS.get(duration, (40.0, 120.0))
    scale = time_scale()
    return low / scale, high / scale


def poll_delay(
    duration: int, elapsed: float, rng: random.Random | None = None
) -> float:
    """Seconds from now to the next status read, ``elapsed`` since submission."""
    rng = rng or random.Random()
    low, high = expected_window(duration)
    scale = time_scale()
    floor = MIN_INTERVAL_SECONDS
    if elapsed < low * 0.9:
        return max(floor, low * 0.9 - elapsed)
    if elapsed <= high:
        # Inside the window: about six reads spread across it.
        return max(floor, (high - low) / 6)
    # Running long: back off x1.5 per window length overrun, with jitter.
    overrun = (elapsed - high) / max(high - low, 1e-6)
    base = min(MAX_INTERVAL_SECONDS / scale * 2, (high - low) / 6 * 1.5**overrun)
    return float(max(floor, base * rng.uniform(0.75, 1.25)))


def next_poll_at(
    duration: int, submitted_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    elapsed = (now - submitted_at).total_seconds() if submitted_at else 0.0
    return now + dt.timedelta(seconds=poll_delay(duration, elapsed))


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff, at least the provider's Retry-After."""
    cap = min(300.0, 2.0 * 2 ** min(attempt, 8))
    delay = random.uniform(0, cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(MIN_INTERVAL_SECONDS, delay)
