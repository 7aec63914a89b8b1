"""When a worker job last finished, for the overview's "Last job done".

django-q2 keeps no row for a successful job (``save_limit`` -1 in settings:
writing one, and pruning the table to its limit, cost more CPU than the job
itself). Each cluster's monitor stamps the time in the cache instead, at most
once every ``STAMP_EVERY`` seconds; failures stay in django-q2's table.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)

LAST_DONE_KEY = "seedance:jobs:last-done"
STAMP_EVERY = 5.0

_stamped_at: float | None = None


def note_job_done(
    sender: Any = None, task: dict[str, Any] | None = None, **_: Any
) -> None:
    """django-q2's ``post_execute`` receiver (runs in the cluster's monitor)."""
    global _stamped_at
    if not task or not task.get("success"):
        return
    now = time.monotonic()
    if _stamped_at is not None and now - _stamped_at < STAMP_EVERY:
        return
    _stamped_at = now
    stopped = task.get("stopped") or timezone.now()
    try:  # never let a cache hiccup stop the monitor
        cache.set(LAST_DONE_KEY, stopped.timestamp(), timeout=None)
    except Exception as exc:
        log.warning("could not note the last job done: %s", type(exc).__name__)


def last_job_done_at() -> dt.datetime | None:
    stamp = cache.get(LAST_DONE_KEY)
    if stamp is None:
        return None
    return dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC)


def connect() -> None:
    from django_q.signals import post_execute

    post_execute.connect(note_job_done, dispatch_uid="seedance-last-job-done")
