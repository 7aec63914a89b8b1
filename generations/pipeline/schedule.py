"""When to read a task's status next: a read plan learned from generation times.

A ``PollPlan`` is a list of read times (seconds after submission) planned from a
sample of generation times for tasks like this one: same duration, resolution,
sound and routing, or the same duration while history is thin, or the provider's
documented ranges before there is any. Past its last read (slower than anything
seen) reads back off geometrically, with jitter, up to a cap.

The plan is the cheapest one whose detection lag (provider finished -> we know)
stays under a target for all but a few percent of the sample. The target grows
with the spread of the finish time, between 4.5 s and 10 s: a wide, uncertain
window costs many reads at a tight lag, a narrow one few. Nothing here knows which
workload it serves; the benchmark (``bench_polling``) runs these same functions.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
import random
import time
from collections.abc import Callable, Sequence
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
TAIL_GROWTH = 1.5
MAX_INTERVAL_SECONDS = 60.0
# A task running past this multiple of the slowest expected time is "delayed".
DELAYED_FACTOR = 1.5


def time_scale() -> float:
    """How much faster than the real provider the configured one runs."""
    if settings.SIMULATOR_ENABLED:
        return max(1.0, float(settings.SIMULATOR_SPEED))
    return 1.0


def min_interval() -> float:
    """The shortest wait between two reads of one task (at the provider's pace)."""
    return max(0.05, MIN_INTERVAL_SECONDS / time_scale())


@dataclass(frozen=True)
class PollPlan:
    offsets: tuple[float, ...]  # planned reads, seconds after submission
    lag_target: float
    max_interval: float
    expected_calls: float
    expected_lag_p95: float

    @property
    def slowest_expected(self) -> float:
        return self.offsets[-1]

    def delay_after(self, elapsed: float, rng: random.Random | None = None) -> float:
        """Seconds from now to the next read, ``elapsed`` since submission."""
        delay = self._plain_delay(elapsed)
        if elapsed >= self.offsets[-1]:
            # Past every plan: spread the slow tasks' reads out with jitter.
            delay *= (rng or random).uniform(0.85, 1.15)
        return delay

    def poll_times(self, until: float) -> list[float]:
        """Every read up to and including the first at or after ``until``."""
        times = [self.offsets[0]]
        while times[-1] < until:
            times.append(times[-1] + self._plain_delay(times[-1]))
        return times

    def _plain_delay(self, elapsed: float) -> float:
        index = bisect.bisect_right(self.offsets, elapsed + 1e-3)
        if index < len(self.offsets):
            return self.offsets[index] - elapsed
        # Slower than anything planned for: back off geometrically, capped.
        over = elapsed - self.offsets[-1]
        grown = self.lag_target * TAIL_GROWTH + over * (TAIL_GROWTH - 1)
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
    """Mean reads per task and p95 detection lag of a read schedule on a sample."""
    calls = 0
    lags = []
    for finish in ordered:
        index = bisect.bisect_left(plan_times, finish)
        calls += index + 1
        lags.append(plan_times[index] - finish)
    lags.sort()
    return calls / len(ordered), quantile(lags, 0.95)


def plan_from_samples(samples: Sequence[float], scale: float = 1.0) -> PollPlan:
    """The read schedule with the fewest reads that keeps the lag target.

    Starts from reads every half target across the sample and greedily drops the
    read that saves the most reads per task pushed past the lag target, while at
    most ``1 - PLAN_LAG_QUANTILE`` of the sample ends up past it. Dropping a read
    saves one read for every task still running then, and can only lengthen the
    lag of the tasks that finish just before it.
    """
    raw = sorted(s for s in samples if s > 0 and math.isfinite(s))
    if len(raw) < 5:
        raise ValueError("too few samples to plan polling")
    target = lag_target(raw, scale)
    ordered = smoothed(raw)
    step = max(MIN_INTERVAL_SECONDS / scale, target / 2)
    reads = [
        ordered[0] + step * k for k in range(int((ordered[-1] - ordered[0]) / step) + 2)
    ]
    kept = _GreedyPlanner(ordered, reads, target).run(
        budget=int((1 - PLAN_LAG_QUANTILE) * len(ordered))
    )
    calls, lag95 = evaluate(kept, ordered)
    return PollPlan(
        offsets=tuple(kept),
        lag_target=target,
        max_interval=max(MAX_INTERVAL_SECONDS / scale, target),
        expected_calls=calls,
        expected_lag_p95=lag95,
    )


SMOOTHING_COPIES = 5
SMOOTHING_BANDWIDTH = 0.3  # times Silverman's rule of thumb


def smoothed(ordered: list[float]) -> list[float]:
    """A kernel-smoothed resample of a sorted sample (Silverman's bandwidth).

    Planning on the raw points would place reads in the gaps between them, gaps
    that the next tasks fill; each point is spread over its neighbourhood instead.
    The resample is deterministic for a given sample.
    """
    n = len(ordered)
    mean = sum(ordered) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in ordered) / max(1, n - 1))
    iqr = quantile(ordered, 0.75) - quantile(ordered, 0.25)
    spread = min(sd, iqr / 1.34) if iqr > 0 else sd
    bandwidth = SMOOTHING_BANDWIDTH * 0.9 * spread * n ** (-0.2)
    rng = random.Random(n)
    copies = [
        max(ordered[0], x + rng.gauss(0.0, bandwidth))
        for x in ordered
        for _ in range(SMOOTHING_COPIES)
    ]
    return sorted(copies)


