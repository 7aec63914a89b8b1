"""One active dispatcher: the lease (database row or Redis key), and real
dispatcher processes handing over after a kill -9 with no task lost."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings

from generations.models import GenerationTask, State
from generations.pipeline import leader
from tests.factories import queue_task
from tests.processes import Stack, wait_until
from tests.sim import assert_books_balance

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except Exception:
        return False


StoreFactory = Callable[[], leader.LeaseStore]


@pytest.fixture(params=["database", "redis"])
def make_store(request: pytest.FixtureRequest, db: Any) -> Iterator[StoreFactory]:
    if request.param == "database":
        name = f"test-{secrets.token_hex(4)}"
        yield lambda: leader.DatabaseLeaseStore(name)
        return
    url = settings.REDIS_URL or REDIS_URL
    if not redis_available() and not settings.REDIS_URL:
        pytest.skip("no Redis on 127.0.0.1:6379")
    key = f"seedance:test:leader:{secrets.token_hex(6)}"
    yield lambda: leader.RedisLeaseStore(url, key)
    leader.RedisLeaseStore(url, key).client.delete(key)


def test_it_gives_the_lease_to_one_holder_at_a_time(make_store: StoreFactory) -> None:
    a = leader.Leadership(make_store(), holder="a", ttl=5)
    b = leader.Leadership(make_store(), holder="b", ttl=5)
    assert a.ensure()
    assert not b.ensure()
    assert a.ensure()  # renewing keeps it
    assert a.is_leader() and not b.is_leader()
    assert leader.current_holder(make_store()) == "a"


def test_it_hands_over_when_the_lease_runs_out(make_store: StoreFactory) -> None:
    a = leader.Leadership(make_store(), holder="a", ttl=0.4)
    b = leader.Leadership(make_store(), holder="b", ttl=0.4)
    assert a.ensure()
    assert not b.ensure()
    time.sleep(0.5)  # a died: it renews no more
    assert not a.is_leader()
    assert b.ensure()
    assert not a.ensure()  # a came back: it is a standby now
    assert leader.current_holder(make_store()) == "b"


def test_it_hands_over_at_once_when_released(make_store: StoreFactory) -> None:
    a = leader.Leadership(make_store(), holder="a", ttl=30)
    b = leader.Leadership(make_store(), holder="b", ttl=30)
    assert a.ensure()
    a.release()
    assert not a.is_leader()
    assert b.ensure()
    a.release()  # releasing a lease someone else holds changes nothing
    assert leader.current_holder(make_store()) == "b"


class FlakyStore:
    def __init__(self) -> None:
        self.down = False

    def acquire_or_renew(self, holder: str, ttl: float) -> bool:
        if self.down:
            raise ConnectionError("store unreachable")
        return True

    def release(self, holder: str) -> None:
        raise ConnectionError("store unreachable")

    def current_holder(self) -> str | None:
        return None


def test_it_stops_leading_before_the_lease_can_pass_to_another() -> None:
    now = [100.0]
    store = FlakyStore()
    lease = leader.Leadership(store, holder="a", ttl=5, clock=lambda: now[0])
    assert lease.ensure()
    store.down = True
    now[0] += 3.0
    assert lease.ensure()  # unreachable, but the lease is still surely ours
    now[0] += 1.0  # 4 s after the renewal was sent: within the 1 s margin
    assert not lease.ensure()
    assert not lease.is_leader()
    lease.release()  # an unreachable store on release is only logged


@pytest.mark.django_db
def test_it_takes_the_database_lease_over_from_an_expired_holder() -> None:
    store = leader.DatabaseLeaseStore("expired")
    assert store.acquire_or_renew("a", 5)
    first = leader.DispatcherLease.objects.get(name="expired")
    assert first.acquired_at is not None
    leader.DispatcherLease.objects.filter(name="expired").update(
        expires_at=first.expires_at - dt.timedelta(seconds=10)
    )
    assert store.acquire_or_renew("b", 5)
    row = leader.DispatcherLease.objects.get(name="expired")
    assert row.holder == "b"
    assert row.acquired_at is not None and row.acquired_at >= first.acquired_at


# --- Real processes ---------------------------------------------------------------

ACTIVE = re.compile(
    r"^(\S+ \S+) INFO generations.dispatcher: dispatcher (\S+) is now the active",
    re.M,
)


def holder_pid() -> int | None:
    holder = leader.current_holder()
    return int(holder.split(":")[1]) if holder else None


def became_active_at(log: str) -> list[dt.datetime]:
    return [
        dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")
        for stamp, _ in ACTIVE.findall(log)
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_hands_over_to_the_standby_after_a_kill_9(stack: Stack, alice: Any) -> None:
    stack.start_simulator()
    stack.start("dispatcher-a", "run_dispatcher")
    a_pid = stack.procs["dispatcher-a"].pid
    wait_until(lambda: holder_pid() == a_pid, 30, "dispatcher a to lead")
    stack.start("dispatcher-b", "run_dispatcher")
    stack.start_workers()
    wait_until(lambda: "on standby" in stack.log("dispatcher-b"), 30, "b on standby")
    slow = "tide pools at dusk, waves rolling in [sim:time=200]"
    before = [queue_task(alice, prompt=f"{slow} {n}") for n in range(3)]
    wait_until(
        lambda: (
            GenerationTask.objects.filter(
                state__in=[State.WAITING, State.GENERATING]
            ).count()
            == 3
        ),
        40,
        "a's tasks at the provider",
    )
    assert holder_pid() == a_pid

    killed_at = dt.datetime.now()
    killed = time.monotonic()
    stack.kill("dispatcher-a")
    b_pid = stack.procs["dispatcher-b"].pid
    wait_until(lambda: holder_pid() == b_pid, 15, "dispatcher b to take over")
    takeover = time.monotonic() - killed
    after = [queue_task(alice, prompt=f"lanterns on a river {n}") for n in range(3)]

    wait_until(
        lambda: GenerationTask.objects.filter(state=State.SUCCEEDED).count() == 6,
        90,
        "every task to succeed",
    )
    assert_books_balance()
    stats = stack.sim_stats()
    assert stats.get("data", stats)["tasks_created"] == 6  # none sent twice
    assert len(before) + len(after) == GenerationTask.objects.count()
    # Never two active: b led only after a was killed, and only once.
    b_terms = became_active_at(stack.log("dispatcher-b"))
    assert len(b_terms) == 1, stack.log("dispatcher-b")
    assert b_terms[0] >= killed_at - dt.timedelta(milliseconds=50)
    assert len(became_active_at(stack.log("dispatcher-a"))) == 1
    lease = leader.lease_seconds()
    assert takeover < lease + 3, f"took {takeover:.1f} s with a {lease} s lease"
    print(f"standby took over {takeover:.1f} s after kill -9 (lease {lease} s)")


def test_the_dispatcher_loop_survives_a_failed_pass(db: Any, monkeypatch: Any) -> None:
    """Redis restarting (cache, broker) fails a pass; the loop goes on."""
    import redis

    from generations.management.commands import run_dispatcher

    passes: list[int] = []
    checks = iter(range(1000))

    def calls() -> int:  # a bound, so a regression fails instead of hanging
        return next(checks)

    def flaky(*args: Any, **kwargs: Any) -> dict[str, int]:
        passes.append(1)
        if len(passes) == 1:
            raise redis.exceptions.ConnectionError("Connection refused")
        return {}

    monkeypatch.setattr(run_dispatcher.dispatch, "dispatch_once", flaky)
    monkeypatch.setattr(run_dispatcher, "_interval", lambda leading: 0.0)
    monkeypatch.setattr(run_dispatcher, "close_old_connections", lambda: None)
    lease = leader.Leadership(
        leader.DatabaseLeaseStore(f"test-{secrets.token_hex(4)}"), holder="x", ttl=5
    )
    run_dispatcher.Command()._loop(lease, lambda: len(passes) >= 2 or calls() > 50)
    assert len(passes) == 2
