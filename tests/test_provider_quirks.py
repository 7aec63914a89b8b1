"""What the provider does that the contract does not promise: a callback that beats
the answer to our POST, a state it does not document, a result on a foreign host;
and how the card words a submission we could not confirm."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.apixo.simulator.running import RunningSimulator
from generations.models import FailCode, GenerationTask, State, VideoAsset
from generations.overview.attention import attention
from generations.pipeline import submit
from generations.pipeline.common import hash_token
from generations.pipeline.unknown import resolve_unknown
from tests.factories import queue_task
from tests.sim import assert_books_balance, drive

pytestmark = pytest.mark.django_db(transaction=True)


def generate_calls(sim: RunningSimulator) -> int:
    return int(sim.stats().get("generate_calls", 0))


def test_it_continues_with_a_task_id_learned_while_submitting(
    sim: RunningSimulator, alice: Any, live_server: Any, settings: Any
) -> None:
    """The provider calls back while our POST still waits for its answer, and the
    answer is then lost: the task goes on with the id the callback taught."""
    settings.PUBLIC_BASE_URL = live_server.url
    sim.set_faults(
        {
            "stall_after_create_seconds": 1.5,
            "drop_connection_rate": 1.0,
            "drop_after_create": True,
        }
    )
    task = queue_task(alice, delivery="webhook")
    submit.submit_task(task.pk)  # the callback arrives during the stall
    sim.set_faults({})
    task.refresh_from_db()
    assert sim.stats().get("webhook_deliveries", 0) >= 1
    assert task.callback_received_at is not None
    assert task.state == State.WAITING, (task.state, task.last_error)
    assert task.provider_task_id
    reasons = [t.reason for t in task.transitions.all()]
    assert any("learned from its callback" in r for r in reasons), reasons

    drive(timeout=30)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, task.last_error
    assert VideoAsset.objects.filter(task=task).exists()
    assert generate_calls(sim) == 1  # never sent again
    assert_books_balance()


def test_it_shows_staff_that_a_callback_arrived(
    alice: Any, client: Client, settings: Any
) -> None:
    task = queue_task(alice, delivery="webhook")
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.UNKNOWN,
        callback_token_hash=hash_token("tok-1"),
        state_changed_at=timezone.now(),
    )
    # A callback whose body names no task: it proves the provider got the task.
    response = client.post(
        reverse("apixo_callback", args=[task.pk, "tok-1"]),
        json.dumps({"code": 200, "data": {}}),
        content_type="application/json",
    )
    assert response.status_code == 200
    [item] = [i for i in attention(timezone.now()).items if i.task.pk == task.pk]
    assert item.kind == "unknown"
    assert "A callback arrived" in item.why


def test_it_records_an_undocumented_state_as_what_the_provider_said(
    sim: RunningSimulator, alice: Any, staff: Any, client: Client
) -> None:
    sim.set_faults({"undocumented_state": "queued"})
    # A long generation (5 s of wall time), so a loaded machine still reads it
    # while it runs.
    task = queue_task(alice, prompt="a calm harbour at dawn [sim:time=2000]")
    drive(
        lambda: GenerationTask.objects.filter(
            pk=task.pk, provider_state="queued"
        ).exists(),
        timeout=20,
    )
    task.refresh_from_db()
    assert task.state == State.WAITING
    assert task.last_error == ""  # not an error
    assert task.next_action_at is not None  # read again on schedule
    assert task.lease_until is None
    assert task.provider_says == "provider says: queued"
    client.force_login(staff)
    listing = client.get(reverse("admin:generations_generationtask_changelist"))
    assert "provider says: queued" in listing.content.decode()

    sim.set_faults({})
    drive(timeout=30)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, task.last_error
    assert task.provider_state == "success"
    assert task.provider_says == ""
    assert_books_balance()


def test_it_fails_a_result_on_a_foreign_host_at_once(
    sim: RunningSimulator, alice: Any, client: Client, settings: Any
) -> None:
    settings.APIXO_RESULT_HOSTS = [".apixo.ai"]
    task = queue_task(alice)
    drive(timeout=30)
    task.refresh_from_db()
    assert task.state == State.FAILED
    assert task.fail_code == "RESULT_UNAVAILABLE"
    assert task.download_attempts == 1  # no retries
    assert "not a result host" in task.fail_reason
    client.force_login(alice)
    card = client.get(reverse("dashboard")).content.decode()
    assert "refusing to download from 127.0.0.1: not a result host" in card
    assert_books_balance()


def test_it_words_an_unconfirmed_submission_once(alice: Any, client: Client) -> None:
    task = queue_task(alice)
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.UNKNOWN, submitted_at=timezone.now()
    )
    resolve_unknown(task.pk)  # polling task: nothing more can tell us
    task.refresh_from_db()
    assert (
        task.state == State.FAILED and task.fail_code == FailCode.SUBMISSION_UNCONFIRMED
    )
    client.force_login(alice)
    card = client.get(reverse("dashboard")).content.decode()
    assert card.count("could not confirm that the provider accepted") == 1
    assert_books_balance()


def test_it_does_not_resend_a_queued_task_whose_id_a_callback_taught(
    sim: RunningSimulator, alice: Any
) -> None:
    """A task sent back to the queue (say after a 429) that a callback then named
    is at the provider: the next submit goes straight to waiting."""
    task = queue_task(alice)
    GenerationTask.objects.filter(pk=task.pk).update(provider_task_id="task_learned")
    submit.submit_task(task.pk)
    task.refresh_from_db()
    assert task.state == State.WAITING
    assert task.provider_task_id == "task_learned"
    assert generate_calls(sim) == 0
