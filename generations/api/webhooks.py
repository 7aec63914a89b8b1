"""Outbound webhooks, signed per the Standard Webhooks specification.

An event row is written in the same transaction as the task transition that
caused it (``record_task_event``, called from ``models.tasks.transition``), with
one delivery row per subscribed endpoint. Workers deliver after commit and a
schedule picks up what is due again; every attempt is logged. The event id is
the ``webhook-id`` of every attempt, so receivers can drop duplicates.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from generations import images, security
from generations.models import GenerationTask, State
from generations.models.api import (
    DeliveryState,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

# Delay before attempt n+1 (Standard Webhooks' suggested schedule): about 27 h.
RETRY_DELAYS = (
    dt.timedelta(seconds=0),
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
)
TIMEOUT_SECONDS = 10.0
LEASE = dt.timedelta(seconds=60)
TASK_EVENTS = {
    State.SUCCEEDED: EventType.TASK_SUCCEEDED,
    State.FAILED: EventType.TASK_FAILED,
}
SUBSCRIBABLE = (EventType.TASK_SUCCEEDED, EventType.TASK_FAILED, EventType.FILM_READY)
MAX_ENDPOINTS_PER_MEMBER = 10


class EndpointRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _local_allowed(url: str) -> bool:
    return getattr(settings, "WEBHOOKS_ALLOW_LOCAL", False) and url.startswith(
        ("http://127.0.0.1:", "http://localhost:")
    )


def check_endpoint_url(url: str) -> str:
    """The public URL rule (https, public addresses); local ones only when
    WEBHOOKS_ALLOW_LOCAL is set (development and tests)."""
    url = url.strip()
    if _local_allowed(url):
        return url
    try:
        return images.check_public_url(url)
    except images.ImageRejected as exc:
        raise EndpointRefused(exc.message) from None


def check_before_sending(url: str) -> str:
    """The endpoint's rule again, and where its name resolves now: a name that
    passed when it was added may since point into a private network."""
    url = check_endpoint_url(url)
    if _local_allowed(url):
        return url
    parts = urlsplit(url)
    try:
        security.resolve_public(parts.hostname or "", parts.port or 443)
    except security.HostRefused as exc:
        raise EndpointRefused(str(exc)) from None
    return url


def add_endpoint(*, owner: User, url: str, event_types: list[str]) -> WebhookEndpoint:
    url = check_endpoint_url(url)
    wanted = [t for t in SUBSCRIBABLE if t in set(event_types)]
    if not wanted:
        raise EndpointRefused(_("Choose at least one event type."))
    if WebhookEndpoint.objects.filter(owner=owner).count() >= MAX_ENDPOINTS_PER_MEMBER:
        raise EndpointRefused(
            _("You have %(count)d endpoints already: remove one first.")
            % {"count": MAX_ENDPOINTS_PER_MEMBER}
        )
    return WebhookEndpoint.objects.create(
        owner=owner, url=url, event_types=wanted, secret=new_secret()
    )


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    endpoint.secret = new_secret()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=endpoint.secret)
    return endpoint.secret


def _video_url(task_id: int) -> str:
    """The API's download route, named as ``task_out`` names it."""
    return reverse("api:task_video", args=[task_id])


def task_payload(task: GenerationTask) -> dict[str, Any]:
    return {
        "task_id": task.pk,
        "state": task.state,
        "batch": str(task.batch) if task.batch else None,
        "fail_code": task.fail_code or None,
        "video_url": _video_url(task.pk) if task.state == State.SUCCEEDED else None,
    }


def record_event(
    *,
    owner_id: int,
    type: str,
    data: dict[str, Any],
    endpoints: list[WebhookEndpoint] | None = None,
) -> WebhookEvent | None:
    """Write the event and a delivery per endpoint; deliver after commit."""
    if endpoints is None:
        endpoints = [
            e
            for e in WebhookEndpoint.objects.filter(
                owner_id=owner_id, disabled_at__isnull=True
            )
            if type in e.event_types
        ]
    if not endpoints:
        return None
    now = timezone.now()
    event = WebhookEvent.objects.create(
        event_id=f"evt_{uuid.uuid4().hex}",
        owner_id=owner_id,
        type=type,
        payload={"type": type, "timestamp": now.isoformat(), "data": data},
        created_at=now,
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=e, next_attempt_at=now) for e in endpoints
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: enqueue(ids))
    return event


