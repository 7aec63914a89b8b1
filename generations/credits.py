"""Ledger services: the only code that moves credits.

Every change of a balance is one conditional UPDATE of the account plus one ledger
row, in one transaction. The conditional UPDATE (``balance >= amount``) and the
database constraints make the rules hold without ``select_for_update`` (a no-op on
SQLite): the balance never goes negative, and a task gets at most one hold and at
most one capture-or-release, whoever calls twice.

Concurrency: on PostgreSQL (READ COMMITTED) the conditional UPDATE waits for the
row lock of a concurrent writer and re-checks ``balance >= amount`` against the
committed value; on SQLite the IMMEDIATE transactions of our settings serialise
writers. Either way a check made *after* our own UPDATE of the account row, in the
same transaction, sees every earlier writer of that account (see
``enforce_daily_limit``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import ngettext

from generations.models import (
    TERMINAL_STATES,
    CreditAccount,
    GenerationTask,
    LedgerEntry,
    PriceRule,
    State,
)
from generations.pipeline import delivery

Kind = LedgerEntry.Kind

DEFAULT_PRICES: dict[tuple[str, bool], int] = {
    ("480p", False): 1,
    ("480p", True): 2,
    ("720p", False): 2,
    ("720p", True): 4,
}


class CreditsRefused(Exception):
    """A submission refused for credits; nothing was queued. Its text is for
    members: ``str()`` in the language active when it was raised, ``render()``
    in the active one (a board keeps it in every language for a later reader)."""

    def __init__(self, render: Callable[[], str]) -> None:
        self.render = render
        super().__init__(render())


class InsufficientCredits(CreditsRefused):
    def __init__(self, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available

        def render() -> str:
            return ngettext(
                "This needs %(needed)s credit but only %(available)s are available.",
                "This needs %(needed)s credits but only %(available)s are available.",
                needed,
            ) % {"needed": needed, "available": available}

        super().__init__(render)


class LimitExceeded(CreditsRefused):
    """A member's own limit (set by staff) refuses the submission."""


def account_for(user: User) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(user_id=user.pk)
    return account


def check_affordable(user: User, *, needed: int) -> None:
    """Raises InsufficientCredits if the balance cannot cover ``needed`` now.

    A cheap check before expensive work (decoding uploaded frames); the hold
    still decides, atomically, when the tasks are created.
    """
    balance = (
        CreditAccount.objects.filter(user_id=user.pk)
        .values_list("balance", flat=True)
        .first()
    ) or 0
    if balance < needed:
        raise InsufficientCredits(needed, balance)


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
    """Make the hold final. Returns False if the task was already settled.

    A video that differs from the order (``task.delivery_findings``) is charged
    only for what was delivered: the capture entry gives the rest back (its
    amount is the part returned), in the same row, so a task still has exactly
    one settlement.
    """
    task = GenerationTask.objects.filter(pk=task_id).first()
    if task is None or not task.delivery_findings:
        return _settle(task_id, Kind.CAPTURE, "Video delivered")
    charged = delivered_charge(task)
    reason = (
        f"Video delivered short of the order: charged {charged} of {task.cost} "
        "credits, the rest returned"
    )
    return _settle(task_id, Kind.CAPTURE, reason, charged=charged)


def delivered_charge(task: GenerationTask) -> int:
    """What a delivered video costs: the price of what arrived, at most the order's.

    Seconds are the whole seconds delivered, the resolution the one the frame
    reaches, sound only if a sound track arrived (``pipeline.delivery``).
    """
    findings = [f for f in task.delivery_findings if isinstance(f, dict)]
    resolution, sound = task.resolution, task.sound
    for finding in findings:
        if finding.get("kind") == "resolution":
            resolution = str(finding.get("tier") or resolution)
        if finding.get("kind") == "audio" and task.sound:
            sound = bool(finding.get("delivered"))
    seconds = delivery.billed_seconds(findings, task.duration)
    price = cost_of(
        resolution=resolution, sound=sound, duration=seconds, routing=task.routing
    )
    return max(0, min(task.cost, price))


# The credits a capture entry made final: the task's cost less the part returned.
CAPTURED_CREDITS = F("task__cost") - F("amount")


