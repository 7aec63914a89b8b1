"""Queue control: staff pause and resume (with a reason members see), members
move their own queued tasks to the top and cancel them in bulk; fair sharing
between members holds and every credit comes back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from generations import credits
from generations.models import GenerationTask, State
from generations.ops import breaker
from generations.pipeline import dispatch
from tests.factories import queue_task
from tests.sim import assert_books_balance

pytestmark = pytest.mark.django_db


def record() -> tuple[list[int], Any]:
    sent: list[int] = []
    return sent, lambda func, task_id: sent.append(task_id)


def test_it_pauses_and_resumes_submissions_with_a_reason(
    client: Any, alice: Any, staff: Any
) -> None:
    task = queue_task(alice)
    client.force_login(staff)
    client.post(
        "/staff/breaker/", {"mode": "open", "reason": "Provider maintenance at 15:00"}
    )
    sent, enqueue = record()
    assert dispatch.dispatch_once(enqueue=enqueue)["submit"] == 0
    assert (
        "paused by sam: Provider maintenance at 15:00"
        in client.get("/staff/overview/").content.decode()
    )

    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Staff have paused new submissions: Provider maintenance at 15:00." in page
    assert credits.account_for(alice).balance == 1000 - task.cost  # still held

    client.force_login(staff)
    client.post("/staff/breaker/", {"mode": "auto"})
    assert breaker.status().reason == ""
    assert dispatch.dispatch_once(enqueue=enqueue)["submit"] == 1
    assert sent == [task.pk]
    client.force_login(alice)
    assert "paused" not in client.get("/").content.decode()


def test_it_refuses_an_overlong_pause_reason(client: Any, staff: Any) -> None:
    client.force_login(staff)
    response = client.post("/staff/breaker/", {"mode": "open", "reason": "x" * 201})
    assert response.status_code == 400
    assert breaker.status().submitting


def test_it_moves_a_task_to_the_top_of_its_owners_queue(
    client: Any, alice: Any, bob: Any
) -> None:
    first, second, third = (queue_task(alice) for _ in range(3))
    bobs = queue_task(bob)
    client.force_login(alice)
    response = client.post(f"/tasks/{third.pk}/top/")
    assert response.status_code == 302
    now = timezone.now()
    # Alice's third task first among hers; bob keeps his fair turn.
    assert dispatch.pick_fair_order(now, 4, {}) == [
        third.pk,
        bobs.pk,
        first.pk,
        second.pk,
    ]
    client.post(f"/tasks/{second.pk}/top/")
    assert dispatch.pick_fair_order(now, 2, {})[0] == second.pk
    assert dispatch.pick_fair_order(now, 4, {})[1:3] == [bobs.pk, third.pk]


def test_it_moves_only_queued_tasks_of_ones_own(
    client: Any, alice: Any, bob: Any
) -> None:
    task = queue_task(alice)
    client.force_login(bob)
    assert client.post(f"/tasks/{task.pk}/top/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/tasks/{task.pk}/top/").status_code == 405
    GenerationTask.objects.filter(pk=task.pk).update(state=State.WAITING)
    response = client.post(f"/tasks/{task.pk}/top/", follow=True)
    assert "Too late to move" in response.content.decode()


def test_it_cancels_queued_tasks_in_bulk_and_gives_credits_back(
    client: Any, alice: Any, bob: Any
) -> None:
    mine = [queue_task(alice) for _ in range(3)]
    running = queue_task(alice)
    GenerationTask.objects.filter(pk=running.pk).update(state=State.WAITING)
    bobs = queue_task(bob)
    client.force_login(alice)
    response = client.post(
        "/tasks/cancel-queued/",
        {"ids": [mine[0].pk, mine[1].pk, running.pk, bobs.pk]},
        follow=True,
    )
    assert "Cancelled 2 queued tasks" in response.content.decode()
    states = dict(GenerationTask.objects.values_list("pk", "state"))
    assert states[mine[0].pk] == states[mine[1].pk] == State.CANCELLED
    assert states[mine[2].pk] == State.QUEUED
    assert states[running.pk] == State.WAITING
    assert states[bobs.pk] == State.QUEUED
    assert credits.account_for(alice).balance == 1000 - 2 * mine[0].cost
    assert credits.account_for(bob).balance == 1000 - bobs.cost

    client.post("/tasks/cancel-queued/")  # no ids: every queued task of hers
    assert GenerationTask.objects.get(pk=mine[2].pk).state == State.CANCELLED
    assert credits.account_for(alice).balance == 1000 - running.cost
    for account in (credits.account_for(alice), credits.account_for(bob)):
        assert account.balance == credits.ledger_sum(account)
    GenerationTask.objects.filter(pk=running.pk).update(state=State.QUEUED)
    assert_books_balance_for([t.pk for t in mine])


def assert_books_balance_for(ids: list[int]) -> None:
    for task in GenerationTask.objects.filter(pk__in=ids):
        assert task.state == State.CANCELLED
    assert_books_balance()


def test_it_refuses_bad_bulk_input_and_other_methods(client: Any, alice: Any) -> None:
    task = queue_task(alice)
    client.force_login(alice)
    assert client.post("/tasks/cancel-queued/", {"ids": ["x"]}).status_code == 400
    assert client.get("/tasks/cancel-queued/").status_code == 405
    response = client.post("/tasks/cancel-queued/", {"ids": [999999]}, follow=True)
    assert "Nothing to cancel" in response.content.decode()
    assert GenerationTask.objects.get(pk=task.pk).state == State.QUEUED
    client.logout()
    assert client.post("/tasks/cancel-queued/").status_code == 302
    assert GenerationTask.objects.get(pk=task.pk).state == State.QUEUED


def queue_on_page(client: Any) -> list[int]:
    """The task ids of the Studio's queue panel, top first."""
    page = client.get("/").content.decode()
    rows = re.findall(r'<li class="queue-row" id="queue-(\d+)"', page)
    return [int(pk) for pk in rows]


