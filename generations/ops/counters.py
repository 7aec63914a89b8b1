"""Monotonic counters shared by every process (web, workers, dispatcher).

Prometheus scrapes one web process, but provider requests happen in the workers:
a per-process counter would show only a fraction of them. So the counts live in
Redis (``HINCRBY``) when ``REDIS_URL`` is set, else in database rows incremented
with a conditional UPDATE (atomic on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from generations.models import OpsCounter


@functools.cache
def redis_client(url: str) -> Any:
    """One client (and connection pool) per address for the process."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


def redis_key() -> str:
    """One hash per database, so deployments sharing a Redis count apart."""
    db = connection.settings_dict
    return f"seedance:ops:counters:{db['ENGINE']}:{db.get('HOST', '')}:{db['NAME']}"


def incr(name: str, amount: int = 1) -> None:
    if settings.REDIS_URL:
        redis_client(settings.REDIS_URL).hincrby(redis_key(), name, amount)
        return
    if OpsCounter.objects.filter(name=name).update(value=F("value") + amount):
        return
    try:
        with transaction.atomic():
            OpsCounter.objects.create(name=name, value=amount)
    except IntegrityError:  # a racer created it first
        OpsCounter.objects.filter(name=name).update(value=F("value") + amount)


def values(prefix: str = "") -> dict[str, int]:
    if settings.REDIS_URL:
        raw: dict[Any, Any] = redis_client(settings.REDIS_URL).hgetall(redis_key())
        found = {
            (k.decode() if isinstance(k, bytes) else str(k)): int(v)
            for k, v in raw.items()
        }
        return {k: v for k, v in found.items() if k.startswith(prefix)}
    return dict(
        OpsCounter.objects.filter(name__startswith=prefix).values_list("name", "value")
    )
