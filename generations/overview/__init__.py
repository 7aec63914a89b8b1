"""The staff overview as numbers: tasks, spend, provider usage, health, attention.

Each function reads the database (or the cache) and returns plain data for the
overview page and its tests. None reaches the provider: a worker reads the balance
every minute (``refresh_provider_balance``, a django-q2 schedule) into the cache,
and ``provider_balance`` reads only the cache.

Days are calendar days of the current time zone; a task counts on the day it was
created, in the state it is in now. Queries are written to stay cheap with 100,000
tasks: per-day numbers are conditional aggregates over one range scan (no per-row
date functions, which SQLite runs in Python), and lists are bounded.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone

from generations.overview.attention import (
    ATTENTION_KINDS,
    Attention,
    AttentionItem,
    attention,
    delayed_after,
    delayed_q,
)
from generations.overview.census import Census, census
from generations.overview.common import (
    ATTENTION_ROWS,
    BALANCE_CACHE_KEY,
    BALANCE_CACHE_SECONDS,
    DOWNLOAD_FAILING_ATTEMPTS,
    FAILURE_CODES_SHOWN,
    GENERATION_SAMPLE,
    HISTORY_CACHE_SECONDS,
    LOW_BALANCE_USD,
    TOP_MEMBERS,
    WINDOW_DAYS,
    cached_history,
    day_starts,
    describe_fail_code,
)
from generations.overview.history import (
    Day,
    FailureCount,
    GenerationTime,
    MemberSpend,
    SpendStats,
    TaskStats,
    generation_times,
    spend_stats,
    task_stats,
)
from generations.overview.live import (
    Balance,
    Cluster,
    Health,
    Usage,
    dispatcher_stale_after,
    forget_balance,
    health,
    low_balance_threshold,
    provider_balance,
    refresh_provider_balance,
    requests_last_minute,
    usage,
)

log = logging.getLogger(__name__)

__all__ = [
    "ATTENTION_KINDS",
    "ATTENTION_ROWS",
    "Attention",
    "AttentionItem",
    "BALANCE_CACHE_KEY",
    "BALANCE_CACHE_SECONDS",
    "Balance",
    "Census",
    "Cluster",
    "DOWNLOAD_FAILING_ATTEMPTS",
    "Day",
    "FAILURE_CODES_SHOWN",
    "FailureCount",
    "GENERATION_SAMPLE",
    "GenerationTime",
    "HISTORY_CACHE_SECONDS",
    "Health",
    "LOW_BALANCE_USD",
    "MemberSpend",
    "Overview",
    "SpendStats",
    "TOP_MEMBERS",
    "TaskStats",
    "Usage",
    "WINDOW_DAYS",
    "attention",
    "cached_history",
    "census",
    "day_starts",
    "delayed_after",
    "delayed_q",
    "describe_fail_code",
    "dispatcher_stale_after",
    "forget_balance",
    "generation_times",
    "health",
    "low_balance_threshold",
    "overview",
    "provider_balance",
    "refresh_provider_balance",
    "requests_last_minute",
    "spend_stats",
    "task_stats",
    "usage",
]

# --- Everything at once ---------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    now: dt.datetime
    tasks: TaskStats
    times: list[GenerationTime]
    spend: SpendStats
    usage: Usage
    balance: Balance
    health: Health
    attention: Attention
    # Downloads waiting because the media storage is full (an alert while > 0).
    storage_full: int


def overview(now: dt.datetime | None = None) -> Overview:
    now = now or timezone.now()
    counted = census(now)  # the live task numbers, read once for all panels
    return Overview(
        now=now,
        tasks=task_stats(now, today=counted),
        times=generation_times(),
        spend=spend_stats(now),
        usage=usage(now, counted),
        balance=provider_balance(),
        health=health(now),
        attention=attention(now, polled_kinds=counted.polled_kinds),
        storage_full=counted.storage_full,
    )
