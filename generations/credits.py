"""Ledger services: the only code that moves credits.

Every change of a balance is one conditional UPDATE of the account plus one ledger
row, in one transaction. The conditional UPDATE (``balance >= amount``) and the
database constraints make the rules hold without ``select_for_update`` (a no-op on
SQLite): the balance never goes negative, and a task gets at most one hold and at
most one capture-or-release, whoever calls twice.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from generations.models import CreditAccount, GenerationTask, LedgerEntry, PriceRule

Kind = LedgerEntry.Kind

DEFAULT_PRICES: dict[tuple[str, bool], int] = {
    ("480p", False): 1,
    ("480p", True): 2,
    ("720p", False): 2,
    ("720p", True): 4,
}


class InsufficientCredits(Exception):
    def __init__(self, needed: int, available: int) -> None:
        super().__init__(
            f"This needs {needed} credits but only {available} are available."
        )
        self.needed = needed
        self.available = available


def account_for(user: User) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(user_id=user.pk)
    return account


def credits_per_second(*, resolution: str, sound: bool, routing: str = "") -> int:
    rules = {
        rule.routing: rule.credits_per_second
        for rule in PriceRule.objects.filter(resolution=resolution, sound=sound)
    }
    if routing in rules:
        return rules[routing]
    if "" in rules:
        return rules[""]
    return DEFAULT_PRICES[(resolution, sound)]


def price_table() -> dict[str, int]:
    """Credits per second keyed ``"<resolution>|<sound 0/1>|<routing or ''>"``.

    The create form computes the live cost from this without a round trip.
    """
    table = {f"{res}|{int(snd)}|": cps for (res, snd), cps in DEFAULT_PRICES.items()}
    for rule in PriceRule.objects.all():
        table[f"{rule.resolution}|{int(rule.sound)}|{rule.routing}"] = (
            rule.credits_per_second
        )
    return table


def cost_of(*, resolution: str, sound: bool, duration: int, routing: str = "") -> int:
    rate = credits_per_second(resolution=resolution, sound=sound, routing=routing)
    return rate * duration


def grant(
    *,
    user: User,
    amount: int,
    reason: str,
    by: User | None = None,
) -> LedgerEntry:
    if amount <= 0:
        raise ValueError("A grant must be positive.")
    return _apply(user=user, kind=Kind.GRANT, amount=amount, reason=reason, by=by)


def adjust(
    *,
    user: User,
    amount: int,
    reason: str,
    by: User | None = None,
) -> LedgerEntry:
    """Add (or with a negative amount, remove) credits; refuses to go below zero."""
    if amount == 0:
        raise ValueError("An adjustment must change the balance.")
    if not reason.strip():
        raise ValueError("An adjustment needs a reason.")
    return _apply(user=user, kind=Kind.ADJUSTMENT, amount=amount, reason=reason, by=by)


def _apply(
    *,
    user: User,
    kind: str,
    amount: int,
    reason: str,
    by: User | None,
    task: GenerationTask | None = None,
) -> LedgerEntry:
    account = account_for(user)
    with transaction.atomic():
        accounts = CreditAccount.objects.filter(pk=account.pk)
        if amount < 0:
            accounts = accounts.filter(balance__gte=-amount)
        if accounts.update(balance=F("balance") + amount) != 1:
            account.refresh_from_db()
            raise InsufficientCredits(-amount, account.balance)
        return LedgerEntry.objects.create(
            account=account,
            kind=kind,
            amount=amount,
            task=task,
            created_by=by,
            reason=reason,
        )


def hold_for_task(task: GenerationTask) -> LedgerEntry:
    """Reserve the task's cost; raises InsufficientCredits (caller rolls back)."""
    return _apply(
        user=task.owner,
        kind=Kind.HOLD,
        amount=-task.cost,
        reason="Held for generation",
        by=None,
        task=task,
    )


def capture_for_task(task_id: int) -> bool:
    """Make the hold final. Returns False if the task was already settled."""
    return _settle(task_id, Kind.CAPTURE, "Video delivered")


def release_for_task(task_id: int, reason: str = "No video delivered") -> bool:
    """Give the held credits back. Returns False if the task was already settled."""
    return _settle(task_id, Kind.RELEASE, reason)


def _settle(task_id: int, kind: str, reason: str) -> bool:
    hold = LedgerEntry.objects.filter(task_id=task_id, kind=Kind.HOLD).first()
    if hold is None:
        return False
    amount = -hold.amount if kind == Kind.RELEASE else 0
    try:
        with transaction.atomic():
            # The unique constraint on (task, capture|release) is the guard: a
            # second settlement fails here, before the balance moves.
            LedgerEntry.objects.create(
                account_id=hold.account_id,
                kind=kind,
                amount=amount,
                task_id=task_id,
                reason=reason,
            )
            if amount:
                CreditAccount.objects.filter(pk=hold.account_id).update(
                    balance=F("balance") + amount
                )
    except IntegrityError:
        return False
    return True


def ledger_sum(account: CreditAccount) -> int:
    total = account.entries.aggregate(total=Sum("amount"))["total"]
    return int(total or 0)