def release_for_task(task_id: int, reason: str = "No video delivered") -> bool:
    """Give the held credits back. Returns False if the task was already settled."""
    return _settle(task_id, Kind.RELEASE, reason)


def _settle(
    task_id: int, kind: str, reason: str, *, charged: int | None = None
) -> bool:
    hold = LedgerEntry.objects.filter(task_id=task_id, kind=Kind.HOLD).first()
    if hold is None:
        return False
    if kind == Kind.RELEASE:
        amount = -hold.amount
    else:
        amount = 0 if charged is None else max(0, -hold.amount - charged)
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


def utc_day_start(now: dt.datetime | None = None) -> dt.datetime:
    now = (now or timezone.now()).astimezone(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def committed_today(account_id: int, now: dt.datetime | None = None) -> int:
    """Credits the member committed today (UTC day), as the daily limit counts them.

    That is the credits of the holds created today minus the releases of those
    holds: what the member really committed. A captured hold stays committed; a
    hold given back (failure, cancellation, unconfirmed submission) does not count,
    so a failed job does not eat into the day. A release today of a hold made
    yesterday does not free room today (it never counted today).
    """
    held_today = LedgerEntry.objects.filter(
        account_id=account_id, kind=Kind.HOLD, created_at__gte=utc_day_start(now)
    ).values("task_id")
    # A capture's amount is 0, or the part of a short delivery given back.
    total = LedgerEntry.objects.filter(
        account_id=account_id,
        kind__in=[Kind.HOLD, Kind.RELEASE, Kind.CAPTURE],
        task_id__in=held_today,
    ).aggregate(total=Sum("amount"))["total"]
    return -int(total or 0)


def enforce_daily_limit(account_id: int, *, just_held: int) -> None:
    """Raise LimitExceeded if today's committed credits now pass the member's limit.

    Call it inside the transaction that made the holds, after them: the holds'
    UPDATE of the account row locks it until commit (PostgreSQL) or the IMMEDIATE
    transaction holds the write lock (SQLite), so this sum sees every concurrent
    submission of the member that committed first. The caller rolls back.
    """
    limit = (
        CreditAccount.objects.filter(pk=account_id)
        .values_list("daily_credit_limit", flat=True)
        .get()
    )
    if limit is None:
        return
    used = committed_today(account_id)
    if used <= limit:
        return
    before = used - just_held
    left = max(0, limit - before)

    def render() -> str:
        return ngettext(
            "This needs %(needed)s credit but your daily limit of %(limit)s credits "
            "leaves %(left)s for today (%(used)s already used). The limit resets at "
            "midnight UTC; staff can raise it.",
            "This needs %(needed)s credits but your daily limit of %(limit)s credits "
            "leaves %(left)s for today (%(used)s already used). The limit resets at "
            "midnight UTC; staff can raise it.",
            just_held,
        ) % {"needed": just_held, "limit": limit, "left": left, "used": before}

    raise LimitExceeded(render)


def finished_with_open_hold() -> QuerySet[GenerationTask]:
    """Finished tasks whose hold is neither captured nor released: credits held
    for no live task (what the sweeper repairs; the fault matrix counts them)."""
    entries = LedgerEntry.objects.filter(task_id=OuterRef("pk"))
    return (
        GenerationTask.objects.filter(state__in=TERMINAL_STATES)
        .filter(Exists(entries.filter(kind=Kind.HOLD)))
        .exclude(Exists(entries.filter(kind__in=[Kind.CAPTURE, Kind.RELEASE])))
    )


def settle_finished_tasks(limit: int = 500) -> int:
    """Settle finished tasks whose settlement is missing; returns how many.

    The pipeline changes a task's state and settles its hold in two transactions;
    a worker killed between the two leaves a finished task with credits still held.
    This repairs that: capture if it succeeded, release if it failed or was
    cancelled. Safe to run any time: the one-settlement constraint makes a race
    with the pipeline harmless.
    """
    orphans = finished_with_open_hold().values_list("pk", "state")[:limit]
    settled = 0
    for task_id, state in list(orphans):
        if state == State.SUCCEEDED:
            settled += capture_for_task(task_id)
        else:
            settled += release_for_task(task_id, "Settled by the sweeper")
    return settled


def ledger_sum(account: CreditAccount) -> int:
    total = account.entries.aggregate(total=Sum("amount"))["total"]
    return int(total or 0)
