"""Shared constants and helpers of the overview: the time window, the cache."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from generations.models.tasks import describe_failure

log = logging.getLogger(__name__)


WINDOW_DAYS = 14
# Below this many USD left at the provider the overview warns (no setting needed;
# PROVIDER_LOW_BALANCE_USD overrides it).
LOW_BALANCE_USD = 20.0
BALANCE_CACHE_KEY = "seedance:overview:provider-balance"
# A worker reads the balance every minute; a reading this old means none does.
BALANCE_CACHE_SECONDS = 600
# Past days and the generation-time sample are recomputed at most this often:
# scanning two weeks of 100,000 tasks on every 10-second refresh is wasted work.
# Today's numbers, work in flight and the attention list are always live.
HISTORY_CACHE_SECONDS = 600
# The same sample the poll scheduler learns from (pipeline.learning).
GENERATION_SAMPLE = 500
DOWNLOAD_FAILING_ATTEMPTS = 2
ATTENTION_ROWS = 8
FAILURE_CODES_SHOWN = 6
TOP_MEMBERS = 10


# Failure codes of our own (the provider's are described in the contract).
def describe_fail_code(code: str) -> str:
    return describe_failure(code)


# --- Time window ----------------------------------------------------------------------


def cached_history[T](key: str, compute: Callable[[], T]) -> T:
    """History that changes slowly, computed at most every HISTORY_CACHE_SECONDS.

    Keys name the first day of the window, so a new day starts a new entry.
    """
    full_key = f"seedance:overview:{timezone.get_current_timezone_name()}:{key}"
    value: T | None = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, HISTORY_CACHE_SECONDS)
    return value


def day_starts(now: dt.datetime, days: int = WINDOW_DAYS) -> list[dt.datetime]:
    """Midnights (current time zone) from ``days - 1`` days ago to tomorrow."""
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    return [
        dt.datetime.combine(today - dt.timedelta(days=days - 1 - i), dt.time(), tz)
        for i in range(days + 1)
    ]


def _per_day(
    starts: list[dt.datetime], make: Callable[[Q], Any], on: str = "created_at"
) -> dict[str, Any]:
    """One conditional aggregate per day, keyed d0, d1, ..."""
    return {
        f"d{i}": make(Q(**{f"{on}__gte": start, f"{on}__lt": starts[i + 1]}))
        for i, start in enumerate(starts[:-1])
    }


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    return _seconds((now - moment).total_seconds())


def _seconds(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return gettext("%(seconds)s s") % {"seconds": seconds}
    if seconds < 7200:
        return gettext("%(minutes)s min") % {"minutes": seconds // 60}
    if seconds < 2 * 86400:
        return gettext("%(hours)s h %(minutes)s min") % {
            "hours": seconds // 3600,
            "minutes": f"{seconds % 3600 // 60:02d}",
        }
    days = seconds // 86400
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}
