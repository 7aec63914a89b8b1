"""Per-member limits: credits per day (at creation) and tasks in flight (at dispatch),
and fair sharing of the provider's concurrent slots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from generations import credits
from generations.models import (
    PROVIDER_SLOT_STATES,
    CreditAccount,
    GenerationTask,
    LedgerEntry,
    State,
)
from generations.pipeline import dispatch
from generations.services import (
    GenerationParams,
    cancel_task,
    create_generations,
    retry_task,
)
from tests.factories import queue_task

pytestmark = pytest.mark.django_db


def set_limits(user: Any, **limits: int | None) -> None:
    credits.account_for(user)
    CreditAccount.objects.filter(user=user).update(**limits)


def eight_credits() -> GenerationParams:
    return GenerationParams(prompt="a fox", resolution="480p", sound=False, duration=8)


def balance(user: Any) -> int:
    account = credits.account_for(user)
    assert account.balance == credits.ledger_sum(account)
    return account.balance


def move_holds_to_yesterday(user: Any) -> None:
    yesterday = credits.utc_day_start() - dt.timedelta(hours=1)
    LedgerEntry.objects.filter(account__user=user, kind="hold").update(
        created_at=yesterday
    )


def test_it_has_no_daily_limit_by_default(alice: Any) -> None:
    create_generations(owner=alice, variants=[eight_credits()] * 20)
    assert balance(alice) == 1000 - 160


def test_it_refuses_a_submission_past_the_daily_limit(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=12)
    create_generations(owner=alice, variants=[eight_credits()])
    with pytest.raises(credits.LimitExceeded) as info:
        create_generations(owner=alice, variants=[eight_credits()])
    assert str(info.value) == (
        "This needs 8 credits but your daily limit of 12 credits leaves 4 for "
        "today (8 already used). The limit resets at midnight UTC; staff can raise it."
    )
    assert isinstance(info.value, credits.CreditsRefused)
    assert GenerationTask.objects.filter(owner=alice).count() == 1
    assert balance(alice) == 1000 - 8


def test_it_accepts_a_submission_that_reaches_the_limit_exactly(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=16)
    create_generations(owner=alice, variants=[eight_credits(), eight_credits()])
    assert credits.committed_today(credits.account_for(alice).pk) == 16


def test_it_refuses_a_whole_batch_past_the_limit(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=20)
    with pytest.raises(credits.LimitExceeded):
        create_generations(owner=alice, variants=[eight_credits()] * 3)
    assert GenerationTask.objects.filter(owner=alice).count() == 0
    assert balance(alice) == 1000


def test_it_does_not_count_credits_given_back(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=8)
    task = queue_task(alice, duration=8)
    assert cancel_task(task)
    queue_task(alice, duration=8)  # the released hold left room for this one


def test_it_counts_captured_credits(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=8)
    task = queue_task(alice, duration=8)
    assert credits.capture_for_task(task.pk)
    with pytest.raises(credits.LimitExceeded):
        queue_task(alice, duration=4)


def test_it_starts_afresh_each_utc_day(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=8)
    old = queue_task(alice, duration=8)
    move_holds_to_yesterday(alice)
    queue_task(alice, duration=8)
    # Releasing yesterday's hold today gives no extra room today.
    assert cancel_task(old)
    with pytest.raises(credits.LimitExceeded):
        queue_task(alice, duration=4)


def test_it_keeps_members_limits_apart(alice: Any, bob: Any) -> None:
    set_limits(alice, daily_credit_limit=8)
    queue_task(alice, duration=8)
    create_generations(owner=bob, variants=[eight_credits()] * 5)
    assert balance(bob) == 1000 - 40


def test_it_applies_the_daily_limit_to_retries(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=8)
    task = queue_task(alice, duration=8)
    GenerationTask.objects.filter(pk=task.pk).update(state=State.FAILED)
    credits.capture_for_task(task.pk)  # charged, so it stays committed
    with pytest.raises(credits.LimitExceeded):
        retry_task(task)
    assert GenerationTask.objects.filter(owner=alice).count() == 1


def test_it_refuses_everything_when_the_limit_is_zero(alice: Any) -> None:
    set_limits(alice, daily_credit_limit=0)
    with pytest.raises(credits.LimitExceeded) as info:
        queue_task(alice)
    assert "leaves 0 for today" in str(info.value)


def test_it_checks_the_balance_before_the_limit(django_user_model: Any) -> None:
    poor = django_user_model.objects.create(username="poor")
    credits.grant(user=poor, amount=4, reason="test")
    set_limits(poor, daily_credit_limit=4)
    with pytest.raises(credits.InsufficientCredits):
        create_generations(owner=poor, variants=[eight_credits()])


# max_in_flight is enforced when the dispatcher hands out submit slots.


def in_flight_of(user: Any) -> int:
    return GenerationTask.objects.filter(
        owner=user, state__in=PROVIDER_SLOT_STATES
    ).count()


def submit_everything_picked(picked: list[int]) -> None:
    """What a worker's successful submit does to the rows."""
    GenerationTask.objects.filter(pk__in=picked).update(
        state=State.WAITING,
        lease_until=None,
        next_action_at=timezone.now() + dt.timedelta(minutes=5),
    )