def record_task_event(task_id: int, to_state: str) -> None:
    """The one hook point: a task reached succeeded or failed (in its transaction)."""
    event_type = TASK_EVENTS.get(State(to_state))
    if event_type is None:
        return
    task = GenerationTask.objects.filter(pk=task_id).first()
    if task is not None:
        record_event(owner_id=task.owner_id, type=event_type, data=task_payload(task))


def record_film_event(film_id: int) -> None:
    """The one hook point for films: a film was stitched (in its transaction)."""
    from generations.models import Film

    film = Film.objects.select_related("board").filter(pk=film_id).first()
    # A stitched film has its task (set in the same update as SUCCEEDED).
    if film is None or film.state != Film.State.SUCCEEDED or film.task_id is None:
        return
    record_event(
        owner_id=film.board.owner_id,
        type=EventType.FILM_READY,
        data={
            "film_id": film.pk,
            "board_id": film.board_id,
            "version": film.version,
            "task_id": film.task_id,
            "video_url": _video_url(film.task_id),
        },
    )


def send_test_event(endpoint: WebhookEndpoint) -> WebhookEvent | None:
    with transaction.atomic():
        return record_event(
            owner_id=endpoint.owner_id,
            type=EventType.TEST,
            data={"endpoint_id": endpoint.pk},
            endpoints=[endpoint],
        )


def enqueue(delivery_ids: list[int]) -> None:
    from django_q.tasks import async_task

    for pk in delivery_ids:
        async_task("generations.api.webhooks.deliver", pk)


def _due(now: dt.datetime) -> QuerySet[WebhookDelivery]:
    """Pending deliveries whose time has come and that no worker holds a lease on."""
    return WebhookDelivery.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now,
    )


def deliver_due(limit: int = 200) -> int:
    """The schedule's pass: attempt every delivery that is due (retries)."""
    due = _due(timezone.now()).values_list("pk", flat=True)[:limit]
    return sum(1 for pk in list(due) if deliver(pk))


def deliver(delivery_id: int) -> bool:
    """One attempt, if the delivery is due and no other worker has it."""
    now = timezone.now()
    won = _due(now).filter(pk=delivery_id).update(lease_until=now + LEASE)
    if won != 1:
        return False
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(
        pk=delivery_id
    )
    status, error, elapsed = _post(delivery)
    _settle(delivery, status, error, elapsed)
    return True


def signed_headers(
    endpoint: WebhookEndpoint, event: WebhookEvent, body: str
) -> dict[str, str]:
    moment = timezone.now()
    signature = Webhook(endpoint.secret).sign(event.event_id, moment, body)
    return {
        "content-type": "application/json",
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "user-agent": "SeedanceStudio-Webhooks/1",
    }


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, int]:
    body = json.dumps(delivery.event.payload, separators=(",", ":"))
    headers = signed_headers(delivery.endpoint, delivery.event, body)
    started = time.monotonic()
    try:
        url = check_before_sending(delivery.endpoint.url)
        response = requests.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status: int | None = response.status_code
        error = "" if 200 <= response.status_code < 300 else f"HTTP {status}"
    except EndpointRefused as exc:
        status, error = None, exc.message
    except requests.Timeout:
        status, error = None, "Timed out"
    except requests.RequestException as exc:
        status, error = None, f"Connection failed: {type(exc).__name__}"
    return status, error, int((time.monotonic() - started) * 1000)


def _settle(
    delivery: WebhookDelivery, status: int | None, error: str, elapsed_ms: int
) -> None:
    now = timezone.now()
    attempts = delivery.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=status,
            error=error[:300],
            duration_ms=elapsed_ms,
        )
        fields: dict[str, Any] = {"attempts": attempts, "lease_until": None}
        if not error:
            fields.update(state=DeliveryState.DELIVERED, next_attempt_at=None)
        elif attempts >= len(RETRY_DELAYS):
            fields.update(state=DeliveryState.GAVE_UP, next_attempt_at=None)
        else:
            fields["next_attempt_at"] = now + RETRY_DELAYS[attempts]
        WebhookDelivery.objects.filter(
            pk=delivery.pk, state=DeliveryState.PENDING
        ).update(**fields)
    if error:
        logger.info("Webhook delivery %s attempt %s: %s", delivery.pk, attempts, error)
