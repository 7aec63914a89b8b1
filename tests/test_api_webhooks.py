"""Outbound webhooks: signed per Standard Webhooks, retried, logged, refused
for private addresses. A real HTTP receiver verifies with the standard's own
verifier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from generations.api import webhooks
from generations.models import (
    State,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from generations.models.api import DeliveryState, EventType
from generations.models.tasks import transition
from tests.factories import Receiver, queue_task, serve_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_LOCAL = True
    with serve_receiver() as state:
        yield state


def endpoint_for(user: Any, url: str, *types: str) -> WebhookEndpoint:
    return webhooks.add_endpoint(
        owner=user, url=url, event_types=list(types) or [EventType.TASK_SUCCEEDED]
    )


def finish(task_id: int, state: State = State.SUCCEEDED) -> bool:
    return transition(task_id, State.QUEUED, state, "test")


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now()
    )


def test_it_signs_events_the_receiver_verifies(alice: Any, receiver: Receiver) -> None:
    endpoint = endpoint_for(alice, receiver.url)
    task = queue_task(alice)
    assert finish(task.pk)
    [delivery] = WebhookDelivery.objects.all()
    assert webhooks.deliver(delivery.pk)
    [(headers, body)] = receiver.received
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["type"] == "task.succeeded"
    assert payload["data"]["task_id"] == task.pk
    assert headers["webhook-id"] == delivery.event.event_id
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert WebhookAttempt.objects.get().status_code == 204


def test_it_makes_one_event_per_transition_that_won(
    alice: Any, receiver: Receiver
) -> None:
    endpoint_for(alice, receiver.url, EventType.TASK_FAILED)
    endpoint_for(alice, receiver.url, EventType.TASK_SUCCEEDED)
    task = queue_task(alice)
    assert finish(task.pk, State.FAILED)
    assert not finish(task.pk, State.FAILED)
    [event] = WebhookEvent.objects.all()
    assert event.type == "task.failed"
    assert event.deliveries.count() == 1


def test_it_retries_on_5xx_and_timeouts_with_one_event_id(
    alice: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
    endpoint_for(alice, receiver.url)
    finish(queue_task(alice).pk)
    [delivery] = WebhookDelivery.objects.all()
    receiver.statuses = [503]
    assert webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > timezone.now()
    assert not webhooks.deliver(delivery.pk)  # not due yet
    make_due(delivery)
    receiver.delay = 1.0
    assert webhooks.deliver(delivery.pk)
    receiver.delay = 0
    make_due(delivery)
    assert webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    make_due(delivery)
    assert not webhooks.deliver(delivery.pk)  # stops after success
    errors = list(
        WebhookAttempt.objects.order_by("id").values_list("status_code", "error")
    )
    assert errors == [(503, "HTTP 503"), (None, "Timed out"), (204, "")]
    ids = {headers["webhook-id"] for headers, _body in receiver.received}
    assert len(receiver.received) == 3
    assert ids == {delivery.event.event_id}


def test_it_gives_up_after_the_last_retry(alice: Any, receiver: Receiver) -> None:
    endpoint_for(alice, receiver.url)
    finish(queue_task(alice).pk)
    [delivery] = WebhookDelivery.objects.all()
    receiver.statuses = [500] * len(webhooks.RETRY_DELAYS)
    for _ in webhooks.RETRY_DELAYS:
        make_due(delivery)
        assert webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.GAVE_UP
    assert sum(webhooks.RETRY_DELAYS, start=timezone.timedelta()) > timezone.timedelta(
        hours=24
    )


def test_it_gives_each_event_its_own_id(alice: Any, receiver: Receiver) -> None:
    endpoint_for(alice, receiver.url)
    for _ in range(3):
        finish(queue_task(alice).pk)
    assert WebhookEvent.objects.values("event_id").distinct().count() == 3


def test_it_tells_only_the_owners_endpoints(
    alice: Any, bob: Any, receiver: Receiver
) -> None:
    endpoint_for(bob, receiver.url)
    finish(queue_task(alice).pk)
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "http://example.com/hook",
        "https://[::1]/hook",
    ],
)
def test_it_refuses_private_or_plain_addresses(alice: Any, url: str) -> None:
    with pytest.raises(webhooks.EndpointRefused):
        endpoint_for(alice, url)


def test_it_refuses_local_addresses_in_production(alice: Any, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_LOCAL = False
    with pytest.raises(webhooks.EndpointRefused):
        endpoint_for(alice, "http://127.0.0.1:9000/hook")


def test_it_sends_a_test_event_and_rotates_the_secret(
    alice: Any, receiver: Receiver
) -> None:
    endpoint = endpoint_for(alice, receiver.url)
    old = endpoint.secret
    new = webhooks.rotate_secret(endpoint)
    assert new != old
    event = webhooks.send_test_event(endpoint)
    assert event is not None
    webhooks.deliver(event.deliveries.get().pk)
    [(headers, body)] = receiver.received
    assert Webhook(new).verify(body, headers)["type"] == "webhook.test"
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(body, headers)


def test_it_shows_each_attempt_to_the_member(
    client: Any, alice: Any, bob: Any, receiver: Receiver
) -> None:
    endpoint_for(alice, receiver.url)
    finish(queue_task(alice).pk)
    receiver.statuses = [502]
    assert webhooks.deliver_due() == 1
    event = WebhookEvent.objects.get()
    client.force_login(alice)
    page = client.get("/api/webhooks/").content.decode()
    assert event.event_id in page and "HTTP 502" in page
    client.force_login(bob)
    assert event.event_id not in client.get("/api/webhooks/").content.decode()


def test_it_sends_nothing_to_a_name_that_now_resolves_privately(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint's name passed when added; at delivery it resolves into a
    private network (DNS changed, or rebinding): no request is sent, the attempt
    is logged as refused. The resolver is the seam patched here."""
    import socket

    from generations import security

    endpoint = endpoint_for(alice, "https://hooks.example.com/s")
    finish(queue_task(alice).pk)
    sent: list[str] = []
    monkeypatch.setattr(
        webhooks.requests, "post", lambda url, **kw: sent.append(url)
    )  # fmt: skip
    private = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 443))]
    monkeypatch.setattr(security.socket, "getaddrinfo", lambda *a, **k: private)
    assert webhooks.deliver_due() == 1
    attempt = WebhookAttempt.objects.get(delivery__endpoint=endpoint)
    assert "resolves to a private address" in attempt.error
    assert sent == []
    unresolved = socket.gaierror("no such name")

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise unresolved

    monkeypatch.setattr(security.socket, "getaddrinfo", fail)
    with pytest.raises(webhooks.EndpointRefused, match="does not resolve"):
        webhooks.check_before_sending(endpoint.url)
    assert sent == []
