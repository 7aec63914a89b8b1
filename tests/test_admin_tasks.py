"""The task screens of the admin: lists, the state history, and the staff actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from generations import credits
from generations.admin_tasks import GenerationTaskAdmin
from generations.models import (
    CreditAccount,
    FailCode,
    GenerationTask,
    LedgerEntry,
    State,
    VideoAsset,
)
from generations.models.tasks import transition
from tests.factories import queue_task

pytestmark = pytest.mark.django_db

TASKS = reverse("admin:generations_generationtask_changelist")


@pytest.fixture
def staff_client(client: Client, staff: Any) -> Client:
    client.force_login(staff)
    return client


def task_in(owner: Any, state: State, **fields: Any) -> GenerationTask:
    """A task queued through the services (hold included), moved to ``state``."""
    task = queue_task(owner)
    if state != State.QUEUED:
        assert transition(task.pk, State.QUEUED, state, "moved by the test", **fields)
    task.refresh_from_db()
    return task


def finish(task: GenerationTask, state: State, **fields: Any) -> GenerationTask:
    """A terminal task settled the way the pipeline settles it."""
    assert transition(
        task.pk, State(task.state), state, "finished by the test", **fields
    )
    if state == State.SUCCEEDED:
        credits.capture_for_task(task.pk)
    else:
        credits.release_for_task(task.pk)
    task.refresh_from_db()
    return task


def act(client: Client, action: str, tasks: list[GenerationTask], **form: Any) -> Any:
    data: dict[str, Any] = {"action": action, "_selected_action": [t.pk for t in tasks]}
    if form:
        data.update(form, apply="Apply")
    return client.post(TASKS, data, follow=True)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def balance(user: Any) -> int:
    return CreditAccount.objects.get(user=user).balance


# --- lists and pages ------------------------------------------------------------------


def test_it_filters_and_searches_tasks(
    staff_client: Client, alice: Any, bob: Any
) -> None:
    failed = finish(task_in(alice, State.GENERATING), State.FAILED, fail_code="NSFW")
    waiting = task_in(bob, State.WAITING, provider_task_id="prov-7f3a")
    GenerationTask.objects.filter(pk=waiting.pk).update(
        prompt="a lighthouse in a storm", routing="official", resolution="720p"
    )

    def ids(**query: Any) -> set[int]:
        response = staff_client.get(TASKS, query)
        assert response.status_code == 200
        return {task.pk for task in response.context["cl"].result_list}

    assert ids() == {failed.pk, waiting.pk}
    assert ids(state__exact="failed") == {failed.pk}
    assert ids(fail_code="NSFW") == {failed.pk}
    assert ids(owner__id__exact=bob.pk) == {waiting.pk}
    assert ids(routing__exact="official") == {waiting.pk}
    assert ids(resolution__exact="480p") == {failed.pk}
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert ids(created_at__gte=str(midnight)) == {failed.pk, waiting.pk}
    assert ids(created_at__lt=str(midnight)) == set()
    assert ids(q="lighthouse") == {waiting.pk}
    assert ids(q="prov-7f3a") == {waiting.pk}  # a whole id: its unique index
    assert ids(q="7f3a") == {waiting.pk}  # a fragment: a scan


def test_it_lists_with_a_fixed_number_of_queries(
    staff_client: Client, alice: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(40):
        queue_task(alice)
    with django_assert_max_num_queries(12):
        assert staff_client.get(TASKS).status_code == 200


def test_it_shows_the_state_history_read_only(staff_client: Client, alice: Any) -> None:
    task = task_in(alice, State.WAITING, provider_task_id="prov-1")
    url = reverse("admin:generations_generationtask_change", args=[task.pk])

    page = staff_client.get(url).content.decode()

    assert "State history" in page
    assert "Created" in page and "moved by the test" in page
    assert "Waiting at provider" in page
    assert "Held for generation" in page  # the ledger entries of the task
    assert 'name="_save"' not in page
    assert staff_client.post(url, {"state": "succeeded"}).status_code == 403
    assert GenerationTask.objects.get(pk=task.pk).state == State.WAITING


def test_it_neither_adds_nor_deletes_tasks(staff_client: Client, alice: Any) -> None:
    task = queue_task(alice)
    assert (
        staff_client.get(reverse("admin:generations_generationtask_add")).status_code
        == 403
    )
    delete = reverse("admin:generations_generationtask_delete", args=[task.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert GenerationTask.objects.filter(pk=task.pk).exists()


def test_it_keeps_the_task_queue_pages(staff_client: Client) -> None:
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "Workers (django-q2)" in index
    # The queued-tasks page exists with the ORM broker only.
    pages = ("success", "failure", "schedule") + (
        () if settings.REDIS_URL else ("ormq",)
    )
    for name in pages:
        url = reverse(f"admin:django_q_{name}_changelist")
        assert staff_client.get(url).status_code == 200


# --- re-check status now --------------------------------------------------------------


def test_it_marks_tasks_at_the_provider_due(staff_client: Client, alice: Any) -> None:
    later = timezone.now() + dt.timedelta(hours=1)
    waiting = task_in(
        alice, State.WAITING, provider_task_id="p-1", next_action_at=later
    )
    downloading = task_in(alice, State.DOWNLOADING, next_action_at=later)
    unknown_with_id = task_in(
        alice, State.UNKNOWN, provider_task_id="p-2", next_action_at=later
    )
    before = timezone.now()

    response = act(
        staff_client, "recheck_status", [waiting, downloading, unknown_with_id]
    )

    for task in (waiting, downloading, unknown_with_id):
        task.refresh_from_db()
        assert task.next_action_at is not None and task.next_action_at >= before
    [message] = messages_of(response)
    assert f"#{waiting.pk}: status read at the dispatcher's next pass" in message
    assert f"#{downloading.pk}: download retried" in message


def test_it_refuses_to_recheck_what_has_nothing_to_read(
    staff_client: Client, alice: Any
) -> None:
    unknown = task_in(alice, State.UNKNOWN)
    done = finish(task_in(alice, State.DOWNLOADING), State.SUCCEEDED)
    queued = queue_task(alice)

    response = act(staff_client, "recheck_status", [unknown, done, queued])

    text = " | ".join(messages_of(response))
    assert f"#{unknown.pk}: no provider task id is known" in text
    assert f"#{done.pk}: finished: nothing to re-check." in text
    assert f"#{queued.pk}: not at the provider yet" in text


# --- retry ----------------------------------------------------------------------------


def test_it_retries_failed_tasks_with_a_new_hold(
    staff_client: Client, alice: Any
) -> None:
    failed = finish(task_in(alice, State.GENERATING), State.FAILED, fail_code="X")
    assert balance(alice) == 1000

    response = act(staff_client, "retry_tasks", [failed])

    new_task = GenerationTask.objects.get(retry_of=failed)
    assert new_task.state == State.QUEUED
    assert new_task.owner == alice
    assert balance(alice) == 1000 - new_task.cost
    assert LedgerEntry.objects.filter(task=new_task, kind="hold").count() == 1
    assert messages_of(response) == [f"#{failed.pk} retried as #{new_task.pk}."]


def test_it_refuses_to_retry_twice_or_what_is_not_failed(
    staff_client: Client, alice: Any
) -> None:
    failed = finish(task_in(alice, State.GENERATING), State.FAILED)
    act(staff_client, "retry_tasks", [failed])
    done = finish(task_in(alice, State.DOWNLOADING), State.SUCCEEDED)
    running = task_in(alice, State.GENERATING)
    count = GenerationTask.objects.count()

    response = act(staff_client, "retry_tasks", [failed, done, running])

    assert GenerationTask.objects.count() == count
    text = " | ".join(messages_of(response))
    assert f"#{failed.pk}: already retried" in text
    assert f"#{done.pk}: succeeded: nothing to retry." in text
    assert f"#{running.pk}: still in flight" in text


def test_it_reports_a_member_without_credits(staff_client: Client, alice: Any) -> None:
    failed = finish(task_in(alice, State.GENERATING), State.FAILED)
    credits.adjust(user=alice, amount=-balance(alice), reason="test: empty")

    response = act(staff_client, "retry_tasks", [failed])

    assert not GenerationTask.objects.filter(retry_of=failed).exists()
    assert "only 0 are available" in " ".join(messages_of(response))


# --- release hold ---------------------------------------------------------------------


def test_it_asks_for_a_reason_before_releasing(
    staff_client: Client, alice: Any
) -> None:
    stuck = task_in(alice, State.GENERATING)
    response = staff_client.post(
        TASKS, {"action": "release_holds", "_selected_action": [stuck.pk]}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Release hold" in page and 'name="reason"' in page
    assert f"#{stuck.pk}" in page

    response = act(staff_client, "release_holds", [stuck], reason="   ")
    assert "This field is required" in response.content.decode()
    assert GenerationTask.objects.get(pk=stuck.pk).state == State.GENERATING


def test_it_releases_stuck_tasks_with_a_reason(
    staff_client: Client, alice: Any, staff: Any
) -> None:
    stuck = task_in(alice, State.GENERATING, provider_task_id="p-9")
    assert balance(alice) == 1000 - stuck.cost

    response = act(staff_client, "release_holds", [stuck], reason="provider lost it")

    stuck.refresh_from_db()
    assert stuck.state == State.FAILED
    assert stuck.fail_code == FailCode.RELEASED_BY_STAFF
    assert "provider lost it" in stuck.fail_message
    assert balance(alice) == 1000
    release = LedgerEntry.objects.get(task=stuck, kind="release")
    assert release.amount == stuck.cost
    assert release.reason == "Released by staff (sam): provider lost it"
    last = stuck.transitions.order_by("at", "id").last()
    assert last is not None
    assert (last.from_state, last.to_state) == ("generating", "failed")
    assert last.reason == "Released by staff (sam): provider lost it"
    assert messages_of(response) == [f"#{stuck.pk} failed and its hold released."]


def test_it_refuses_to_release_succeeded_or_settled_tasks(
    staff_client: Client, alice: Any
) -> None:
    done = finish(task_in(alice, State.DOWNLOADING), State.SUCCEEDED)
    failed = finish(task_in(alice, State.GENERATING), State.FAILED)
    before = balance(alice)

    response = act(staff_client, "release_holds", [done, failed], reason="cleanup")

    assert balance(alice) == before
    assert GenerationTask.objects.get(pk=done.pk).state == State.SUCCEEDED
    text = " | ".join(messages_of(response))
    assert f"#{done.pk}: succeeded: its credits are captured" in text
    assert f"#{failed.pk}: finished and settled: nothing is held." in text


def test_it_releases_a_hold_left_behind_by_a_dead_worker(
    staff_client: Client, alice: Any
) -> None:
    task = task_in(alice, State.GENERATING)
    transition(task.pk, State.GENERATING, State.FAILED, "worker died before release")

    act(staff_client, "release_holds", [task], reason="sweeper not running")

    assert balance(alice) == 1000
    assert LedgerEntry.objects.filter(task=task, kind="release").count() == 1


# --- resubmit an unknown-outcome task -------------------------------------------------


def test_it_resubmits_an_unknown_task_charging_once(
    staff_client: Client, alice: Any
) -> None:
    unknown = task_in(alice, State.UNKNOWN)
    assert balance(alice) == 1000 - unknown.cost
    page = staff_client.post(
        TASKS, {"action": "resubmit_unknown", "_selected_action": [unknown.pk]}
    ).content.decode()
    assert "may have reached the provider" in page

    response = act(staff_client, "resubmit_unknown", [unknown], reason="member asked")

    unknown.refresh_from_db()
    new_task = GenerationTask.objects.get(retry_of=unknown)
    assert unknown.state == State.FAILED
    assert unknown.fail_code == FailCode.RELEASED_BY_STAFF
    assert unknown.fail_message == f"Staff resubmitted this job as task {new_task.pk}."
    assert new_task.state == State.QUEUED
    assert balance(alice) == 1000 - new_task.cost  # the old hold went back
    assert LedgerEntry.objects.filter(task=unknown, kind="release").exists()
    assert "Resubmitted by staff (sam): member asked" in [
        t.reason for t in unknown.transitions.all()
    ]
    assert messages_of(response) == [f"#{unknown.pk} resubmitted as #{new_task.pk}."]


def test_it_resubmits_an_unconfirmed_failure(staff_client: Client, alice: Any) -> None:
    failed = finish(
        task_in(alice, State.UNKNOWN),
        State.FAILED,
        fail_code=FailCode.SUBMISSION_UNCONFIRMED,
    )

    act(staff_client, "resubmit_unknown", [failed], reason="")

    new_task = GenerationTask.objects.get(retry_of=failed)
    assert balance(alice) == 1000 - new_task.cost
    # Not twice.
    response = act(staff_client, "resubmit_unknown", [failed], reason="")
    assert GenerationTask.objects.filter(retry_of=failed).count() == 1
    assert "already resubmitted" in " ".join(messages_of(response))


def test_it_refuses_to_resubmit_a_known_outcome(
    staff_client: Client, alice: Any
) -> None:
    with_id = task_in(alice, State.UNKNOWN, provider_task_id="p-5")
    failed = finish(task_in(alice, State.GENERATING), State.FAILED, fail_code="NSFW")
    running = task_in(alice, State.WAITING)

    response = act(
        staff_client, "resubmit_unknown", [with_id, failed, running], reason=""
    )

    assert GenerationTask.objects.filter(retry_of__isnull=False).count() == 0
    assert GenerationTask.objects.get(pk=with_id.pk).state == State.UNKNOWN
    text = " | ".join(messages_of(response))
    assert f"#{with_id.pk}: its provider task id is known" in text
    assert f"#{failed.pk}, #{running.pk}: its outcome is known" in text


def test_it_leaves_an_unknown_task_alone_when_the_member_cannot_pay(
    staff_client: Client, alice: Any
) -> None:
    unknown = task_in(alice, State.UNKNOWN)
    credits.adjust(user=alice, amount=-balance(alice), reason="test: empty")
    # Releasing the old hold would give back exactly the cost: make the price rise.
    from generations.models import PriceRule

    PriceRule.objects.update_or_create(
        resolution="480p", sound=False, routing="", defaults={"credits_per_second": 50}
    )

    response = act(staff_client, "resubmit_unknown", [unknown], reason="")

    unknown.refresh_from_db()
    assert unknown.state == State.UNKNOWN  # rolled back as a whole
    assert not LedgerEntry.objects.filter(task=unknown, kind="release").exists()
    assert balance(alice) == 0
    assert "not resubmitted for alice" in " ".join(messages_of(response))


# --- only staff -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["recheck_status", "retry_tasks", "release_holds", "resubmit_unknown"]
)
def test_it_refuses_every_action_to_members(
    client: Client, alice: Any, action: str
) -> None:
    stuck = task_in(alice, State.UNKNOWN)
    client.force_login(alice)
    data = {
        "action": action,
        "_selected_action": [stuck.pk],
        "reason": "x",
        "apply": "1",
    }

    response = client.post(TASKS, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    stuck.refresh_from_db()
    assert stuck.state == State.UNKNOWN
    assert GenerationTask.objects.count() == 1


def test_it_refuses_staff_without_task_permissions(
    client: Client, alice: Any, django_user_model: Any
) -> None:
    helper = django_user_model.objects.create_user("helper", is_staff=True)
    stuck = task_in(alice, State.GENERATING)
    client.force_login(helper)
    data = {"action": "release_holds", "_selected_action": [stuck.pk]}
    response = client.post(TASKS, {**data, "reason": "x", "apply": "1"})
    assert response.status_code == 403
    assert GenerationTask.objects.get(pk=stuck.pk).state == State.GENERATING


@pytest.mark.parametrize(
    "action", ["recheck_status", "retry_tasks", "release_holds", "resubmit_unknown"]
)
def test_it_refuses_actions_called_for_a_non_staff_user(
    alice: Any, action: str
) -> None:
    """The actions check for themselves, not only behind the admin's login."""
    stuck = task_in(alice, State.UNKNOWN)
    request = RequestFactory().post(TASKS, {"reason": "x", "apply": "1"})
    request.user = alice
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    model_admin = GenerationTaskAdmin(GenerationTask, site)

    getattr(model_admin, action)(request, GenerationTask.objects.filter(pk=stuck.pk))

    assert [str(m) for m in request._messages] == ["Only staff may act on tasks."]  # type: ignore[attr-defined]
    assert GenerationTask.objects.get(pk=stuck.pk).state == State.UNKNOWN
    assert GenerationTask.objects.count() == 1


