"""Tasks per day, success rate, failure codes, generation times, spend."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, Sum
from django.utils.translation import gettext

from generations.apixo import contract
from generations.credits import CAPTURED_CREDITS
from generations.models import (
    GenerationTask,
    LedgerEntry,
    State,
)
from generations.overview.census import Census
from generations.overview.common import (
    GENERATION_SAMPLE,
    TOP_MEMBERS,
    WINDOW_DAYS,
    _per_day,
    cached_history,
    day_starts,
    describe_fail_code,
)
from generations.pipeline import schedule
from generations.pipeline.learning import observed_generation_seconds

log = logging.getLogger(__name__)

# --- Tasks per day, success rate, failure codes ---------------------------------------


@dataclass(frozen=True)
class Day:
    day: dt.date
    counts: dict[str, int]  # state -> tasks created that day, by their state now

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class FailureCount:
    code: str
    count: int

    @property
    def description(self) -> str:
        return describe_fail_code(self.code) if self.code else gettext("No code given.")


@dataclass(frozen=True)
class TaskStats:
    days: list[Day]
    failures: list[FailureCount]

    def total(self, state: str) -> int:
        return sum(day.counts.get(state, 0) for day in self.days)

    @property
    def created(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def finished(self) -> int:
        return self.total(State.SUCCEEDED) + self.total(State.FAILED)

    @property
    def success_rate(self) -> float | None:
        """Succeeded of succeeded + failed (cancelled ones never ran)."""
        if not self.finished:
            return None
        return self.total(State.SUCCEEDED) / self.finished


def task_stats(
    now: dt.datetime, days: int = WINDOW_DAYS, today: Census | None = None
) -> TaskStats:
    """Tasks per day by state and failure codes; past days cached, today live
    (from ``today``, the overview's census, when given)."""
    starts = day_starts(now, days)
    past_counts, past_failures = cached_history(
        f"tasks:{starts[0].isoformat()}:{days}",
        lambda: _task_counts(starts[:-1]),
    )
    if today is None:
        today_counts, today_failures = _task_counts(starts[-2:])
    else:
        today_counts, today_failures = [today.today], today.today_failures
    counts = past_counts + today_counts
    failures = Counter(past_failures) + Counter(today_failures)
    return TaskStats(
        days=[Day(starts[i].date(), counts[i]) for i in range(days)],
        failures=[
            FailureCount(code, n)
            for code, n in sorted(
                failures.items(), key=lambda item: (-item[1], item[0])
            )
        ],
    )


def _task_counts(
    starts: list[dt.datetime],
) -> tuple[list[dict[str, int]], dict[str, int]]:
    """Per day between ``starts``: tasks by state; and failure codes overall."""
    if len(starts) < 2:
        return [], {}
    window = GenerationTask.objects.filter(
        created_at__gte=starts[0], created_at__lt=starts[-1]
    ).order_by()
    # One query: rows per (state, failure code), keyed d0, d1, ... (plain dicts
    # to the type checker).
    rows = cast(
        Iterable[dict[str, Any]],
        window.values("state", "fail_code").annotate(
            **_per_day(starts, lambda q: Count("pk", filter=q))
        ),
    )
    counts: list[dict[str, int]] = [{} for _ in starts[:-1]]
    failures: dict[str, int] = {}
    for row in rows:
        state = row["state"]
        for i, day in enumerate(counts):
            if n := row[f"d{i}"]:
                day[state] = day.get(state, 0) + n
                if state == State.FAILED:
                    failures[row["fail_code"]] = failures.get(row["fail_code"], 0) + n
    return counts, failures


# --- Generation time by duration ------------------------------------------------------


@dataclass(frozen=True)
class GenerationTime:
    duration: int
    samples: int
    median: float | None
    p95: float | None
    documented: tuple[float, float]


def generation_times(sample: int = GENERATION_SAMPLE) -> list[GenerationTime]:
    """Median and p95 of the provider's generation time, per video duration.

    The sample is the one the poll scheduler learns from: the newest finished tasks
    of that duration, timed on the provider's clock (complete - create, else costTime).
    """
    return cached_history(
        f"generation-times:{sample}", lambda: _generation_times(sample)
    )


def _generation_times(sample: int) -> list[GenerationTime]:
    result = []
    for duration in contract.DURATIONS:
        ordered = sorted(observed_generation_seconds(duration=duration, limit=sample))
        result.append(
            GenerationTime(
                duration=duration,
                samples=len(ordered),
                median=schedule.quantile(ordered, 0.5) if ordered else None,
                p95=schedule.quantile(ordered, 0.95) if ordered else None,
                documented=contract.GENERATION_SECONDS[duration],
            )
        )
    return result


# --- Credits spent --------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSpend:
    username: str
    credits: int
    videos: int


@dataclass(frozen=True)
class SpendStats:
    days: list[tuple[dt.date, int]]
    members: list[MemberSpend]

    @property
    def total(self) -> int:
        return sum(credits for _, credits in self.days)


def spend_stats(
    now: dt.datetime, days: int = WINDOW_DAYS, top: int = TOP_MEMBERS
) -> SpendStats:
    """Credits captured (videos delivered) per day and per member.

    A capture moves no balance (the hold already did); what it makes final is the
    task's cost, which is the amount its hold took.
    """
    starts = day_starts(now, days)
    # Past days never change: ledger rows are append-only and stamped when written.
    past = cached_history(
        f"spend:{starts[0].isoformat()}:{days}", lambda: _captures(starts[:-1])
    )
    today = _captures(starts[-2:])
    per_day = [0] * days
    members: dict[str, list[int]] = {}
    for offset, block in ((0, past), (days - 1, today)):
        for username, (credits, videos, daily) in block.items():
            totals = members.setdefault(username, [0, 0])
            totals[0] += credits
            totals[1] += videos
            for i, value in enumerate(daily):
                per_day[offset + i] += value
    ranked = sorted(members.items(), key=lambda item: (-item[1][0], item[0]))
    return SpendStats(
        days=[(starts[i].date(), per_day[i]) for i in range(days)],
        members=[MemberSpend(name, c, v) for name, (c, v) in ranked[:top]],
    )


def _captures(starts: list[dt.datetime]) -> dict[str, tuple[int, int, list[int]]]:
    """Per member: credits captured, videos, and credits per day between ``starts``."""
    if len(starts) < 2:
        return {}
    rows = cast(
        Iterable[dict[str, Any]],
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.CAPTURE,
            created_at__gte=starts[0],
            created_at__lt=starts[-1],
        )
        .order_by()
        .values("account__user__username")
        .annotate(
            credits=Sum(CAPTURED_CREDITS),
            videos=Count("pk"),
            **_per_day(starts, lambda q: Sum(CAPTURED_CREDITS, filter=q)),
        ),
    )
    return {
        row["account__user__username"]: (
            int(row["credits"] or 0),
            row["videos"],
            [int(row[f"d{i}"] or 0) for i in range(len(starts) - 1)],
        )
        for row in rows
    }
