"""One read of the tasks table for the overview's live numbers.

Tasks in flight (by state, and the kinds of polled ones the delayed check needs)
and today's tasks (by state, and failure codes) come from one grouped query over
two index ranges: the states in flight, and today's creation times. Past days
are history (``history.py``, cached); nothing here reads the whole table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count, Q

from generations.models import IN_FLIGHT_STATES, POLLED_STATES, GenerationTask, State
from generations.overview.common import day_starts

# (duration, resolution, sound, routing) of a task at the provider.
Kind = tuple[int, str, bool, str]


@dataclass(frozen=True)
class Census:
    in_flight: dict[str, int]  # state -> tasks, every non-terminal state
    polled_kinds: list[Kind]  # kinds of the tasks in POLLED_STATES
    today: dict[str, int]  # state -> tasks created today
    today_failures: dict[str, int] = field(default_factory=dict)  # code -> failed


def census(now: dt.datetime) -> Census:
    start, end = day_starts(now)[-2:]
    in_flight_q = Q(state__in=IN_FLIGHT_STATES)
    today_q = Q(created_at__gte=start, created_at__lt=end)
    rows = cast(
        Iterable[dict[str, Any]],
        GenerationTask.objects.filter(in_flight_q | today_q)
        .order_by()
        .values("state", "fail_code", "duration", "resolution", "sound", "routing")
        .annotate(
            moving=Count("pk", filter=in_flight_q), new=Count("pk", filter=today_q)
        ),
    )
    in_flight: dict[str, int] = {}
    kinds: set[Kind] = set()
    today: dict[str, int] = {}
    failures: dict[str, int] = {}
    for row in rows:
        state = row["state"]
        if row["moving"]:
            in_flight[state] = in_flight.get(state, 0) + row["moving"]
            if state in POLLED_STATES:
                kinds.add(
                    (row["duration"], row["resolution"], row["sound"], row["routing"])
                )
        if row["new"]:
            today[state] = today.get(state, 0) + row["new"]
            if state == State.FAILED:
                code = row["fail_code"]
                failures[code] = failures.get(code, 0) + row["new"]
    return Census(
        in_flight=in_flight,
        polled_kinds=sorted(kinds),
        today=today,
        today_failures=failures,
    )
