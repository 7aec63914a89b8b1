"""One active dispatcher at a time: a lease that a standby takes over.

Several ``run_dispatcher`` processes may run (one per node, say); only the holder
of the lease dispatches. The lease lives in a database row (compare-and-set on the
database's own clock) or, when ``REDIS_URL`` is set, in a Redis key
(``SET NX PX`` + a checked ``PEXPIRE``). The holder renews it every loop; when the
holder dies (even by ``kill -9``) the lease simply runs out and a standby takes it.

Never two active at once: a holder believes it leads only until
``renewal sent + ttl - margin`` on its own monotonic clock. The store measures the
same ttl from a later instant (when the renewal arrived), so the holder stops
trusting its lease before any standby can take it, even if it cannot reach the
store to learn that it lost it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, ExpressionWrapper, F, Q, When
from django.db.models.functions import Now

from generations.models import DispatcherLease

log = logging.getLogger(__name__)

LEASE_NAME = "dispatcher"


def lease_seconds() -> float:
    return float(getattr(settings, "DISPATCHER_LEASE_SECONDS", 5.0))


def new_holder_id() -> str:
    """Names this process in the lease: host, pid, and a nonce against pid reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class LeaseStore(Protocol):
    def acquire_or_renew(self, holder: str, ttl: float) -> bool: ...

    def release(self, holder: str) -> None: ...

    def current_holder(self) -> str | None: ...


class DatabaseLeaseStore:
    """The lease as a row; every time comparison uses the database's clock."""

    def __init__(self, name: str = LEASE_NAME) -> None:
        self.name = name

    def acquire_or_renew(self, holder: str, ttl: float) -> bool:
        until = ExpressionWrapper(
            Now() + dt.timedelta(seconds=ttl), output_field=models.DateTimeField()
        )
        # Compare-and-set: ours to renew, or free (released or run out) to take.
        updated = (
            DispatcherLease.objects.filter(name=self.name)
            .filter(Q(holder=holder) | Q(holder="") | Q(expires_at__lt=Now()))
            .update(
                holder=holder,
                expires_at=until,
                renewed_at=Now(),
                # A new term starts when the lease changes hands.
                acquired_at=Case(
                    When(holder=holder, then=F("acquired_at")), default=Now()
                ),
            )
        )
        if updated:
            return True
        if DispatcherLease.objects.filter(name=self.name).exists():
            return False
        try:
            with transaction.atomic():
                DispatcherLease.objects.create(
                    name=self.name,
                    holder=holder,
                    expires_at=until,
                    acquired_at=Now(),
                    renewed_at=Now(),
                )
        except IntegrityError:
            return False  # another dispatcher created it first
        return True

    def release(self, holder: str) -> None:
        DispatcherLease.objects.filter(name=self.name, holder=holder).update(
            holder="", expires_at=Now(), acquired_at=None
        )

    def current_holder(self) -> str | None:
        holder: str | None = (
            DispatcherLease.objects.filter(name=self.name, expires_at__gte=Now())
            .exclude(holder="")
            .values_list("holder", flat=True)
            .first()
        )
        return holder


# Renew only our own key: a holder whose key expired (and was taken) must not
# extend someone else's lease.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLeaseStore:
    """The lease as a Redis key with a ttl, kept by Redis's clock."""

    def __init__(self, url: str, key: str) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.key = key

    def acquire_or_renew(self, holder: str, ttl: float) -> bool:
        ms = max(1, int(ttl * 1000))
        if self.client.set(self.key, holder, nx=True, px=ms):
            return True
        renewed: Any = self.client.eval(_RENEW, 1, self.key, holder, ms)
        return bool(renewed)

    def release(self, holder: str) -> None:
        self.client.eval(_RELEASE, 1, self.key, holder)

    def current_holder(self) -> str | None:
        value: Any = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


def redis_key() -> str:
    """One key per database, so deployments (and test runs) sharing a Redis
    elect their dispatchers separately."""
    configured = getattr(settings, "DISPATCHER_LOCK_KEY", "")
    if configured:
        return str(configured)
    db = connection.settings_dict
    return (
        f"seedance:dispatcher:leader:{db['ENGINE']}:{db.get('HOST', '')}:{db['NAME']}"
    )


def default_store() -> LeaseStore:
    if settings.REDIS_URL:
        return RedisLeaseStore(settings.REDIS_URL, redis_key())
    return DatabaseLeaseStore()


class Leadership:
    """This process's view of the lease: ``ensure()`` every loop, then act only
    while ``is_leader()``."""

    def __init__(
        self,
        store: LeaseStore | None = None,
        *,
        holder: str | None = None,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store or default_store()
        self.holder = holder or new_holder_id()
        self.ttl = ttl if ttl is not None else lease_seconds()
        # Stop trusting the lease a little before the store lets it go.
        self.margin = min(1.0, self.ttl / 4)
        self.clock = clock
        self.valid_until = 0.0

    def ensure(self) -> bool:
        """Take or renew the lease. Store errors leave the lease to run out."""
        sent = self.clock()
        try:
            held = self.store.acquire_or_renew(self.holder, self.ttl)
        except Exception as exc:  # any store failure: we cannot know, so we wait
            log.warning(
                "cannot reach the lease store (%s); the lease runs out in %.1f s",
                type(exc).__name__,
                max(0.0, self.valid_until - self.clock()),
            )
            return self.is_leader()
        self.valid_until = sent + self.ttl - self.margin if held else 0.0
        return held

    def is_leader(self) -> bool:
        return self.clock() < self.valid_until

    def release(self) -> None:
        self.valid_until = 0.0
        try:
            self.store.release(self.holder)
        except Exception as exc:  # the lease runs out on its own
            log.warning("could not release the lease: %s", type(exc).__name__)


def current_holder(store: LeaseStore | None = None) -> str | None:
    """Who holds the dispatcher lease now (for tests and oversight)."""
    return (store or default_store()).current_holder()