def test_the_studio_lists_the_queue_in_the_order_it_goes_out(
    client: Any, alice: Any, bob: Any
) -> None:
    first, second, third = (queue_task(alice) for _ in range(3))
    queue_task(bob)
    client.force_login(alice)
    assert queue_on_page(client) == [first.pk, second.pk, third.pk]
    response = client.post(f"/tasks/{third.pk}/top/")
    assert response["Location"] == "/#queue"
    assert queue_on_page(client) == [third.pk, first.pk, second.pk]
    GenerationTask.objects.filter(pk=third.pk).update(state=State.WAITING)
    assert queue_on_page(client) == [first.pk, second.pk]
    client.force_login(bob)
    assert len(queue_on_page(client)) == 1


def test_cancel_selected_with_nothing_ticked_cancels_nothing(
    client: Any, alice: Any
) -> None:
    task = queue_task(alice)
    client.force_login(alice)
    response = client.post("/tasks/cancel-queued/", {"selected": "1"}, follow=True)
    assert "Tick the queued jobs to cancel first" in response.content.decode()
    assert GenerationTask.objects.get(pk=task.pk).state == State.QUEUED
    assert credits.account_for(alice).balance == 1000 - task.cost
    client.post("/tasks/cancel-queued/", {"selected": "1", "ids": [task.pk]})
    assert GenerationTask.objects.get(pk=task.pk).state == State.CANCELLED
    assert credits.account_for(alice).balance == 1000


def test_move_to_top_never_takes_another_members_fair_share(
    client: Any, alice: Any, bob: Any, settings: Any
) -> None:
    """Through the real dispatcher: 2 free slots, alice already has a task at
    the provider. Whatever alice moves to the top, bob's oldest job gets the
    first free slot, and alice's pick only changes which of hers goes next."""
    settings.PROVIDER_CONCURRENT_LIMIT = 3
    at_provider = queue_task(alice)
    GenerationTask.objects.filter(pk=at_provider.pk).update(state=State.WAITING)
    alices = [queue_task(alice) for _ in range(3)]
    bobs = [queue_task(bob) for _ in range(2)]
    client.force_login(alice)
    for task in reversed(alices):  # each to the top in turn: 0, 1, 2 again
        client.post(f"/tasks/{task.pk}/top/")
    client.post(f"/tasks/{alices[2].pk}/top/")
    client.force_login(bob)
    assert client.post(f"/tasks/{alices[0].pk}/top/").status_code == 404

    sent: list[int] = []
    submits = dispatch.JOBS["submit"]
    counts = dispatch.dispatch_once(
        enqueue=lambda func, pk: sent.append(pk) if func == submits else None
    )
    assert counts["submit"] == 2
    assert sent == [bobs[0].pk, alices[2].pk]
    states = dict(GenerationTask.objects.values_list("pk", "state"))
    assert states[bobs[1].pk] == states[alices[0].pk] == State.QUEUED


def test_a_tie_goes_to_the_member_who_waited_longest(alice: Any, bob: Any) -> None:
    """Equal load: the older queued job goes first, whoever's id is lower."""
    assert alice.pk < bob.pk
    bobs = queue_task(bob)
    alices = queue_task(alice)
    now = timezone.now()
    assert dispatch.pick_fair_order(now, 1, {}) == [bobs.pk]
    assert dispatch.pick_fair_order(now, 2, {}) == [bobs.pk, alices.pk]
    assert dispatch.pick_fair_order(now, 1, {bob.pk: 1}) == [alices.pk]