class _GreedyPlanner:
    def __init__(self, ordered: list[float], reads: list[float], target: float) -> None:
        self.ordered = ordered
        self.reads = reads
        self.target = target
        self.prev = [i - 1 for i in range(len(reads))]
        self.next = [i + 1 for i in range(len(reads))]
        self.alive = [True] * len(reads)
        self.version = [0] * len(reads)

    def _count(self, low: float, high: float) -> int:
        """Samples in (low, high]."""
        if high <= low:
            return 0
        return bisect.bisect_right(self.ordered, high) - bisect.bisect_right(
            self.ordered, low
        )

    def _late(self, low: float, high: float, read: float) -> int:
        """Samples in (low, high] detected at ``read`` later than the target."""
        return self._count(low, min(high, read - self.target - 1e-9))

    def _cost(self, i: int) -> tuple[int, int]:
        """(reads saved, tasks newly past the target) if read ``i`` is dropped."""
        low = self.reads[self.prev[i]] if self.prev[i] >= 0 else -math.inf
        here, after = self.reads[i], self.reads[self.next[i]]
        saved = len(self.ordered) - bisect.bisect_right(self.ordered, here)
        worse = self._late(low, here, after) - self._late(low, here, here)
        return saved, worse

    def _push(self, heap: list[tuple[float, int, int]], i: int) -> None:
        if i < 0 or i >= len(self.reads) - 1 or not self.alive[i]:
            return  # the last read stays: every sample must be detected
        self.version[i] += 1
        saved, worse = self._cost(i)
        # Reads whose loss costs no lag go first; then most reads saved per task
        # pushed past the target.
        free = saved == 0 and worse == 0
        priority = -math.inf if free else -saved / (worse + 0.25)
        heapq.heappush(heap, (priority, self.version[i], i))

    def run(self, budget: int) -> list[float]:
        heap: list[tuple[float, int, int]] = []
        for i in range(len(self.reads) - 1):
            self._push(heap, i)
        while heap:
            _, version, i = heapq.heappop(heap)
            if not self.alive[i] or version != self.version[i]:
                continue
            saved, worse = self._cost(i)
            if worse > budget:
                continue
            budget -= worse
            self.alive[i] = False
            before, after = self.prev[i], self.next[i]
            if before >= 0:
                self.next[before] = after
            self.prev[after] = before
            self._push(heap, before)
            self._push(heap, after)
        return [
            read for read, alive in zip(self.reads, self.alive, strict=True) if alive
        ]


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
POOLED_HISTORY_SIZE = 1500
_plans: dict[tuple[int, str, bool, str], tuple[float, PollPlan]] = {}


def plan_for(duration: int, resolution: str, sound: bool, routing: str) -> PollPlan:
    key = (duration, resolution, sound, routing)
    cached = _plans.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PLAN_TTL_SECONDS:
        return cached[1]
    from generations.pipeline.learning import observed_generation_seconds

    scale = time_scale()
    samples = choose_samples(
        duration,
        same_kind=observed_generation_seconds(
            duration=duration, resolution=resolution, sound=sound, routing=routing,
            limit=HISTORY_SIZE,
        ),
        same_duration=lambda: observed_generation_seconds(
            duration=duration, limit=HISTORY_SIZE
        ),
        any_duration=lambda: observed_generation_seconds(limit=POOLED_HISTORY_SIZE),
        scale=scale,
    )  # fmt: skip
    plan = plan_from_samples(samples, scale)
    _plans[key] = (now, plan)
    return plan


def choose_samples(
    duration: int,
    *,
    same_kind: list[float],
    same_duration: Callable[[], list[float]],
    any_duration: Callable[[], list[float]],
    scale: float,
) -> list[float]:
    """History of the same kind of task, else of the same duration, else the prior.

    While history is thin the documented range is mixed with what we have seen.
    When tasks of every duration are indistinguishable from this kind (a
    two-sample Kolmogorov-Smirnov test at 5 %), their larger pool is used: it
    estimates the rare slow tail far better than a few hundred tasks do.
    """
    if len(same_kind) >= MIN_HISTORY:
        chosen = same_kind
    else:
        chosen = same_duration()
        if len(chosen) < MIN_HISTORY:
            return documented_samples(duration, scale) + chosen
    pooled = any_duration()
    if len(pooled) > len(chosen) and same_distribution(chosen, pooled):
        return pooled
    return chosen


def same_distribution(a: Sequence[float], b: Sequence[float]) -> bool:
    """Two-sample Kolmogorov-Smirnov test: no evidence of a difference at 5 %."""
    xs, ys = sorted(a), sorted(b)
    n, m = len(xs), len(ys)
    i = j = 0
    largest = 0.0
    while i < n and j < m:
        value = min(xs[i], ys[j])
        while i < n and xs[i] == value:
            i += 1
        while j < m and ys[j] == value:
            j += 1
        largest = max(largest, abs(i / n - j / m))
    critical = 1.358 * math.sqrt((n + m) / (n * m))
    return largest <= critical


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
    delay = max(min_interval(), plan.delay_after(elapsed))
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
    """Full-jitter exponential backoff, at least the provider's Retry-After.

    The jitter part runs at the provider's pace (faster for a sped-up simulator);
    a Retry-After is in real seconds and is honoured as given.
    """
    cap = min(300.0, 2.0 * 2 ** min(attempt, 8)) / time_scale()
    delay = random.uniform(0, cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(min_interval(), delay)
