"""One read of the tasks table for the overview's live numbers.

Tasks in flight (by state, the kinds of polled ones the delayed check needs, and
the downloads waiting for a full media disk) and today's tasks (by state, and
failure codes) come from one grouped query over
two index ranges: the states in flight, and today's creation times. Past days
are history (``history.py``, cached); nothing here reads the whole table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count, Value

from generations.models import IN_FLIGHT_STATES, POLLED_STATES, GenerationTask, State
from generations.overview.common import day_starts
from generations.pipeline import download

# (duration, resolution, sound, routing) of a task at the provider.
Kind = tuple[int, str, bool, str]


@dataclass(frozen=True)
class Census:
    in_flight: dict[str, int]  # state -> tasks, every non-terminal state
    polled_kinds: list[Kind]  # kinds of the tasks in POLLED_STATES
    today: dict[str, int]  # state -> tasks created today
    today_failures: dict[str, int] = field(default_factory=dict)  # code -> failed
    # Downloads waiting because the media storage is full (they are in flight).
    storage_full: int = 0


def census(now: dt.datetime) -> Census:
    start, end = day_starts(now)[-2:]
    keys = ("state", "fail_code", "duration", "resolution", "sound", "routing")
    tasks = GenerationTask.objects.order_by()
    # Two halves, each read through its own index (an OR of the two in one WHERE
    # would read the whole table): tasks in flight, and tasks created today.
    # The storage-full downloads are in flight: counted within the first half
    # (download.waiting_for_storage_q), not by a query of their own.
    moving = (
        tasks.filter(state__in=IN_FLIGHT_STATES)
        .values(*keys)
        .annotate(
            moving=Count("pk"),
            new=Value(0),
            storage_full=Count("pk", filter=download.waiting_for_storage_q()),
        )
    )
    new = (
        tasks.filter(created_at__gte=start, created_at__lt=end)
        .values(*keys)
        .annotate(moving=Value(0), new=Count("pk"), storage_full=Value(0))
    )
    rows = cast(Iterable[dict[str, Any]], moving.union(new, all=True).order_by())
    in_flight: dict[str, int] = {}
    kinds: set[Kind] = set()
    today: dict[str, int] = {}
    failures: dict[str, int] = {}
    storage_full = 0
    for row in rows:
        state = row["state"]
        storage_full += row["storage_full"]
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
        storage_full=storage_full,
    )