# --- the state history on the member's detail page --------------------------------


def video_task(owner: Any) -> GenerationTask:
    task = task_in(owner, State.WAITING, provider_task_id="p-42")
    transition(task.pk, State.WAITING, State.DOWNLOADING, "The provider finished")
    finish(GenerationTask.objects.get(pk=task.pk), State.SUCCEEDED)
    VideoAsset.objects.create(
        task=task,
        file="videos/x.mp4",
        width=64,
        height=64,
        duration_seconds=4.0,
        has_audio=False,
        size_bytes=1,
        sha256="0" * 64,
    )
    return task


def test_it_shows_the_owner_the_state_history(client: Client, alice: Any) -> None:
    task = video_task(alice)
    client.force_login(alice)

    page = client.get(reverse("video_detail", args=[task.pk])).content.decode()

    assert 'id="state-history"' in page
    history = page[page.index('id="state-history"') :]
    steps = ["Created", "moved by the test", "The provider finished", "finished by"]
    positions = [history.index(step) for step in steps]
    assert positions == sorted(positions)  # oldest first
    assert "Waiting at provider → <strong>Downloading</strong>" in history


def test_it_keeps_the_history_from_other_members(
    client: Client, alice: Any, bob: Any
) -> None:
    task = video_task(alice)
    client.force_login(bob)
    page = client.get(reverse("video_detail", args=[task.pk])).content.decode()
    assert "State history" not in page