def dispatch_submits(sent: list[int]) -> int:
    """One dispatcher pass; the ids handed to submit workers are appended to sent."""

    def enqueue(func: str, pk: int) -> None:
        if func == dispatch.JOBS["submit"]:
            sent.append(pk)

    return dispatch.dispatch_once(enqueue=enqueue)["submit"]


def test_it_picks_no_more_than_a_members_cap(alice: Any, bob: Any) -> None:
    set_limits(alice, max_in_flight=2)
    alices = [queue_task(alice) for _ in range(5)]
    bobs = [queue_task(bob) for _ in range(3)]
    picked = dispatch.pick_fair_order(timezone.now(), 10, {})
    assert len([pk for pk in picked if pk in {t.pk for t in alices}]) == 2
    assert {t.pk for t in bobs} <= set(picked)


def test_it_counts_tasks_already_in_flight_against_the_cap(alice: Any) -> None:
    set_limits(alice, max_in_flight=3)
    for _ in range(5):
        queue_task(alice)
    picked = dispatch.pick_fair_order(timezone.now(), 10, {alice.pk: 2})
    assert len(picked) == 1
    assert dispatch.pick_fair_order(timezone.now(), 10, {alice.pk: 3}) == []


def test_it_keeps_a_capped_members_tasks_queued_until_slots_free(alice: Any) -> None:
    set_limits(alice, max_in_flight=2)
    tasks = [queue_task(alice) for _ in range(5)]
    sent: list[int] = []
    dispatch_submits(sent)
    assert sent == [tasks[0].pk, tasks[1].pk]
    submit_everything_picked(sent)
    assert dispatch_submits(sent) == 0
    assert in_flight_of(alice) == 2
    GenerationTask.objects.filter(pk=tasks[0].pk).update(state=State.SUCCEEDED)
    dispatch_submits(sent)
    assert sent[2:] == [tasks[2].pk]
    assert GenerationTask.objects.filter(owner=alice, state=State.QUEUED).count() == 3


def test_it_counts_tasks_handed_to_workers_against_the_cap(alice: Any) -> None:
    set_limits(alice, max_in_flight=2)
    for _ in range(5):
        queue_task(alice)
    sent: list[int] = []
    dispatch_submits(sent)
    dispatch_submits(sent)  # the workers have not started the first two yet
    assert len(sent) == 2


def test_it_lets_a_single_job_through_a_batch_of_200(
    alice: Any, bob: Any, settings: Any
) -> None:
    settings.PROVIDER_CONCURRENT_LIMIT = 10
    for _ in range(200):
        queue_task(alice)
    sent: list[int] = []
    dispatch_submits(sent)
    submit_everything_picked(sent)
    assert len(sent) == 10
    late = queue_task(bob)
    assert dispatch_submits(sent) == 0
    # One of alice's tasks finishes: the freed slot goes to bob, not to alice's 190.
    GenerationTask.objects.filter(pk=sent[0]).update(state=State.SUCCEEDED)
    dispatch_submits(sent)
    assert sent[10:] == [late.pk]
