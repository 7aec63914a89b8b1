from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from generations import credits
from generations.models import GenerationTask, LedgerEntry
from generations.services import GenerationParams, cancel_task, create_generations
from tests.factories import queue_task

pytestmark = pytest.mark.django_db


def balance(user: object) -> int:
    account = credits.account_for(user)  # type: ignore[arg-type]
    account.refresh_from_db()
    assert account.balance == credits.ledger_sum(account)
    return account.balance


def test_it_prices_per_second_by_resolution_and_sound() -> None:
    assert credits.cost_of(resolution="480p", sound=False, duration=4) == 4
    assert credits.cost_of(resolution="480p", sound=True, duration=8) == 16
    assert credits.cost_of(resolution="720p", sound=False, duration=12) == 24
    assert credits.cost_of(resolution="720p", sound=True, duration=12) == 48


def test_it_holds_the_cost_when_a_task_is_created(alice: object) -> None:
    task = queue_task(alice, resolution="720p", sound=True, duration=8)
    assert task.cost == 32
    assert balance(alice) == 1000 - 32
    hold = LedgerEntry.objects.get(task=task)
    assert (hold.kind, hold.amount) == ("hold", -32)


def test_it_refuses_a_task_the_balance_cannot_cover(django_user_model: object) -> None:
    poor = django_user_model.objects.create_user("poor")  # type: ignore[attr-defined]
    credits.grant(user=poor, amount=10, reason="test")
    params = GenerationParams(prompt="a fox", resolution="720p", sound=True, duration=4)
    with pytest.raises(credits.InsufficientCredits) as info:
        create_generations(owner=poor, variants=[params])
    assert "needs 16 credits but only 10" in str(info.value)
    assert GenerationTask.objects.count() == 0
    assert balance(poor) == 10


def test_it_holds_a_batch_all_or_nothing(django_user_model: object) -> None:
    member = django_user_model.objects.create_user("m")  # type: ignore[attr-defined]
    credits.grant(user=member, amount=10, reason="test")
    variants = [
        GenerationParams(prompt="a fox", resolution="480p", sound=False, duration=4),
        GenerationParams(prompt="a fox", resolution="480p", sound=False, duration=8),
    ]
    with pytest.raises(credits.InsufficientCredits):
        create_generations(owner=member, variants=variants)
    assert GenerationTask.objects.count() == 0
    assert balance(member) == 10


def test_it_captures_or_releases_once_per_task(alice: object) -> None:
    task = queue_task(alice)
    assert credits.capture_for_task(task.pk) is True
    assert credits.capture_for_task(task.pk) is False
    assert credits.release_for_task(task.pk) is False
    assert balance(alice) == 1000 - task.cost


def test_it_gives_credits_back_on_release(alice: object) -> None:
    task = queue_task(alice)
    assert credits.release_for_task(task.pk) is True
    assert credits.release_for_task(task.pk) is False
    assert balance(alice) == 1000


def test_it_releases_the_hold_when_a_queued_task_is_cancelled(alice: object) -> None:
    task = queue_task(alice)
    assert cancel_task(task) is True
    assert cancel_task(task) is False
    assert balance(alice) == 1000


def test_it_forbids_a_second_hold_in_the_database(alice: object) -> None:
    task = queue_task(alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        credits.hold_for_task(task)


def test_it_forbids_a_negative_balance_in_the_database(alice: object) -> None:
    account = credits.account_for(alice)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError), transaction.atomic():
        type(account).objects.filter(pk=account.pk).update(balance=-1)


def test_it_refuses_an_adjustment_below_zero(alice: object, staff: object) -> None:
    with pytest.raises(credits.InsufficientCredits):
        credits.adjust(user=alice, amount=-1001, reason="typo", by=staff)  # type: ignore[arg-type]
    credits.adjust(user=alice, amount=-1000, reason="reset", by=staff)  # type: ignore[arg-type]
    assert balance(alice) == 0


def test_it_settles_finished_tasks_a_crash_left_unsettled(alice: object) -> None:
    from generations.models import State

    succeeded, failed, cancelled, running, done = (queue_task(alice) for _ in range(5))
    for task, state in [
        (succeeded, State.SUCCEEDED),
        (failed, State.FAILED),
        (cancelled, State.CANCELLED),
        (running, State.GENERATING),
        (done, State.SUCCEEDED),
    ]:
        GenerationTask.objects.filter(pk=task.pk).update(state=state)
    credits.capture_for_task(done.pk)
    assert credits.settle_finished_tasks() == 3
    assert credits.settle_finished_tasks() == 0
    kinds = dict(
        LedgerEntry.objects.filter(kind__in=["capture", "release"]).values_list(
            "task_id", "kind"
        )
    )
    assert kinds == {
        succeeded.pk: "capture",
        failed.pk: "release",
        cancelled.pk: "release",
        done.pk: "capture",
    }
    assert balance(alice) == 1000 - 3 * succeeded.cost
