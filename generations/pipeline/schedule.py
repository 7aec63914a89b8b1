"""When to read a task's status next: a poll plan learned from generation times.

A ``PollPlan`` is planned from a sample of generation times (seconds from our
submission to the provider finishing) for tasks like this one (same duration,
resolution, sound and routing, or the same duration while history is thin; the
provider's documented ranges before there is any). The plan:

- first read near the earliest likely finish,
- then a steady interval across the bulk of the distribution,
- then reads that back off geometrically (with jitter) for tasks running long.

Its knobs (first read, interval, where the tail starts, how fast it grows) are
chosen by evaluating candidates on the sample itself: the plan with the fewest
reads per task whose 95th-percentile detection lag stays within a
target. The target grows with the spread of the finish time (between 4.5 s and
10 s): a wide, uncertain window costs many reads at a tight lag, a narrow one few.
Nothing here knows which workload it serves; the benchmark (``bench_polling``)
runs these same functions.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from generations.apixo import contract

if TYPE_CHECKING:
    from generations.models import GenerationTask

MIN_INTERVAL_SECONDS = 0.5
LAG_TARGET_RANGE = (4.5, 10.0)
LAG_TARGET_PER_IQR = 0.07
# Plans are judged at a stricter quantile than the p95 we promise: the sample is
# not the future, and a tail seen in a few hundred tasks is a noisy estimate.
PLAN_LAG_QUANTILE = 0.97
TAIL_GROWTHS = (1.03, 1.06, 1.1, 1.2, 1.35, 1.5)
MAX_INTERVAL_SECONDS = 60.0
# A task running past this multiple of the slowest expected time is "delayed".
DELAYED_FACTOR = 1.5

EARLY_QUANTILES = (0.005, 0.01, 0.02, 0.03)
INTERVAL_FACTORS = (0.85, 0.95, 1.0, 1.05, 1.1, 1.2)
TAIL_QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.985)


def time_scale() -> float:
    """How much faster than the real provider the configured one runs."""
    if settings.SIMULATOR_ENABLED:
        return max(1.0, float(settings.SIMULATOR_SPEED))
    return 1.0


@dataclass(frozen=True)
class PollPlan:
    first: float  # seconds after submission
    interval: float  # steady interval across the bulk
    tail_from: float  # elapsed time after which reads back off
    tail_growth: float  # each tail delay about this times the one before
    max_interval: float
    lag_target: float
    expected_calls: float
    expected_lag_p95: float
    slowest_expected: float

    def delay_after(self, elapsed: float, rng: random.Random | None = None) -> float:
        """Seconds from now to the next read, ``elapsed`` since submission."""
        if elapsed < self.first:
            return self.first - elapsed
        if elapsed < self.tail_from:
            return self.interval
        jitter = (rng or random).uniform(0.85, 1.15)
        return max(self.interval, self._plain_delay(elapsed) * jitter)

    def poll_times(self, until: float) -> list[float]:
        """Every read up to and including the first at or after ``until``."""
        times = [self.first]
        while times[-1] < until:
            times.append(times[-1] + self._plain_delay(times[-1]))
        return times

    def _plain_delay(self, elapsed: float) -> float:
        if elapsed < self.tail_from:
            return self.interval
        # Past the bulk: each delay about tail_growth times the one before.
        over = elapsed - self.tail_from
        grown = self.interval * self.tail_growth + over * (self.tail_growth - 1)
        return min(self.max_interval, grown)


def quantile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        raise ValueError("no samples")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def lag_target(ordered: Sequence[float], scale: float = 1.0) -> float:
    spread = quantile(ordered, 0.75) - quantile(ordered, 0.25)
    low, high = (bound / scale for bound in LAG_TARGET_RANGE)
    return min(high, max(low, LAG_TARGET_PER_IQR * spread))


def evaluate(
    plan_times: Sequence[float], ordered: Sequence[float]
) -> tuple[float, float]:
    """Mean reads per task and the planning-quantile lag of a schedule on a sample."""
    calls = 0
    lags = []
    for finish in ordered:
        index = bisect.bisect_left(plan_times, finish)
        calls += index + 1
        lags.append(plan_times[index] - finish)
    lags.sort()
    return calls / len(ordered), quantile(lags, PLAN_LAG_QUANTILE)


def plan_from_samples(samples: Sequence[float], scale: float = 1.0) -> PollPlan:
    """The cheapest plan meeting the lag target on ``samples`` (seconds)."""
    ordered = sorted(s for s in samples if s > 0 and math.isfinite(s))
    if len(ordered) < 5:
        raise ValueError("too few samples to plan polling")
    target = lag_target(ordered, scale)
    floor = MIN_INTERVAL_SECONDS
    cap = MAX_INTERVAL_SECONDS / scale
    best: PollPlan | None = None
    for early in EARLY_QUANTILES:
        first = max(floor, quantile(ordered, early) + target * 0.9)
        for factor in INTERVAL_FACTORS:
            interval = max(floor, target * factor)
            for tail, growth in itertools.product(TAIL_QUANTILES, TAIL_GROWTHS):
                candidate = PollPlan(
                    first=first,
                    interval=interval,
                    tail_from=max(first, quantile(ordered, tail)),
                    tail_growth=growth,
                    max_interval=max(cap, interval),
                    lag_target=target,
                    expected_calls=0.0,
                    expected_lag_p95=0.0,
                    slowest_expected=ordered[-1],
                )
                calls, lag = evaluate(candidate.poll_times(ordered[-1]), ordered)
                candidate = dataclasses.replace(
                    candidate, expected_calls=calls, expected_lag_p95=lag
                )
                if _better(candidate, best):
                    best = candidate
    assert best is not None
    return best


def _better(candidate: PollPlan, best: PollPlan | None) -> bool:
    if best is None:
        return True
    # Aim a little under the target: the sample is not the future.
    limit = candidate.lag_target * 0.95
    ok, best_ok = candidate.expected_lag_p95 <= limit, best.expected_lag_p95 <= limit
    if ok != best_ok:
        return ok
    if ok:
        return candidate.expected_calls < best.expected_calls
    return candidate.expected_lag_p95 < best.expected_lag_p95


def documented_samples(
    duration: int, scale: float = 1.0, points: int = 200
) -> list[float]:
    """Evenly spread times across the provider's documented range (the prior)."""
    low, high = contract.GENERATION_SECONDS.get(duration, (40.0, 120.0))
    step = (high - low) / (points - 1)
    return [(low + i * step) / scale for i in range(points)]


