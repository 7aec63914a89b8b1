"""The ledger under real concurrency: threads with their own database connections.

Runs on SQLite (WAL + IMMEDIATE transactions) and on PostgreSQL (READ COMMITTED)
alike: ``DATABASE_URL=postgres://... pytest tests/test_credits_concurrency.py``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connections
from django.db.models import OuterRef, Subquery, Sum

from generations import credits
from generations.models import CreditAccount, GenerationTask, LedgerEntry
from generations.services import GenerationParams, create_generations
from tests.factories import queue_task, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

SUBMISSIONS = 50
# 480p, silent, 4 s: 1 credit per second.
TASK_COST = 4


def one_task() -> list[GenerationParams]:
    return [
        GenerationParams(
            prompt="a lighthouse in a storm, slow push in",
            resolution="480p",
            sound=False,
            duration=4,
        )
    ]


@dataclass
class BalanceWatch:
    """Reads balance and ledger sum in one statement (one snapshot), repeatedly."""

    account_id: int
    seen: list[tuple[int, int]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run)

    def __enter__(self) -> BalanceWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)

    def _run(self) -> None:
        ledger_total = (
            LedgerEntry.objects.filter(account_id=OuterRef("pk"))
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        query = CreditAccount.objects.filter(pk=self.account_id).annotate(
            total=Subquery(ledger_total)
        )
        try:
            while not self.stop.is_set():
                self.seen.append(query.values_list("balance", "total").get())
        except Exception as exc:
            self.errors.append(exc)
        finally:
            connections.close_all()


def account_of(user: Any) -> CreditAccount:
    account = credits.account_for(user)
    account.refresh_from_db()
    return account


def assert_consistent(watch: BalanceWatch) -> None:
    assert watch.errors == []
    assert watch.seen, "the watcher never read the balance"
    assert all(balance >= 0 for balance, _ in watch.seen)
    assert all(balance == total for balance, total in watch.seen)


def test_it_accepts_exactly_what_the_balance_covers(django_user_model: Any) -> None:
    member = django_user_model.objects.create(username="racer")
    credits.grant(user=member, amount=10 * TASK_COST, reason="exactly ten tasks")
    account = account_of(member)

    with BalanceWatch(account.pk) as watch:
        results = run_in_threads(
            SUBMISSIONS,
            lambda _: create_generations(owner=member, variants=one_task()),
        )

    accepted = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, credits.InsufficientCredits)]
    others = [r for r in results if not isinstance(r, list | credits.CreditsRefused)]
    assert others == []  # no "database is locked", no deadlock, nothing else
    assert len(accepted) == 10
    assert len(refused) == SUBMISSIONS - 10
    assert {str(exc) for exc in refused} == {
        f"This needs {TASK_COST} credits but only 0 are available."
    }
    assert_consistent(watch)
    account.refresh_from_db()
    assert account.balance == 0 == credits.ledger_sum(account)
    tasks = GenerationTask.objects.filter(owner=member)
    assert tasks.count() == 10
    holds = LedgerEntry.objects.filter(kind="hold", task__owner=member)
    assert sorted(holds.values_list("task_id", flat=True)) == sorted(
        tasks.values_list("pk", flat=True)
    )


def test_it_holds_the_daily_limit_under_concurrency(django_user_model: Any) -> None:
    member = django_user_model.objects.create(username="busy")
    credits.grant(user=member, amount=1000, reason="plenty")
    CreditAccount.objects.filter(user=member).update(daily_credit_limit=10 * TASK_COST)

    results = run_in_threads(
        SUBMISSIONS, lambda _: create_generations(owner=member, variants=one_task())
    )

    accepted = [r for r in results if isinstance(r, list)]
    limited = [r for r in results if isinstance(r, credits.LimitExceeded)]
    assert [r for r in results if not isinstance(r, list | credits.LimitExceeded)] == []
    assert len(accepted) == 10
    assert len(limited) == SUBMISSIONS - 10
    assert "daily limit of 40 credits leaves 0 for today" in str(limited[0])
    account = account_of(member)
    assert account.balance == 1000 - 10 * TASK_COST == credits.ledger_sum(account)
    assert credits.committed_today(account.pk) == 10 * TASK_COST
    assert GenerationTask.objects.filter(owner=member).count() == 10


@pytest.mark.parametrize("mix", ["capture", "release", "both"])
def test_it_settles_a_task_once_whoever_races(django_user_model: Any, mix: str) -> None:
    member = django_user_model.objects.create(username="settler")
    credits.grant(user=member, amount=100, reason="test")
    task = queue_task(member)
    account = account_of(member)

    def settle(index: int) -> tuple[str, bool]:
        capture = mix == "capture" or (mix == "both" and index % 2 == 0)
        if capture:
            return "capture", credits.capture_for_task(task.pk)
        return "release", credits.release_for_task(task.pk, f"racer {index}")

    with BalanceWatch(account.pk) as watch:
        results = run_in_threads(20, settle)

    assert [r for r in results if not isinstance(r, tuple)] == []
    winners = [kind for kind, won in results if won]
    assert len(winners) == 1
    settlements = LedgerEntry.objects.filter(task=task, kind__in=["capture", "release"])
    assert list(settlements.values_list("kind", flat=True)) == winners
    assert_consistent(watch)
    account.refresh_from_db()
    expected = 100 - task.cost if winners == ["capture"] else 100
    assert account.balance == expected == credits.ledger_sum(account)
