"""The provider's webhook: authenticated by a per-task secret, treated as a hint."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.apixo.simulator.running import RunningSimulator
from generations.models import GenerationTask, State
from generations.pipeline import submit
from generations.pipeline.common import hash_token
from tests.factories import queue_task
from tests.sim import assert_books_balance, drive

pytestmark = pytest.mark.django_db(transaction=True)


def envelope(task_id: str, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "success",
        "data": {"taskId": task_id, "state": state, **extra},
    }


def callback_path(task: GenerationTask, token: str) -> str:
    return reverse("apixo_callback", args=[task.pk, token])


def waiting_task(
    sim: RunningSimulator, owner: Any, token: str = "tok-1"
) -> GenerationTask:
    """A task accepted by the simulator, with a known callback token."""
    task = queue_task(owner, delivery="webhook")
    drive(
        lambda: GenerationTask.objects.filter(pk=task.pk, state=State.WAITING).exists()
    )
    GenerationTask.objects.filter(pk=task.pk).update(
        callback_token_hash=hash_token(token),
        next_action_at=timezone.now() + timezone.timedelta(hours=1),
    )
    task.refresh_from_db()
    return task


def test_it_refuses_a_wrong_token(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    task = waiting_task(sim, alice)
    body = json.dumps(envelope(task.provider_task_id or "", "success"))
    response = client.post(
        callback_path(task, "wrong"), body, content_type="application/json"
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.next_action_at is not None and task.next_action_at > timezone.now()


def test_it_refuses_another_tasks_token(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    mine = waiting_task(sim, alice, token="mine")
    other = waiting_task(sim, alice, token="other")
    body = json.dumps(envelope(mine.provider_task_id or "", "success"))
    response = client.post(
        callback_path(mine, "other"), body, content_type="application/json"
    )
    assert response.status_code == 404
    assert (
        client.post(
            callback_path(other, "mine"), body, content_type="application/json"
        ).status_code
        == 404
    )


def test_it_refuses_unknown_tasks_and_other_methods(client: Client) -> None:
    assert (
        client.post(
            "/hooks/apixo/999999/tok/", "{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get("/hooks/apixo/1/tok/").status_code == 405


def test_it_refuses_an_oversized_body(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    task = waiting_task(sim, alice)
    response = client.post(
        callback_path(task, "tok-1"), "x" * (65 * 1024), content_type="application/json"
    )
    assert response.status_code == 413


def test_it_only_hints_and_trusts_the_status_read(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    task = waiting_task(sim, alice)
    forged = envelope(
        task.provider_task_id or "",
        "failed",
        failCode="CONTENT_VIOLATION",
        failMsg="no",
    )
    started = time.monotonic()
    response = client.post(
        callback_path(task, "tok-1"),
        json.dumps(forged),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 0.5
    task.refresh_from_db()
    assert task.state == State.WAITING  # the body changed nothing by itself
    assert task.next_action_at is not None and task.next_action_at <= timezone.now()
    drive()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED  # the provider's status read says success
    assert_books_balance()


def test_it_ignores_callbacks_for_a_finished_task(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    task = waiting_task(sim, alice)
    GenerationTask.objects.filter(pk=task.pk).update(next_action_at=timezone.now())
    drive()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    changes = task.transitions.count()
    for state in ("processing", "failed", "success"):
        body = json.dumps(envelope(task.provider_task_id or "", state))
        assert (
            client.post(
                callback_path(task, "tok-1"), body, content_type="application/json"
            ).status_code
            == 200
        )
    drive()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    assert task.transitions.count() == changes
    assert_books_balance()


def test_it_survives_fifty_concurrent_duplicates(
    sim: RunningSimulator, alice: Any, live_server: Any
) -> None:
    task = waiting_task(sim, alice)
    url = live_server.url + callback_path(task, "tok-1")
    body = envelope(task.provider_task_id or "", "success")
    codes: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        code = requests.post(url, json=body, timeout=10).status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=post) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 50
    drive()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    to_states = list(task.transitions.values_list("to_state", flat=True))
    assert to_states.count("downloading") == 1 and to_states.count("succeeded") == 1
    assert_books_balance()


def test_it_learns_a_lost_task_id_from_the_callback(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    task = waiting_task(sim, alice)
    provider_id = task.provider_task_id
    # As if the answer to our POST had been lost: the outcome is unknown.
    GenerationTask.objects.filter(pk=task.pk).update(
        state=State.UNKNOWN, provider_task_id=None, submitted_at=timezone.now()
    )
    body = json.dumps(envelope(provider_id or "", "processing"))
    assert (
        client.post(
            callback_path(task, "tok-1"), body, content_type="application/json"
        ).status_code
        == 200
    )
    task.refresh_from_db()
    assert task.provider_task_id == provider_id
    drive()
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    assert_books_balance()


def test_it_cannot_be_taught_another_tasks_id(
    sim: RunningSimulator, alice: Any, client: Client
) -> None:
    first = waiting_task(sim, alice, token="first")
    second = waiting_task(sim, alice, token="second")
    GenerationTask.objects.filter(pk=second.pk).update(
        state=State.UNKNOWN, provider_task_id=None
    )
    body = json.dumps(envelope(first.provider_task_id or "", "success"))
    assert (
        client.post(
            callback_path(second, "second"), body, content_type="application/json"
        ).status_code
        == 200
    )
    second.refresh_from_db()
    assert second.provider_task_id is None


def test_it_receives_the_simulators_webhook(
    sim: RunningSimulator, alice: Any, live_server: Any, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    task = queue_task(alice, delivery="webhook")
    drive(
        lambda: GenerationTask.objects.filter(pk=task.pk, state=State.WAITING).exists()
    )
    task.refresh_from_db()
    assert len(task.callback_token_hash) == 64  # only the hash is kept
    # Push the safety-net poll far out: the callback must bring the read forward.
    GenerationTask.objects.filter(pk=task.pk).update(
        next_action_at=timezone.now() + timezone.timedelta(hours=1)
    )
    deadline = time.monotonic() + 20
    while sim.stats().get("webhook_deliveries", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.stats().get("webhook_deliveries", 0) >= 1
    drive(timeout=20)
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED
    assert_books_balance()


def test_it_sends_a_callback_url_naming_the_task(
    sim: RunningSimulator, alice: Any, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    seen: list[str | None] = []
    original = submit.get_client

    def spy() -> Any:
        client = original()
        create = client.create_task

        def wrapped(**kwargs: Any) -> str:
            seen.append(kwargs.get("callback_url"))
            return create(**kwargs)

        client.create_task = wrapped  # type: ignore[method-assign]
        return client

    task = queue_task(alice, delivery="webhook")
    from unittest import mock

    with mock.patch("generations.pipeline.submit.get_client", spy):
        submit.submit_task(task.pk)
    assert seen and seen[0] is not None
    assert seen[0].startswith(f"https://studio.example.com/hooks/apixo/{task.pk}/")
    token = seen[0].rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 22  # at least 128 bits, url-safe base64
    task.refresh_from_db()
    assert task.callback_token_hash == hash_token(token)


def test_it_refuses_a_strange_content_length(client: Client) -> None:
    # "²" passes str.isdigit() but not int(): it must not become a 500.
    response = client.post(
        "/hooks/apixo/1/tok/", "{}", content_type="application/json", CONTENT_LENGTH="²"
    )
    assert response.status_code == 413