# --- the dispatcher's view: plans per task kind, learned from our history -------

PLAN_TTL_SECONDS = 300.0
MIN_HISTORY = 30
HISTORY_SIZE = 500
_plans: dict[tuple[int, str, bool, str], tuple[float, PollPlan]] = {}


def plan_for(duration: int, resolution: str, sound: bool, routing: str) -> PollPlan:
    key = (duration, resolution, sound, routing)
    cached = _plans.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PLAN_TTL_SECONDS:
        return cached[1]
    from generations.pipeline.learning import observed_generation_seconds

    scale = time_scale()
    samples = observed_generation_seconds(
        duration=duration, resolution=resolution, sound=sound, routing=routing,
        limit=HISTORY_SIZE,
    )  # fmt: skip
    if len(samples) < MIN_HISTORY:
        samples = observed_generation_seconds(duration=duration, limit=HISTORY_SIZE)
    if len(samples) < MIN_HISTORY:
        # Thin history: the documented range, plus whatever we have seen.
        samples = documented_samples(duration, scale) + samples
    plan = plan_from_samples(samples, scale)
    _plans[key] = (now, plan)
    return plan


def forget_plans() -> None:
    _plans.clear()


def next_poll_at(
    duration: int,
    submitted_at: dt.datetime | None,
    now: dt.datetime,
    *,
    resolution: str = "720p",
    sound: bool = True,
    routing: str = "auto",
) -> dt.datetime:
    plan = plan_for(duration, resolution, sound, routing)
    elapsed = (now - submitted_at).total_seconds() if submitted_at else 0.0
    delay = max(MIN_INTERVAL_SECONDS, plan.delay_after(elapsed))
    return now + dt.timedelta(seconds=delay)


def next_poll_for(
    task: GenerationTask, submitted_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    return next_poll_at(
        task.duration,
        submitted_at,
        now,
        resolution=task.resolution,
        sound=task.sound,
        routing=task.routing,
    )


def is_delayed(plan: PollPlan, elapsed: float) -> bool:
    return elapsed > plan.slowest_expected * DELAYED_FACTOR


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff, at least the provider's Retry-After."""
    cap = min(300.0, 2.0 * 2 ** min(attempt, 8))
    delay = random.uniform(0, cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(MIN_INTERVAL_SECONDS, delay)
